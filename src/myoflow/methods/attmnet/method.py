"""Paper 002 (3D Attention M-net for mouse LV myocardium stacks) as a method unit: what the generic
rules call.

Whole short-axis stacks in (the ``stack3d`` profile: one volume per subject and frame), a
myocardium volume out, scored per volume with Dice, Jaccard, Hausdorff distance, sensitivity,
specificity, PPV and NPV, on the interpolated grid (Table I's) and on the acquired slices, and
with the myocardial volume, mass and ejection fraction a preclinical lab needs. The models
(``settings.MODELS``): the 3D Attention M-net with and without its distance-derived loss and the
four baselines of Table I, one training job each.

Torch-free at import: the parse step builds the targets from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from myoflow.errors import ConfigError
from myoflow.methods.attmnet.settings import AttMnetSettings
from myoflow.methods.base import Method, Path, TrainingData, one_input

if TYPE_CHECKING:
    import pandas as pd


class AttMnet(Method):
    """Paper 002's 3-D segmentation networks of Table I."""

    settings_class = AttMnetSettings
    profile = "stack3d"
    eval_tables = ("segmentation", "volumes", "qc")
    #: Paper 002's tables (TSV + Markdown) and figure (PNG + SVG), the report rules' outputs.
    report_tables = ("table1_models", "table1_acquired", "wilcoxon", "volume_agreement")
    report_figures = ("fig4_volume",)

    def settings(self, config: Mapping[str, Any], name: str) -> dict[str, Any]:
        """Defaults filled; at least one model, each once."""
        settings = super().settings(config, name)
        models = list(settings["models"])
        if not models or len(set(models)) != len(models):
            raise ConfigError(
                f"config.experiments.{name}.settings.models: give one or more models, each once"
            )
        return settings

    def models(self, experiment: Mapping[str, Any]) -> list[str]:
        return list(experiment["settings"]["models"])

    def targets(self, experiment: Mapping[str, Any]) -> list[str]:
        """Table I, the Wilcoxon tests, the volume agreement, Fig. 4 and the QC table."""
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
        from myoflow.methods.attmnet.stages import train_stage

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
        from myoflow.methods.attmnet.stages import predict_stage

        predict_stage(experiment, model, weights, shard, splits, out, device)

    def evaluate(
        self,
        experiment: Mapping[str, Any],
        shard: Path,
        splits: Path,
        predictions: Mapping[str, Path],
        tracked: Sequence[Path] = (),
    ) -> dict[str, pd.DataFrame]:
        from myoflow.methods.attmnet.evaluate import evaluate_stage

        return evaluate_stage(experiment, shard, splits, predictions)

    def report(
        self,
        stage: str,
        experiment: Mapping[str, Any],
        inputs: Mapping[str, Sequence[str]],
        out_dir: Path,
    ) -> None:
        """``tables``: Table I, the Wilcoxon tests and the volume agreement; ``figures``:
        Fig. 4 (``myoflow.methods.attmnet.report``)."""
        from myoflow.methods.attmnet import report

        if stage == "tables":
            report.tables_stage(
                experiment,
                one_input(inputs, "segmentation"),
                one_input(inputs, "volumes"),
                inputs["infos"],
                out_dir,
            )
        elif stage == "figures":
            report.figures_stage(
                experiment,
                one_input(inputs, "segmentation"),
                inputs["shards"],
                inputs["predictions"],
                out_dir,
            )
        else:
            super().report(stage, experiment, inputs, out_dir)


METHOD = AttMnet()
