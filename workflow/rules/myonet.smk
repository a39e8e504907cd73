# MyoNet / ResMyoNet (paper 000): train on cine -> displacement, predict the evaluation split,
# measure displacement and strain agreement, statistics, tables and figures.


rule train_net:
    """Train one network of an experiment (targets: the reference, tracked or given); resumes after a kill."""
    input:
        shards=experiment_shards,
        splits=experiment_splits,
        tracked=experiment_tracked,
    output:
        best=f"{RESULTS}/models/{{exp}}/{{net}}/best.pt",
        history=f"{RESULTS}/models/{{exp}}/{{net}}/history.tsv",
        info=f"{RESULTS}/models/{{exp}}/{{net}}/model.tsv",
    log:
        f"{RESULTS}/logs/models/{{exp}}/{{net}}/train.log",
    params:
        script=f"{SCRIPTS}/train_net.py",
        experiment=experiment_config,
        out_dir=output_folder,
    wildcard_constraints:
        exp=MYONET_RE,
    conda:
        "../../envs/torch.yaml"
    threads: 8
    resources:
        gpu=1,
        mem_mb=mem_mb(8000),
        runtime=runtime_min(240),
    shell:
        "python {params.script} --experiment {params.experiment:q} --net {wildcards.net}"
        " --shards {input.shards} --splits {input.splits} --tracked {input.tracked}"
        " --out-dir {params.out_dir} --threads {threads} 2> {log}"


rule predict_shard:
    """Predict displacement (mm) for the evaluation split of one preprocessed shard."""
    input:
        weights=f"{RESULTS}/models/{{exp}}/{{net}}/best.pt",
        shard=f"{RESULTS}/{{cohort}}/preprocessed/crop/shard-{{shard}}.h5",
        splits=f"{RESULTS}/{{cohort}}/splits.tsv",
    output:
        f"{RESULTS}/experiments/{{exp}}/predictions/{{net}}/{{cohort}}/shard-{{shard}}.h5",
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/predict-{{net}}-{{cohort}}-{{shard}}.log",
    params:
        script=f"{SCRIPTS}/predict_shard.py",
        experiment=experiment_config,
    wildcard_constraints:
        exp=MYONET_RE,
    conda:
        "../../envs/torch.yaml"
    threads: 4
    resources:
        gpu=1,
        mem_mb=mem_mb(6000),
        runtime=runtime_min(60),
    shell:
        "python {params.script} --experiment {params.experiment:q} --net {wildcards.net}"
        " --weights {input.weights} --shard {input.shard} --splits {input.splits} --out {output}"
        " --threads {threads} 2> {log}"


rule evaluate_shard:
    """Displacement metrics and strain (reference, truth, networks, zero) for one shard."""
    input:
        shard=f"{RESULTS}/{{cohort}}/preprocessed/crop/shard-{{shard}}.h5",
        splits=f"{RESULTS}/{{cohort}}/splits.tsv",
        predictions=experiment_predictions,
        tracked=experiment_tracked_shard,
    output:
        metrics=f"{RESULTS}/experiments/{{exp}}/eval/{{cohort}}/metrics-{{shard}}.tsv",
        curves=f"{RESULTS}/experiments/{{exp}}/eval/{{cohort}}/strain_curves-{{shard}}.tsv",
        summary=f"{RESULTS}/experiments/{{exp}}/eval/{{cohort}}/strain_summary-{{shard}}.tsv",
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/evaluate-{{cohort}}-{{shard}}.log",
    params:
        script=f"{SCRIPTS}/evaluate_shard.py",
        experiment=experiment_config,
    wildcard_constraints:
        exp=MYONET_RE,
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(4000),
        runtime=runtime_min(60),
    shell:
        "python {params.script} --experiment {params.experiment:q}"
        " --shard {input.shard} --splits {input.splits} --predictions {input.predictions}"
        " --tracked {input.tracked} --metrics {output.metrics} --curves {output.curves}"
        " --summary {output.summary} 2> {log}"


rule experiment_table:
    """One tidy table of the experiment from every cohort and shard."""
    input:
        experiment_eval_tables,
    output:
        f"{RESULTS}/experiments/{{exp}}/tables/{{table}}.tsv",
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/table-{{table}}.log",
    params:
        script=f"{SCRIPTS}/merge_tables.py",
    wildcard_constraints:
        exp=MYONET_RE,
        table="metrics|strain_curves|strain_summary",
    localrule: True
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python {params.script} --out {output} {input} 2> {log}"


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
            for name in MYONET_TABLES
        },
        tsv=expand(f"{RESULTS}/experiments/{{{{exp}}}}/tables/{{name}}.tsv", name=MYONET_TABLES),
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/paper_tables.log",
    params:
        script=f"{SCRIPTS}/myonet_tables.py",
        experiment=experiment_config,
        out_dir=output_folder,
    wildcard_constraints:
        exp=MYONET_RE,
    localrule: True
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python {params.script} --experiment {params.experiment:q}"
        " --metrics {input.metrics} --summary {input.summary} --histories {input.histories}"
        " --models {input.models} --out-dir {params.out_dir} 2> {log}"


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
            for name in MYONET_FIGURES
        },
        svg=expand(f"{RESULTS}/experiments/{{{{exp}}}}/figures/{{name}}.svg", name=MYONET_FIGURES),
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/figures.log",
    params:
        script=f"{SCRIPTS}/myonet_figures.py",
        experiment=experiment_config,
        out_dir=output_folder,
    wildcard_constraints:
        exp=MYONET_RE,
    localrule: True
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    shell:
        "python {params.script} --experiment {params.experiment:q}"
        " --summary {input.summary} --curves {input.curves} --histories {input.histories}"
        " --predictions {input.predictions} --reference {input.reference}"
        " --tracked {input.tracked}"
        " --out-dir {params.out_dir} 2> {log}"
