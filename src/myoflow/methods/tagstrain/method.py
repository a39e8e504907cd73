"""Paper 003 (fully automated tagged-CMR strain) as a method unit: what the generic rules call.

Tagged series in, 168 landmarks per frame out, then landmark Green strain by level and ring and
paper 003's tables. Two models, one training job each: ``roi`` (the localisation CNN, ED frame ->
box) and ``rnncnn`` (the landmark tracker, cropped series -> landmarks). The tracker's prediction
is the fully automatic pipeline (localise on ED with the ``roi`` model, crop, track, map back to
millimetres), so it needs the ``roi`` weights (``predict_needs``); the ``roi`` prediction alone
gives the localisation accuracy.

The reference (``reference:``) is the landmarks the tracker learns and every method is scored
against: the phantom's (``truth``), the cohort's own (``provided``), or a tag tracker's
(``harp``, ``sinmod``: tracked on the LV crop and mapped onto the field of view, as paper 003
learned a registration tool's output). With a tracker reference, the records' own landmarks, where
they have them, are scored as a method too and every method is also scored against them.

Torch-free at import: the parse step builds the targets from here. The stages import their
modules when a job runs them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from myoflow.methods.base import Method, Path, TrainingData, one_input
from myoflow.methods.tagstrain.settings import ROI, TRACKER, TagStrainSettings

if TYPE_CHECKING:
    import pandas as pd


class TagStrain(Method):
    """Paper 003's localisation CNN and RNN-CNN landmark tracker on tagged series."""

    settings_class = TagStrainSettings
    profile = "fov"
    eval_tables = ("boxes", "landmark_errors", "strain_curves", "qc")
    #: Paper 003's tables (TSV + Markdown) and figures (PNG + SVG), the report rules' outputs.
    report_tables = ("localisation", "landmark_rmse", "table2_strain", "table3_groups")
    report_figures = (
        "fig4_localisation",
        "fig5_bland_altman",
        "fig6_example",
        "tagstrain_training",
    )

    def models(self, experiment: Mapping[str, Any]) -> list[str]:
        return [ROI, TRACKER]

    def targets(self, experiment: Mapping[str, Any]) -> list[str]:
        """The paper's tables and figures, and the QC table of the slices left out or flagged."""
        return [
            *(f"tables/{name}.md" for name in self.report_tables),
            *(f"figures/{name}.png" for name in self.report_figures),
            "tables/qc.tsv",
        ]

    def compared_trackers(self, experiment: Mapping[str, Any]) -> list[str]:
        return list(experiment["settings"]["compare_trackers"])

    def predict_needs(self, experiment: Mapping[str, Any], model: str) -> list[str]:
        return [ROI] if model == TRACKER else []

    def train(
        self,
        experiment: Mapping[str, Any],
        model: str,
        data: TrainingData,
        out_dir: Path,
        device: str | None = None,
    ) -> None:
        from myoflow.methods.tagstrain.stages import train_stage

        train_stage(experiment, model, data.shards, data.splits, out_dir, device, data.tracked)

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
        from myoflow.methods.tagstrain.stages import predict_stage

        roi_weights = weights if model == ROI else (needs or {})[ROI]
        tracker_weights = weights if model == TRACKER else None
        predict_stage(experiment, roi_weights, tracker_weights, shard, splits, out, device)

    def evaluate(
        self,
        experiment: Mapping[str, Any],
        shard: Path,
        splits: Path,
        predictions: Mapping[str, Path],
        tracked: Sequence[Path] = (),
    ) -> dict[str, pd.DataFrame]:
        from myoflow.methods.tagstrain.evaluate import evaluate_stage

        return evaluate_stage(
            experiment, shard, splits, predictions[ROI], predictions[TRACKER], tracked
        )

    def report(
        self,
        stage: str,
        experiment: Mapping[str, Any],
        inputs: Mapping[str, Sequence[str]],
        out_dir: Path,
    ) -> None:
        """``tables``: localisation, landmark RMSE, Tables 2 and 3; ``figures``: Figures 4-6
        and the training curves (``myoflow.methods.tagstrain.report``)."""
        from myoflow.methods.tagstrain import report

        if stage == "tables":
            report.tables_stage(
                experiment,
                one_input(inputs, "boxes"),
                one_input(inputs, "errors"),
                one_input(inputs, "curves"),
                out_dir,
            )
        elif stage == "figures":
            report.figures_stage(
                experiment,
                one_input(inputs, "boxes"),
                one_input(inputs, "curves"),
                inputs["histories"],
                inputs["shards"],
                inputs["predictions"],
                out_dir,
                inputs.get("tracked", ()),
            )
        else:
            super().report(stage, experiment, inputs, out_dir)


METHOD = TagStrain()
