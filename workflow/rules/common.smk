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

# Methods whose rules this version includes (registered with a package); an experiment naming
# another one is refused rather than silently skipped.
METHODS_WITH_RULES = sorted(m for m, package in METHODS.items() if package is not None)
for _name, _exp in CONFIG["experiments"].items():
    if _exp["method"] not in METHODS_WITH_RULES:
        raise WorkflowError(
            f"config.experiments.{_name}: method {_exp['method']!r} has no stages in this version "
            f"of myoflow (available: {sorted(METHODS_WITH_RULES) or 'none yet'})"
        )

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
#: Preprocessing profiles written per cohort (crop always), and every profile's options as the
#: JSON its jobs get: changing one profile's options remakes that profile's shards alone.
COHORT_PROFILES = {name: mf_config.profiles_of(CONFIG, name) for name in COHORTS}
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


MYONET = [e for e, x in CONFIG["experiments"].items() if x["method"] == "myonet"]
try:
    EXPERIMENTS = {e: mf_experiment.myonet_settings(CONFIG, e, SERIES) for e in MYONET}
except ConfigError as error:
    raise WorkflowError(str(error)) from error
EXPERIMENT_JSON = {e: mf_experiment.experiment_json(CONFIG, e, SERIES) for e in MYONET}
MYONET_RE = _alternatives(MYONET)
NETS_RE = _alternatives(list(mf_experiment.NETS))
TRACKERS_RE = _alternatives(list(mf_config.TRACKERS))
#: The tracker options handed to the tracking jobs (checked by check_config when in use).
TRACKER_JSON = {t: json.dumps(CONFIG["tracking"].get(t, {})) for t in mf_config.TRACKERS}
TRACKING_VALIDATION = CONFIG["tracking_validation"]
MYONET_TABLES = ["table1_segments", "table2_agreement", "group_effects", "timing"]
MYONET_FIGURES = [
    "fig4_displacement",
    "fig5_segments",
    "fig6_bland_altman",
    "fig7_training",
    "strain_curves",
    "bullseye",
]


wildcard_constraints:
    cohort=_alternatives(COHORTS),
    shard=r"\d\d\d+",
    stage="records|preprocessed/crop",
    profile=_alternatives(mf_config.PROFILES),
    net=NETS_RE,
    tracker=TRACKERS_RE,


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


def experiment_shards(wildcards):
    """Every crop-profile shard of the experiment's cohorts."""
    return [
        f"{RESULTS}/{cohort}/preprocessed/crop/shard-{shard}.h5"
        for cohort in EXPERIMENTS[wildcards.exp]["cohorts"]
        for shard in shards_of(cohort)
    ]


def experiment_splits(wildcards):
    return [f"{RESULTS}/{c}/splits.tsv" for c in EXPERIMENTS[wildcards.exp]["cohorts"]]


def experiment_nets(exp):
    return EXPERIMENTS[exp]["settings"]["nets"]


def experiment_predictions(wildcards):
    """The predictions of every network of the experiment for one cohort shard."""
    return [
        f"{RESULTS}/experiments/{wildcards.exp}/predictions/{net}/{wildcards.cohort}/"
        f"shard-{wildcards.shard}.h5"
        for net in experiment_nets(wildcards.exp)
    ]


def tracker_options(wildcards):
    return TRACKER_JSON[wildcards.tracker]


def _tracked_shard(exp, cohort, shard):
    return f"{RESULTS}/{cohort}/tracking/{EXPERIMENTS[exp]['tracker']}/shard-{shard}.h5"


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
    """The tracking shard of one cohort shard when a tracker is the reference (else none)."""
    if EXPERIMENTS[wildcards.exp]["tracker"] is None:
        return []
    return [_tracked_shard(wildcards.exp, wildcards.cohort, wildcards.shard)]


def experiment_eval_tables(wildcards):
    return [
        f"{RESULTS}/experiments/{wildcards.exp}/eval/{cohort}/{wildcards.table}-{shard}.tsv"
        for cohort in EXPERIMENTS[wildcards.exp]["cohorts"]
        for shard in shards_of(cohort)
    ]


def experiment_histories(wildcards):
    return [
        f"{RESULTS}/models/{wildcards.exp}/{net}/history.tsv"
        for net in experiment_nets(wildcards.exp)
    ]


def experiment_models(wildcards):
    return [
        f"{RESULTS}/models/{wildcards.exp}/{net}/model.tsv" for net in experiment_nets(wildcards.exp)
    ]


def experiment_first_predictions(wildcards):
    """Predictions of the experiment's first cohort (Fig. 4 shows one of its test slices)."""
    cohort = EXPERIMENTS[wildcards.exp]["cohorts"][0]
    return [
        f"{RESULTS}/experiments/{wildcards.exp}/predictions/{net}/{cohort}/shard-{shard}.h5"
        for net in experiment_nets(wildcards.exp)
        for shard in shards_of(cohort)
    ]


def experiment_first_shard(wildcards):
    cohort = EXPERIMENTS[wildcards.exp]["cohorts"][0]
    return [
        f"{RESULTS}/{cohort}/preprocessed/crop/shard-{shard}.h5" for shard in shards_of(cohort)
    ]


def experiment_first_tracked(wildcards):
    """The first cohort's tracking shards when a tracker is the reference (Fig. 4 shows it)."""
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
    return [f"{RESULTS}/experiments/{exp}/tables/{name}.md" for name in MYONET_TABLES] + [
        f"{RESULTS}/experiments/{exp}/figures/{name}.png" for name in MYONET_FIGURES
    ]


def tracking_validation_targets():
    if not TRACKING_VALIDATION["enabled"]:
        return []
    return [f"{RESULTS}/tracking/validation.md", f"{RESULTS}/tracking/validation.png"]


def all_targets():
    targets = [t for cohort in COHORTS for t in cohort_targets(cohort)]
    targets += [t for exp in MYONET for t in experiment_targets(exp)]
    return targets + tracking_validation_targets()
