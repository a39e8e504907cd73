# Paper 003 (fully automated tagged-CMR strain): the paper's tables and figures. Training,
# prediction and evaluation run on the generic rules of experiments.smk
# (myoflow.methods.tagstrain).
TAGSTRAIN_UNIT = mf_experiment.method_of("tagstrain")
TAGSTRAIN_RE = _alternatives(experiments_of("tagstrain"))


rule tagstrain_paper_tables:
    """Paper 003's localisation and landmark accuracy, Table 2 and Table 3 (TSV and Markdown)."""
    input:
        boxes=f"{RESULTS}/experiments/{{exp}}/tables/boxes.tsv",
        errors=f"{RESULTS}/experiments/{{exp}}/tables/landmark_errors.tsv",
        curves=f"{RESULTS}/experiments/{{exp}}/tables/strain_curves.tsv",
    output:
        **{
            name: report(
                f"{RESULTS}/experiments/{{exp}}/tables/{name}.md",
                caption=f"../report/{name}.rst",
                category="{exp}",
                subcategory="Tables",
            )
            for name in TAGSTRAIN_UNIT.report_tables
        },
        tsv=expand(
            f"{RESULTS}/experiments/{{{{exp}}}}/tables/{{name}}.tsv",
            name=TAGSTRAIN_UNIT.report_tables,
        ),
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/tagstrain_tables.log",
    params:
        script=f"{SCRIPTS}/report_stage.py",
        experiment=experiment_config,
        out_dir=output_folder,
    wildcard_constraints:
        exp=TAGSTRAIN_RE,
    localrule: True
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python {params.script} --experiment {params.experiment:q} --stage tables"
        " --input boxes {input.boxes} --input errors {input.errors}"
        " --input curves {input.curves} --out-dir {params.out_dir} 2> {log}"


rule tagstrain_figures:
    """Paper 003 Figures 4-6 (localisation, Bland-Altman per level, an example slice) and the
    training curves (PNG and SVG)."""
    input:
        boxes=f"{RESULTS}/experiments/{{exp}}/tables/boxes.tsv",
        curves=f"{RESULTS}/experiments/{{exp}}/tables/strain_curves.tsv",
        histories=experiment_histories,
        shards=experiment_first_shard,
        predictions=experiment_first_predictions,
        tracked=experiment_first_tracked,
    output:
        **{
            name: report(
                f"{RESULTS}/experiments/{{exp}}/figures/{name}.png",
                caption=f"../report/{name}.rst",
                category="{exp}",
                subcategory="Figures",
            )
            for name in TAGSTRAIN_UNIT.report_figures
        },
        svg=expand(
            f"{RESULTS}/experiments/{{{{exp}}}}/figures/{{name}}.svg",
            name=TAGSTRAIN_UNIT.report_figures,
        ),
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/tagstrain_figures.log",
    params:
        script=f"{SCRIPTS}/report_stage.py",
        experiment=experiment_config,
        out_dir=output_folder,
    wildcard_constraints:
        exp=TAGSTRAIN_RE,
    localrule: True
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    shell:
        "python {params.script} --experiment {params.experiment:q} --stage figures"
        " --input boxes {input.boxes} --input curves {input.curves}"
        " --input histories {input.histories} --input shards {input.shards}"
        " --input predictions {input.predictions} --input tracked {input.tracked}"
        " --out-dir {params.out_dir} 2> {log}"
