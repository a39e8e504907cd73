# Paper 002 (3D Attention M-net for mouse LV myocardium stacks): the paper's tables and figure.
# Training, prediction and evaluation run on the generic rules of experiments.smk
# (myoflow.methods.attmnet).
ATTMNET_UNIT = mf_experiment.method_of("attmnet")
ATTMNET_RE = _alternatives(experiments_of("attmnet"))


rule attmnet_paper_tables:
    """Paper 002 Table I, the Wilcoxon rank-sum tests and the volume agreement (TSV, Markdown)."""
    input:
        segmentation=f"{RESULTS}/experiments/{{exp}}/tables/segmentation.tsv",
        volumes=f"{RESULTS}/experiments/{{exp}}/tables/volumes.tsv",
        infos=experiment_models,
    output:
        **{
            name: report(
                f"{RESULTS}/experiments/{{exp}}/tables/{name}.md",
                caption=f"../report/{name}.rst",
                category="{exp}",
                subcategory="Tables",
            )
            for name in ATTMNET_UNIT.report_tables
        },
        tsv=expand(
            f"{RESULTS}/experiments/{{{{exp}}}}/tables/{{name}}.tsv",
            name=ATTMNET_UNIT.report_tables,
        ),
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/attmnet_tables.log",
    params:
        script=f"{SCRIPTS}/report_stage.py",
        experiment=experiment_config,
        out_dir=output_folder,
    wildcard_constraints:
        exp=ATTMNET_RE,
    localrule: True
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python {params.script} --experiment {params.experiment:q} --stage tables"
        " --input segmentation {input.segmentation} --input volumes {input.volumes}"
        " --input infos {input.infos}"
        " --out-dir {params.out_dir} 2> {log}"


rule attmnet_figures:
    """Paper 002 Figure 4: one test volume's slices, true and false positives per model."""
    input:
        segmentation=f"{RESULTS}/experiments/{{exp}}/tables/segmentation.tsv",
        shards=experiment_shards,
        predictions=experiment_every_prediction,
    output:
        **{
            name: report(
                f"{RESULTS}/experiments/{{exp}}/figures/{name}.png",
                caption=f"../report/{name}.rst",
                category="{exp}",
                subcategory="Figures",
            )
            for name in ATTMNET_UNIT.report_figures
        },
        svg=expand(
            f"{RESULTS}/experiments/{{{{exp}}}}/figures/{{name}}.svg",
            name=ATTMNET_UNIT.report_figures,
        ),
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/attmnet_figures.log",
    params:
        script=f"{SCRIPTS}/report_stage.py",
        experiment=experiment_config,
        out_dir=output_folder,
    wildcard_constraints:
        exp=ATTMNET_RE,
    localrule: True
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    shell:
        "python {params.script} --experiment {params.experiment:q} --stage figures"
        " --input segmentation {input.segmentation} --input shards {input.shards}"
        " --input predictions {input.predictions}"
        " --out-dir {params.out_dir} 2> {log}"
