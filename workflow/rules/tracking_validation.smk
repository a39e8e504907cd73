# Tracking validation: HARP and SinMod on the phantom against its exact motion (displacement,
# landmark and strain errors per species x realism x mask error x SNR x tag spacing), beside the
# zero baseline. One job per cell of the grid, then a merge into the table and the figure; rule
# all asks for them through common.smk's tracking_validation_targets() when enabled.
TRACKVAL_DIR = f"{RESULTS}/tracking"


rule tracking_validation_cell:
    """Track and score the phantom slices of one cell of the grid (every tracker, zero baseline)."""
    output:
        slices=f"{TRACKVAL_DIR}/cells/{{trackcell}}/slices.tsv",
        segments=f"{TRACKVAL_DIR}/cells/{{trackcell}}/segments.tsv",
        frames=f"{TRACKVAL_DIR}/cells/{{trackcell}}/frames.tsv",
    log:
        f"{RESULTS}/logs/tracking/cells/{{trackcell}}.log",
    params:
        script=f"{SCRIPTS}/tracking_validation.py",
        validation=tracking_cell_config,
        tracking=TRACKING_OPTIONS_JSON,
        out_dir=output_folder,
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(3000),
        runtime=runtime_min(30),
    shell:
        "python {params.script} cell --cell {wildcards.trackcell}"
        " --validation {params.validation:q} --tracking {params.tracking:q}"
        " --out-dir {params.out_dir} --threads {threads} 2> {log}"


rule tracking_validation:
    """Merge the cells into the validation table, its Markdown view and the figure."""
    input:
        tracking_cell_tables(),
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
        frames=f"{TRACKVAL_DIR}/validation_frames.tsv",
    log:
        f"{RESULTS}/logs/tracking/validation.log",
    params:
        script=f"{SCRIPTS}/tracking_validation.py",
        cells=tracking_cell_dirs(),
        out_dir=output_folder,
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(3000),
        runtime=runtime_min(15),
    shell:
        "python {params.script} merge --cells {params.cells} --out-dir {params.out_dir} 2> {log}"
