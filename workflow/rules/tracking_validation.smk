# Tracking validation: HARP and SinMod on the phantom against its exact motion (displacement,
# landmark and per-segment strain errors over SNR and tag spacing), beside the zero baseline.
# rule all asks for it through common.smk's tracking_validation_targets() when enabled.
import json

# The sweep's settings and the trackers' options as JSON for the command line; as plain params
# they make Snakemake rerun the rule when either changes.
TRACKVAL_JSON = json.dumps(
    {k: v for k, v in (CONFIG.get("tracking_validation") or {}).items() if k != "enabled"},
    sort_keys=True,
)
TRACKVAL_OPTIONS_JSON = json.dumps(CONFIG.get("tracking") or {}, sort_keys=True)
TRACKVAL_DIR = f"{RESULTS}/tracking"


rule tracking_validation:
    """Sweep trackers x species x SNR x tag spacing (px) on the phantom; table and figure."""
    output:
        tsv=f"{TRACKVAL_DIR}/validation.tsv",
        md=report(
            f"{TRACKVAL_DIR}/validation.md",
            caption="../report/tracking_validation.rst",
            category="Tracking",
            subcategory="Validation",
        ),
        png=report(
            f"{TRACKVAL_DIR}/validation.png",
            caption="../report/tracking_validation.rst",
            category="Tracking",
            subcategory="Validation",
        ),
        svg=f"{TRACKVAL_DIR}/validation.svg",
        slices=f"{TRACKVAL_DIR}/validation_slices.tsv",
        segments=f"{TRACKVAL_DIR}/validation_segments.tsv",
    log:
        f"{RESULTS}/logs/tracking/validation.log",
    params:
        script=f"{SCRIPTS}/tracking_validation.py",
        validation=TRACKVAL_JSON,
        tracking=TRACKVAL_OPTIONS_JSON,
        out_dir=output_folder,
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(3000),
        runtime=runtime_min(60),
    shell:
        "python {params.script} --validation {params.validation:q}"
        " --tracking {params.tracking:q} --out-dir {params.out_dir} --threads {threads} 2> {log}"
