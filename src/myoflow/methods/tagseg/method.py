"""Paper 001 (myocardium segmentation in tagged CMR) as a method unit: what the generic rules call.

Tagged frames in, a myocardium mask per frame out, scored with Dice and HD95 per image. The
models (``settings.model_plan``): the cine <-> tagged CycleGAN, each architecture pretrained on
annotated cine as it is, made pseudo-tagged by physics, or translated by the CycleGAN, and each
architecture trained on the annotated tagged frames from scratch or from one of those
pretrainings (the paper's four strategies), plus Table 4's sweep of the shape-aware weight. A
model's training starts from the models it needs (``train_needs``): the DAG trains each
pretraining once, and the CycleGAN once for both architectures.

Every model predicts the evaluated frames of each shard: a segmenter its masks (a pretrained
model's too, what pretraining alone achieves on tagged frames), the CycleGAN its translation of
each cine frame, which the evaluation compares with the true tagged frame on the phantom.

Torch-free at import: the parse step builds the targets from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from myoflow.config import profile_options
from myoflow.errors import ConfigError
from myoflow.methods.base import Method, Path, TrainingData, one_input
from myoflow.methods.tagseg.settings import TagSegSettings, model_plan

if TYPE_CHECKING:
    import pandas as pd


class TagSeg(Method):
    """Paper 001's segmentation networks, pretraining strategies and CycleGAN."""

    settings_class = TagSegSettings
    profile = "frames2d"
    eval_tables = ("segmentation", "realism_frames", "qc")
    #: Paper 001's tables (TSV + Markdown) and figures (PNG + SVG), the report rules' outputs.
    report_tables = ("table2_networks", "table3_strategies", "table4_gamma", "realism")
    report_figures = (
        "fig5_transforms",
        "fig6_examples",
        "fig8_training",
        "fig9_dice_per_frame",
        "fig11_groups",
    )

    def settings(self, config: Mapping[str, Any], name: str) -> dict[str, Any]:
        """Defaults filled; each role's cohorts checked against the experiment's (empty: all of
        them); the networks' input side from the cohorts' ``frames2d`` profile, one for all."""
        settings = super().settings(config, name)
        where = f"config.experiments.{name}.settings"
        cohorts = list(config["experiments"][name]["cohorts"])
        for role in ("pretrain_cohorts", "tagged_cohorts", "unlabelled_cohorts"):
            chosen = list(settings[role]) or cohorts
            stray = [c for c in chosen if c not in cohorts]
            if stray:
                raise ConfigError(
                    f"{where}.{role}: {stray} not among the experiment's cohorts {cohorts}"
                )
            settings[role] = chosen
        if not settings["architectures"] or not settings["strategies"]:
            raise ConfigError(f"{where}: give at least one architecture and one strategy")
        options = {c: profile_options(dict(config), c, "frames2d") for c in cohorts}
        if settings["physics"]["moving_tags"]:
            still = [c for c in settings["pretrain_cohorts"] if not options[c]["displacement"]]
            if still:
                raise ConfigError(
                    f"{where}.physics.moving_tags: the tags move by the displacement, which the "
                    f"frames2d profile of {still} does not keep (set their "
                    "preprocess.frames2d.displacement: true)"
                )
        sizes = {c: o["size"] for c, o in options.items()}
        if settings["image_size"] is None:
            if len(set(sizes.values())) > 1:
                raise ConfigError(
                    f"{where}.image_size: the cohorts' frames2d sizes differ ({sizes}); one "
                    "network needs one input size: set preprocess.frames2d.size alike"
                )
            settings["image_size"] = next(iter(sizes.values()))
        elif any(size != settings["image_size"] for size in sizes.values()):
            raise ConfigError(
                f"{where}.image_size: {settings['image_size']} is not the cohorts' frames2d "
                f"size ({sizes})"
            )
        return settings

    def models(self, experiment: Mapping[str, Any]) -> list[str]:
        return list(model_plan(experiment["settings"]))

    def train_needs(self, experiment: Mapping[str, Any], model: str) -> list[str]:
        return list(model_plan(experiment["settings"])[model].needs)

    def targets(self, experiment: Mapping[str, Any]) -> list[str]:
        """The paper's tables and figures (Table 4 says so when the experiment sweeps no
        shape-aware weight), and the QC table."""
        return [
            *(f"tables/{name}.md" for name in self.report_tables),
            *(f"figures/{name}.png" for name in self.report_figures),
            "tables/qc.tsv",
        ]

    def train(
        self,
        experiment: Mapping[str, Any],
        model: str,
        data: TrainingData,
        out_dir: Path,
        device: str | None = None,
    ) -> None:
        from myoflow.methods.tagseg.stages import train_stage

        train_stage(experiment, model, data, out_dir, device)

    def predict(
        self,
        experiment: Mapping[str, Any],
        model: str,
        weights: Path,
        shard: Path,
        splits: Path,
        out: Path,
        device: str | None = None,
        needs: Mapping[str, Path] | None = None,
    ) -> None:
        from myoflow.methods.tagseg.stages import predict_stage

        predict_stage(experiment, model, weights, shard, splits, out, device)

    def evaluate(
        self,
        experiment: Mapping[str, Any],
        shard: Path,
        splits: Path,
        predictions: Mapping[str, Path],
        tracked: Sequence[Path] = (),
    ) -> dict[str, pd.DataFrame]:
        from myoflow.methods.tagseg.evaluate import evaluate_stage

        return evaluate_stage(experiment, shard, splits, predictions)

    def report(
        self,
        stage: str,
        experiment: Mapping[str, Any],
        inputs: Mapping[str, Sequence[str]],
        out_dir: Path,
    ) -> None:
        """``tables``: Tables 2-4 and the realism table; ``figures``: Figures 5, 6, 8, 9 and 11
        (``myoflow.methods.tagseg.report``)."""
        from myoflow.methods.tagseg import report

        if stage == "tables":
            report.tables_stage(
                experiment,
                one_input(inputs, "segmentation"),
                one_input(inputs, "realism_frames"),
                inputs["histories"],
                inputs["infos"],
                out_dir,
            )
        elif stage == "figures":
            report.figures_stage(
                experiment,
                one_input(inputs, "segmentation"),
                inputs["histories"],
                inputs["shards"],
                inputs["predictions"],
                out_dir,
            )
        else:
            super().report(stage, experiment, inputs, out_dir)


METHOD = TagSeg()
