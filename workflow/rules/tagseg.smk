# Paper 001 (myocardium segmentation in tagged CMR): the paper's tables and figures. Training,
# prediction and evaluation run on the generic rules of experiments.smk
# (myoflow.methods.tagseg).
TAGSEG_UNIT = mf_experiment.method_of("tagseg")
TAGSEG_RE = _alternatives(experiments_of("tagseg"))


rule tagseg_paper_tables:
    """Paper 001 Tables 2-4 and the realism of the cine -> tagged transforms (TSV, Markdown)."""
    input:
        segmentation=f"{RESULTS}/experiments/{{exp}}/tables/segmentation.tsv",
        realism_frames=f"{RESULTS}/experiments/{{exp}}/tables/realism_frames.tsv",
        histories=experiment_histories,
        infos=experiment_models,
    output:
        **{
            name: report(
                f"{RESULTS}/experiments/{{exp}}/tables/{name}.md",
                caption=f"../report/{name}.rst",
                category="{exp}",
                subcategory="Tables",
            )
            for name in TAGSEG_UNIT.report_tables
        },
        tsv=expand(
            f"{RESULTS}/experiments/{{{{exp}}}}/tables/{{name}}.tsv",
            name=TAGSEG_UNIT.report_tables,
        ),
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/tagseg_tables.log",
    params:
        script=f"{SCRIPTS}/report_stage.py",
        experiment=experiment_config,
        out_dir=output_folder,
    wildcard_constraints:
        exp=TAGSEG_RE,
    localrule: True
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python {params.script} --experiment {params.experiment:q} --stage tables"
        " --input segmentation {input.segmentation} --input realism_frames {input.realism_frames}"
        " --input histories {input.histories} --input infos {input.infos}"
        " --out-dir {params.out_dir} 2> {log}"


rule tagseg_figures:
    """Paper 001 Figures 5, 6, 8, 9 and 11 (PNG and SVG)."""
    input:
        segmentation=f"{RESULTS}/experiments/{{exp}}/tables/segmentation.tsv",
        histories=experiment_histories,
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
            for name in TAGSEG_UNIT.report_figures
        },
        svg=expand(
            f"{RESULTS}/experiments/{{{{exp}}}}/figures/{{name}}.svg",
            name=TAGSEG_UNIT.report_figures,
        ),
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/tagseg_figures.log",
    params:
        script=f"{SCRIPTS}/report_stage.py",
        experiment=experiment_config,
        out_dir=output_folder,
    wildcard_constraints:
        exp=TAGSEG_RE,
    localrule: True
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    shell:
        "python {params.script} --experiment {params.experiment:q} --stage figures"
        " --input segmentation {input.segmentation} --input histories {input.histories}"
        " --input shards {input.shards} --input predictions {input.predictions}"
        " --out-dir {params.out_dir} 2> {log}"
