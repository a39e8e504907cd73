# Helpers shared by the rule files (validated config, shard plans, targets, resources).
import json
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from myoflow import config as mf_config
from myoflow import experiment as mf_experiment
from myoflow.errors import ConfigError
from myoflow.methods.tracking_validation.grid import SweepConfig as TrackingGrid
from myoflow.registry import METHODS

# Jobs call `python`: make it the interpreter running Snakemake (the project's environment),
# unless a conda environment of the job puts its own first.
envvars:
    "PATH",


os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

try:
    validate(config, "../schemas/config.schema.yaml")
except WorkflowError as error:
    raise WorkflowError(
        "config.yaml does not match workflow/schemas/config.schema.yaml:\n  - "
        + "\n  - ".join(mf_config.explain_errors(config))
    ) from error
try:
    CONFIG = mf_config.check_config(config)
except ConfigError as error:
    raise WorkflowError(str(error)) from error

BASE = Path(workflow.basedir)
SCRIPTS = BASE / "scripts"
WORKDIR = Path.cwd()
RESULTS = "results"
COHORTS = list(CONFIG["cohorts"])
SYNTHETIC = [c for c in COHORTS if CONFIG["cohorts"][c]["source"] == "synthetic"]
INGESTED = [c for c in COHORTS if c not in SYNTHETIC]


def _plans():
    """Shard plan and available image series of every cohort (one manifest read each)."""
    plans, series = {}, {}
    for name in COHORTS:
        try:
            plans[name], series[name] = mf_config.cohort_plan(
                name, CONFIG["cohorts"][name], WORKDIR
            )
        except ConfigError as error:
            raise WorkflowError(str(error)) from error
    return plans, series


PLANS, SERIES = _plans()
COHORT_JSON = {name: mf_config.cohort_json(CONFIG, name, WORKDIR) for name in COHORTS}

#: Every experiment resolved (its method unit's settings filled in), the method unit of each, and
#: the resolved experiment as the JSON its jobs get.
try:
    EXPERIMENTS = {e: mf_experiment.resolve(CONFIG, e, SERIES) for e in CONFIG["experiments"]}
    METHOD = {e: mf_experiment.method_of(x["method"]) for e, x in EXPERIMENTS.items()}
except ConfigError as error:
    raise WorkflowError(str(error)) from error
EXPERIMENT_JSON = {e: json.dumps(x) for e, x in EXPERIMENTS.items()}
MODELS = {e: METHOD[e].models(x) for e, x in EXPERIMENTS.items()}

#: Preprocessing profiles written per cohort (crop always, and every profile a method of an
#: experiment on the cohort reads), and every profile's options as the JSON its jobs get:
#: changing one profile's options remakes that profile's shards alone.
COHORT_PROFILES = {
    name: mf_config.profiles_of(
        CONFIG, name, [METHOD[e].profile for e, x in EXPERIMENTS.items() if name in x["cohorts"]]
    )
    for name in COHORTS
}
PROFILE_JSON = {
    (name, profile): json.dumps(mf_config.profile_options(CONFIG, name, profile))
    for name in COHORTS
    for profile in mf_config.PROFILES
}


def _alternatives(names):
    """A wildcard regex matching exactly these names (never matches when empty)."""
    return "|".join(names) if names else "(?!x)x"


SYNTHETIC_RE = _alternatives(SYNTHETIC)
INGESTED_RE = _alternatives(INGESTED)


EXPERIMENTS_RE = _alternatives(list(EXPERIMENTS))
MODELS_RE = _alternatives(sorted({m for models in MODELS.values() for m in models}))
EVAL_TABLES_RE = _alternatives(sorted({t for m in METHOD.values() for t in m.eval_tables}))
TRACKERS_RE = _alternatives(list(mf_config.TRACKERS))
#: The tracker options handed to the tracking jobs (checked by check_config when in use).
TRACKER_JSON = {t: json.dumps(CONFIG["tracking"].get(t, {})) for t in mf_config.TRACKERS}
TRACKING_VALIDATION = CONFIG["tracking_validation"]


def _tracking_cells():
    """Each cell of the enabled tracking validation by id, with the config of that cell alone
    as the JSON its job gets (so changing one cell of the grid reruns that cell only)."""
    if not TRACKING_VALIDATION["enabled"]:
        return {}
    try:
        grid = TrackingGrid.from_dict(TRACKING_VALIDATION)
    except ValueError as error:
        raise WorkflowError(str(error)) from error
    return {c.id: json.dumps(grid.only(c).to_dict(), sort_keys=True) for c in grid.cells()}


TRACKING_CELLS = _tracking_cells()
#: The validated trackers' options as the cell jobs get them; as plain params they make
#: Snakemake rerun the cells when they change.
TRACKING_OPTIONS_JSON = json.dumps(
    {t: CONFIG["tracking"].get(t, {}) for t in TRACKING_VALIDATION["trackers"]}, sort_keys=True
)


wildcard_constraints:
    cohort=_alternatives(COHORTS),
    shard=r"\d\d\d+",
    stage="records|preprocessed/crop",
    profile=_alternatives(mf_config.PROFILES),
    exp=EXPERIMENTS_RE,
    model=MODELS_RE,
    tracker=TRACKERS_RE,
    trackcell=_alternatives(list(TRACKING_CELLS)),


def cohort_config(wildcards):
    return COHORT_JSON[wildcards.cohort]


def profile_config(wildcards):
    return PROFILE_JSON[wildcards.cohort, wildcards.profile]


def shards_of(cohort):
    return PLANS[cohort].names


def shard_files(pattern):
    """An input function giving ``pattern`` for every shard of the job's cohort (the job's other
    wildcards, such as ``profile``, filled in)."""

    def files(wildcards):
        return expand(pattern, shard=shards_of(wildcards.cohort), **dict(wildcards.items()))

    files.__name__ = f"shard_files_{Path(pattern).name}"
    return files


def profile_qc_files(wildcards):
    """The QC tables of every preprocessing profile the job's cohort runs, shard by shard."""
    return [
        f"{RESULTS}/{wildcards.cohort}/preprocessed/{profile}/qc-{shard}.tsv"
        for profile in COHORT_PROFILES[wildcards.cohort]
        for shard in shards_of(wildcards.cohort)
    ]


def experiment_config(wildcards):
    return EXPERIMENT_JSON[wildcards.exp]


def experiments_of(method):
    """The experiments that run ``method`` (a method's rule file constrains ``exp`` to them)."""
    return [e for e, x in EXPERIMENTS.items() if x["method"] == method]


def _profile_shard(exp, cohort, shard):
    """A shard of the preprocessing profile the experiment's method reads."""
    return f"{RESULTS}/{cohort}/preprocessed/{METHOD[exp].profile}/shard-{shard}.h5"


def experiment_shards(wildcards):
    """Every shard of the experiment's cohorts, in its method's profile."""
    return [
        _profile_shard(wildcards.exp, cohort, shard)
        for cohort in EXPERIMENTS[wildcards.exp]["cohorts"]
        for shard in shards_of(cohort)
    ]


def experiment_shard(wildcards):
    """One cohort shard of the experiment, in its method's profile."""
    return _profile_shard(wildcards.exp, wildcards.cohort, wildcards.shard)


def experiment_splits(wildcards):
    return [f"{RESULTS}/{c}/splits.tsv" for c in EXPERIMENTS[wildcards.exp]["cohorts"]]


def experiment_predictions(wildcards):
    """The predictions of every model of the experiment for one cohort shard (model order)."""
    return [
        f"{RESULTS}/experiments/{wildcards.exp}/predictions/{model}/{wildcards.cohort}/"
        f"shard-{wildcards.shard}.h5"
        for model in MODELS[wildcards.exp]
    ]


def models_dir(exp):
    """The folder of an experiment's trained models: its own, or those it applies (`models:`,
    another experiment's or a folder of models trained elsewhere)."""
    x = EXPERIMENTS[exp]
    if x["models_path"] is not None:
        return x["models_path"]
    return f"{RESULTS}/models/{x['trained_by'] or exp}"


def model_weights(wildcards):
    """The best weights of the model a prediction runs."""
    return f"{models_dir(wildcards.exp)}/{wildcards.model}/best.pt"


def train_needs(wildcards):
    """The best weights of the other models a model's training starts from (Method.train_needs)."""
    exp = EXPERIMENTS[wildcards.exp]
    return [
        f"{models_dir(wildcards.exp)}/{other}/best.pt"
        for other in METHOD[wildcards.exp].train_needs(exp, wildcards.model)
    ]


def predict_needs(wildcards):
    """The best weights of the other models a model's prediction runs (Method.predict_needs)."""
    exp = EXPERIMENTS[wildcards.exp]
    return [
        f"{models_dir(wildcards.exp)}/{other}/best.pt"
        for other in METHOD[wildcards.exp].predict_needs(exp, wildcards.model)
    ]


def predicted_masks(wildcards):
    """The segmentation model's prediction of the shard a tracker starts from (`mask:`)."""
    return (
        f"{RESULTS}/experiments/{wildcards.mask_exp}/predictions/{wildcards.mask_model}/"
        f"{wildcards.cohort}/shard-{wildcards.shard}.h5"
    )


def tracker_options(wildcards):
    return TRACKER_JSON[wildcards.tracker]


def tracking_cell_config(wildcards):
    """The tracking validation config of the job's cell alone (JSON)."""
    return TRACKING_CELLS[wildcards.trackcell]


def tracking_cell_dirs():
    """The folder of every tracking validation cell, in grid order (the merge reads them)."""
    return [f"{RESULTS}/tracking/cells/{cell}" for cell in TRACKING_CELLS]


def tracking_cell_tables():
    """Every table the cells write (the cell rule's outputs), in grid order."""
    return [
        f"{folder}/{table}.tsv"
        for folder in tracking_cell_dirs()
        for table in ("slices", "segments", "frames")
    ]


def _tracking_dir(exp, cohort, tracker):
    """Where the experiment's tracker tracks the cohort: from the records' masks, or from the ED
    myocardium a segmentation model predicted (the experiment's `mask:`)."""
    mask = EXPERIMENTS[exp]["mask"]
    if mask is None:
        return f"{RESULTS}/{cohort}/tracking/{tracker}"
    return f"{RESULTS}/{cohort}/tracking_on_masks/{mask['experiment']}/{mask['model']}/{tracker}"


def _tracked_shard(exp, cohort, shard):
    return f"{_tracking_dir(exp, cohort, EXPERIMENTS[exp]['tracker'])}/shard-{shard}.h5"


def experiment_tracked(wildcards):
    """Every tracking shard of the experiment's cohorts when a tracker is its reference."""
    if EXPERIMENTS[wildcards.exp]["tracker"] is None:
        return []
    return [
        _tracked_shard(wildcards.exp, cohort, shard)
        for cohort in EXPERIMENTS[wildcards.exp]["cohorts"]
        for shard in shards_of(cohort)
    ]


def experiment_tracked_shard(wildcards):
    """The tracking shards of one cohort shard its evaluation reads: the reference tracker's
    (when a tracker is the reference), then those of the trackers the method compares with
    (Method.compared_trackers), each once."""
    exp = EXPERIMENTS[wildcards.exp]
    trackers = [exp["tracker"]] if exp["tracker"] else []
    trackers += [t for t in METHOD[wildcards.exp].compared_trackers(exp) if t not in trackers]
    return [
        f"{_tracking_dir(wildcards.exp, wildcards.cohort, tracker)}/shard-{wildcards.shard}.h5"
        for tracker in trackers
    ]


def _eval_dirs(exp):
    return [
        f"{RESULTS}/experiments/{exp}/eval/{cohort}/shard-{shard}"
        for cohort in EXPERIMENTS[exp]["cohorts"]
        for shard in shards_of(cohort)
    ]


def experiment_eval_dirs(wildcards):
    """The evaluation folders of every shard of the experiment (one TSV per table in each)."""
    return _eval_dirs(wildcards.exp)


def experiment_eval_tables(wildcards):
    """Table ``table`` of every evaluation folder of the experiment, in shard order."""
    return [f"{d}/{wildcards.table}.tsv" for d in _eval_dirs(wildcards.exp)]


def experiment_histories(wildcards):
    return [f"{models_dir(wildcards.exp)}/{m}/history.tsv" for m in MODELS[wildcards.exp]]


def experiment_models(wildcards):
    return [f"{models_dir(wildcards.exp)}/{m}/model.tsv" for m in MODELS[wildcards.exp]]


def experiment_first_predictions(wildcards):
    """Predictions of the experiment's first cohort (a figure shows one of its test slices)."""
    cohort = EXPERIMENTS[wildcards.exp]["cohorts"][0]
    return [
        f"{RESULTS}/experiments/{wildcards.exp}/predictions/{model}/{cohort}/shard-{shard}.h5"
        for model in MODELS[wildcards.exp]
        for shard in shards_of(cohort)
    ]


def experiment_every_prediction(wildcards):
    """Every model's prediction of every shard of the experiment (a figure picks its frames)."""
    return [
        f"{RESULTS}/experiments/{wildcards.exp}/predictions/{model}/{cohort}/shard-{shard}.h5"
        for model in MODELS[wildcards.exp]
        for cohort in EXPERIMENTS[wildcards.exp]["cohorts"]
        for shard in shards_of(cohort)
    ]


def experiment_first_shard(wildcards):
    cohort = EXPERIMENTS[wildcards.exp]["cohorts"][0]
    return [_profile_shard(wildcards.exp, cohort, shard) for shard in shards_of(cohort)]


def experiment_first_tracked(wildcards):
    """The first cohort's tracking shards when a tracker is the reference (a figure shows it)."""
    if EXPERIMENTS[wildcards.exp]["tracker"] is None:
        return []
    cohort = EXPERIMENTS[wildcards.exp]["cohorts"][0]
    return [_tracked_shard(wildcards.exp, cohort, shard) for shard in shards_of(cohort)]


def output_folder(wildcards, output):
    """The folder of a rule's first output: its script writes every output there."""
    return os.path.dirname(output[0])


def mem_mb(base_mb):
    """Memory that grows with the attempt number, so --retries gets a bigger allocation."""

    def mem(wildcards, attempt):
        return base_mb * attempt

    return mem


def runtime_min(base_min):
    def runtime(wildcards, attempt):
        return base_min * attempt

    return runtime


def cohort_targets(cohort):
    targets = [
        f"{RESULTS}/{cohort}/qc.tsv",
        f"{RESULTS}/{cohort}/index.tsv",
        f"{RESULTS}/{cohort}/splits.tsv",
    ]
    targets += [
        f"{RESULTS}/{cohort}/preprocessed/{profile}/index.tsv"
        for profile in COHORT_PROFILES[cohort]
    ]
    if cohort in SYNTHETIC:
        targets.append(f"{RESULTS}/{cohort}/truth_strain.tsv")
    if CONFIG["export_nifti"]:
        targets += expand(
            f"{RESULTS}/{cohort}/nifti/{{stage}}/shard-{{shard}}",
            stage=["records", "preprocessed/crop"],
            shard=shards_of(cohort),
        )
    return targets


def experiment_targets(exp):
    return [f"{RESULTS}/experiments/{exp}/{t}" for t in METHOD[exp].targets(EXPERIMENTS[exp])]


def method_rule_files():
    """The rule file of every registered method that has one (workflow/rules/<method>.smk),
    relative to the Snakefile; methods without one run on the generic rules alone."""
    return [
        f"workflow/rules/{m}.smk"
        for m, target in METHODS.items()
        if target is not None and (BASE / "workflow" / "rules" / f"{m}.smk").exists()
    ]


def tracking_validation_targets():
    if not TRACKING_VALIDATION["enabled"]:
        return []
    return [f"{RESULTS}/tracking/validation.md", f"{RESULTS}/tracking/validation.png"]


def tracking_quality_targets():
    """The quality figure of every (cohort, tracker) that an experiment takes as reference."""
    pairs = {
        (cohort, EXPERIMENTS[exp]["tracker"])
        for exp in EXPERIMENTS
        if EXPERIMENTS[exp]["tracker"] is not None
        for cohort in EXPERIMENTS[exp]["cohorts"]
    }
    return [f"{RESULTS}/{cohort}/tracking/{tracker}/quality.png" for cohort, tracker in sorted(pairs)]


def all_targets():
    targets = [t for cohort in COHORTS for t in cohort_targets(cohort)]
    targets += [t for exp in EXPERIMENTS for t in experiment_targets(exp)]
    return targets + tracking_quality_targets() + tracking_validation_targets()
