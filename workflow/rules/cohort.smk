# Cohort stage: phantom generation or ingestion of user data into canonical record shards,
# planned over subjects (a subject's slices are always in one shard), and the cohort's index.


rule phantom_shard:
    """Generate one shard of a synthetic cohort: images, masks and exact motion truth."""
    output:
        records=f"{RESULTS}/{{cohort}}/records/shard-{{shard}}.h5",
        qc=f"{RESULTS}/{{cohort}}/records/qc-{{shard}}.tsv",
        index=f"{RESULTS}/{{cohort}}/records/index-{{shard}}.tsv",
        truth=f"{RESULTS}/{{cohort}}/records/truth-{{shard}}.tsv",
    log:
        f"{RESULTS}/logs/{{cohort}}/phantom-{{shard}}.log",
    params:
        script=f"{SCRIPTS}/make_cohort_shard.py",
        cohort=cohort_config,
    wildcard_constraints:
        cohort=SYNTHETIC_RE,
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000),
        runtime=runtime_min(30),
    shell:
        "python {params.script} --cohort {params.cohort:q} --shard {wildcards.shard}"
        " --records {output.records} --qc {output.qc} --index {output.index}"
        " --truth {output.truth} 2> {log}"


rule ingest_shard:
    """Read one shard of a manifest or ACDC cohort into canonical records; bad subjects go to QC."""
    output:
        records=f"{RESULTS}/{{cohort}}/records/shard-{{shard}}.h5",
        qc=f"{RESULTS}/{{cohort}}/records/qc-{{shard}}.tsv",
        index=f"{RESULTS}/{{cohort}}/records/index-{{shard}}.tsv",
    log:
        f"{RESULTS}/logs/{{cohort}}/ingest-{{shard}}.log",
    params:
        script=f"{SCRIPTS}/make_cohort_shard.py",
        cohort=cohort_config,
    wildcard_constraints:
        cohort=INGESTED_RE,
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(4000),
        runtime=runtime_min(60),
    shell:
        "python {params.script} --cohort {params.cohort:q} --shard {wildcards.shard}"
        " --records {output.records} --qc {output.qc} --index {output.index} 2> {log}"


rule truth_table:
    """Collect the phantom's analytic strain per AHA segment and frame into one tidy table."""
    input:
        shard_files(f"{RESULTS}/{{cohort}}/records/truth-{{shard}}.tsv"),
    output:
        report(
            f"{RESULTS}/{{cohort}}/truth_strain.tsv",
            caption="../report/truth_strain.rst",
            category="Cohorts",
            subcategory="{cohort}",
        ),
    log:
        f"{RESULTS}/logs/{{cohort}}/truth_table.log",
    params:
        script=f"{SCRIPTS}/merge_tables.py",
    localrule: True
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "python {params.script} --out {output} {input} 2> {log}"


rule check_inputs:
    """Stop the run, listing every bad subject, unless the cohort says `on_bad_input: exclude`."""
    input:
        shard_files(f"{RESULTS}/{{cohort}}/records/qc-{{shard}}.tsv"),
    output:
        f"{RESULTS}/{{cohort}}/inputs.ok",
    log:
        f"{RESULTS}/logs/{{cohort}}/check_inputs.log",
    params:
        script=f"{SCRIPTS}/check_inputs.py",
        cohort=cohort_config,
    localrule: True
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "python {params.script} --cohort {params.cohort:q} --out {output} {input} 2> {log}"


rule cohort_index:
    """One row per canonical record: subject, slice, group, spacing, frames, flags, shard."""
    input:
        shard_files(f"{RESULTS}/{{cohort}}/records/index-{{shard}}.tsv"),
    output:
        report(
            f"{RESULTS}/{{cohort}}/index.tsv",
            caption="../report/index.rst",
            category="Cohorts",
            subcategory="{cohort}",
        ),
    log:
        f"{RESULTS}/logs/{{cohort}}/cohort_index.log",
    params:
        script=f"{SCRIPTS}/merge_tables.py",
    localrule: True
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "python {params.script} --out {output} {input} 2> {log}"
