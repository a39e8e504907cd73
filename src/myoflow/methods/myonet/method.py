"""MyoNet / ResMyoNet (paper 000) as a method unit: what the generic rules call.

Cine in, Lagrangian displacement out (mm), judged against the experiment's reference (provided,
the phantom's truth, or a tag tracker) and, on the phantom, against the exact motion; then
Green-Lagrange strain per AHA segment and paper 000's agreement tables and figures
(``workflow/rules/myonet.smk``). One model per network named in ``settings.nets``.

Torch-free at import: the parse step builds the targets from here. The stages import their
modules when a job runs them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from myoflow.config import preprocess_options
from myoflow.errors import ConfigError
from myoflow.methods.base import Method, Path, TrainingData, one_input
from myoflow.methods.myonet.settings import MyoNetSettings
from myoflow.registry import NETS

if TYPE_CHECKING:
    import pandas as pd


class MyoNet(Method):
    """Paper 000's displacement networks on cine."""

    settings_class = MyoNetSettings
    profile = "crop"
    eval_tables = ("metrics", "strain_curves", "strain_summary")
    #: Paper 000's tables (TSV + Markdown) and figures (PNG + SVG), the report rules' outputs.
    report_tables = ("table1_segments", "table2_agreement", "group_effects", "timing")
    report_figures = (
        "fig4_displacement",
        "fig5_segments",
        "fig6_bland_altman",
        "fig7_training",
        "strain_curves",
        "bullseye",
    )

    def settings(self, config: Mapping[str, Any], name: str) -> dict[str, Any]:
        """Defaults filled; the networks checked against the registry; one scale D for every
        cohort of the experiment (the network has one output range): the experiment's own
        ``max_displacement_mm`` or else the largest of its cohorts' values."""
        settings = super().settings(config, name)
        where = f"config.experiments.{name}.settings.nets"
        nets = settings["nets"]
        unknown = [n for n in nets if n not in NETS]
        if unknown:
            raise ConfigError(f"{where}: unknown network(s) {unknown}; choose from {list(NETS)}")
        if not nets or len(set(nets)) != len(nets):
            raise ConfigError(f"{where}: give one or more networks, each once (got {nets})")
        if settings["max_displacement_mm"] is None:
            cohorts = config["experiments"][name]["cohorts"]
            settings["max_displacement_mm"] = max(
                preprocess_options(dict(config), c)["max_displacement_mm"] for c in cohorts
            )
        return settings

    def models(self, experiment: Mapping[str, Any]) -> list[str]:
        return list(experiment["settings"]["nets"])

    def targets(self, experiment: Mapping[str, Any]) -> list[str]:
        return [f"tables/{name}.md" for name in self.report_tables] + [
            f"figures/{name}.png" for name in self.report_figures
        ]

    def train(
        self,
        experiment: Mapping[str, Any],
        model: str,
        data: TrainingData,
        out_dir: Path,
        device: str | None = None,
    ) -> None:
        from myoflow.methods.myonet.stages import train_stage

        train_stage(
            experiment, model, data.shards, data.splits, out_dir, device, tracked=data.tracked
        )

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
        from myoflow.methods.myonet.stages import predict_stage

        predict_stage(experiment, model, weights, shard, splits, out, device)

    def evaluate(
        self,
        experiment: Mapping[str, Any],
        shard: Path,
        splits: Path,
        predictions: Mapping[str, Path],
        tracked: Sequence[Path] = (),
    ) -> dict[str, pd.DataFrame]:
        from myoflow.methods.myonet.evaluate import evaluate_stage

        ordered = [predictions[net] for net in self.models(experiment)]
        return evaluate_stage(experiment, shard, splits, ordered, tracked)

    def report(
        self,
        stage: str,
        experiment: Mapping[str, Any],
        inputs: Mapping[str, Sequence[str]],
        out_dir: Path,
    ) -> None:
        """``tables``: paper 000 Tables 1 and 2, group effects and timing; ``figures``: Figures
        4-7, strain curves and the bullseye (``myoflow.methods.myonet.report``)."""
        from myoflow.methods.myonet import report

        if stage == "tables":
            report.tables_stage(
                experiment,
                one_input(inputs, "metrics"),
                one_input(inputs, "summary"),
                inputs["histories"],
                inputs["models"],
                out_dir,
            )
        elif stage == "figures":
            report.figures_stage(
                experiment,
                one_input(inputs, "summary"),
                one_input(inputs, "curves"),
                inputs["histories"],
                inputs["predictions"],
                inputs["reference"],
                out_dir,
                tracked=inputs.get("tracked", ()),
            )
        else:
            super().report(stage, experiment, inputs, out_dir)


METHOD = MyoNet()
