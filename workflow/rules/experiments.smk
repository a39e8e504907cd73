# The generic experiment rules, the same for every method: train each model, predict each shard,
# evaluate each shard, merge the evaluation tables. Each job hands the work to the experiment's
# method unit (myoflow.stages.experiment); a method's own rule file adds its paper's report.


rule train_model:
    """Train one model of an experiment (targets: the reference, tracked or given); resumes after a kill."""
    input:
        shards=experiment_shards,
        splits=experiment_splits,
        tracked=experiment_tracked,
        needs=train_needs,
    output:
        best=f"{RESULTS}/models/{{exp}}/{{model}}/best.pt",
        history=f"{RESULTS}/models/{{exp}}/{{model}}/history.tsv",
        info=f"{RESULTS}/models/{{exp}}/{{model}}/model.tsv",
    log:
        f"{RESULTS}/logs/models/{{exp}}/{{model}}/train.log",
    params:
        script=f"{SCRIPTS}/train_model.py",
        experiment=experiment_config,
        out_dir=output_folder,
    conda:
        "../../envs/torch.yaml"
    threads: 8
    resources:
        gpu=1,
        mem_mb=mem_mb(8000),
        runtime=runtime_min(240),
    shell:
        "python {params.script} --experiment {params.experiment:q} --model {wildcards.model}"
        " --shards {input.shards} --splits {input.splits} --tracked {input.tracked}"
        " --needs {input.needs} --out-dir {params.out_dir} --threads {threads} 2> {log}"


rule predict_shard:
    """Predict the evaluation split of one preprocessed shard with one trained model."""
    input:
        weights=model_weights,
        needs=predict_needs,
        shard=experiment_shard,
        splits=f"{RESULTS}/{{cohort}}/splits.tsv",
    output:
        f"{RESULTS}/experiments/{{exp}}/predictions/{{model}}/{{cohort}}/shard-{{shard}}.h5",
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/predict-{{model}}-{{cohort}}-{{shard}}.log",
    params:
        script=f"{SCRIPTS}/predict_shard.py",
        experiment=experiment_config,
    conda:
        "../../envs/torch.yaml"
    threads: 4
    resources:
        gpu=1,
        mem_mb=mem_mb(6000),
        runtime=runtime_min(60),
    shell:
        "python {params.script} --experiment {params.experiment:q} --model {wildcards.model}"
        " --weights {input.weights} --needs {input.needs} --shard {input.shard} --splits {input.splits} --out {output}"
        " --threads {threads} 2> {log}"


rule evaluate_shard:
    """Score every model's predictions of one shard: the method's evaluation tables."""
    input:
        shard=experiment_shard,
        splits=f"{RESULTS}/{{cohort}}/splits.tsv",
        predictions=experiment_predictions,
        tracked=experiment_tracked_shard,
    output:
        directory(f"{RESULTS}/experiments/{{exp}}/eval/{{cohort}}/shard-{{shard}}"),
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/evaluate-{{cohort}}-{{shard}}.log",
    params:
        script=f"{SCRIPTS}/evaluate_shard.py",
        experiment=experiment_config,
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(4000),
        runtime=runtime_min(60),
    shell:
        "python {params.script} --experiment {params.experiment:q}"
        " --shard {input.shard} --splits {input.splits} --predictions {input.predictions}"
        " --tracked {input.tracked} --out-dir {output} 2> {log}"


rule experiment_table:
    """One tidy table of the experiment from every cohort and shard."""
    input:
        experiment_eval_dirs,
    output:
        f"{RESULTS}/experiments/{{exp}}/tables/{{table}}.tsv",
    log:
        f"{RESULTS}/logs/experiments/{{exp}}/table-{{table}}.log",
    params:
        script=f"{SCRIPTS}/merge_tables.py",
        tables=experiment_eval_tables,
    wildcard_constraints:
        table=EVAL_TABLES_RE,
    localrule: True
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python {params.script} --out {output} {params.tables} 2> {log}"
