# MyoNet / ResMyoNet (paper 000): the paper's tables and figures. Training, prediction and
# evaluation run on the generic rules of experiments.smk (myoflow.methods.myonet).
MYONET_UNIT = mf_experiment.method_of("myonet")
MYONET_RE = _alternatives(experiments_of("myonet"))


rule myonet_paper_tables:
    """Paper 000 Tables 1 and 2, the group table and the timing table (TSV and Markdown)."""
    input:
        metrics=f"{RESULTS}/experiments/{{exp}}/tables/metrics.tsv",
        summary=f"{RESULTS}/experiments/{{exp}}/tables/strain_summary.tsv",
        histories=experiment_histories,
        models=experiment_models,
    output:
        **{
            name: report(
                f"{RESULTS}/experiments/{{exp}}/tables/{name}.md",
                caption=f"../report/{name}.rst",
                category="{exp}",
                subcategory="Tables",
            )
            for name in MYONET_UNIT.report_tables
        },
        tsv=expand(
            f"{RESULTS}/experiments/{{{{exp}}}}/tables/{{name}}.tsv",
            name=MYONET_UNIT.report_tables,
        ),
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/paper_tables.log",
    params:
        script=f"{SCRIPTS}/report_stage.py",
        experiment=experiment_config,
        out_dir=output_folder,
    wildcard_constraints:
        exp=MYONET_RE,
    localrule: True
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python {params.script} --experiment {params.experiment:q} --stage tables"
        " --input metrics {input.metrics} --input summary {input.summary}"
        " --input histories {input.histories} --input models {input.models}"
        " --out-dir {params.out_dir} 2> {log}"


rule myonet_figures:
    """Paper 000 Figures 4-7, strain curves over the cycle and the AHA bullseye (PNG and SVG)."""
    input:
        summary=f"{RESULTS}/experiments/{{exp}}/tables/strain_summary.tsv",
        curves=f"{RESULTS}/experiments/{{exp}}/tables/strain_curves.tsv",
        histories=experiment_histories,
        predictions=experiment_first_predictions,
        reference=experiment_first_shard,
        tracked=experiment_first_tracked,
    output:
        **{
            name: report(
                f"{RESULTS}/experiments/{{exp}}/figures/{name}.png",
                caption=f"../report/{name}.rst",
                category="{exp}",
                subcategory="Figures",
            )
            for name in MYONET_UNIT.report_figures
        },
        svg=expand(
            f"{RESULTS}/experiments/{{{{exp}}}}/figures/{{name}}.svg",
            name=MYONET_UNIT.report_figures,
        ),
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/figures.log",
    params:
        script=f"{SCRIPTS}/report_stage.py",
        experiment=experiment_config,
        out_dir=output_folder,
    wildcard_constraints:
        exp=MYONET_RE,
    localrule: True
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    shell:
        "python {params.script} --experiment {params.experiment:q} --stage figures"
        " --input summary {input.summary} --input curves {input.curves}"
        " --input histories {input.histories} --input predictions {input.predictions}"
        " --input reference {input.reference} --input tracked {input.tracked}"
        " --out-dir {params.out_dir} 2> {log}"
