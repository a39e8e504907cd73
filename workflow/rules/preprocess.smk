# Preprocessing profiles (crop, fov, frames2d, stack3d; README "Preprocessing"), one job per profile and
# shard; the cohort's QC table, its subject-level split and the NIfTI exports.
PROFILE_DIR = f"{RESULTS}/{{cohort}}/preprocessed/{{profile}}"


rule preprocess_shard:
    """Prepare every record of a shard the way one profile's method needs (crop, fov, frames2d,
    stack3d)."""
    input:
        f"{RESULTS}/{{cohort}}/records/shard-{{shard}}.h5",
    output:
        records=f"{PROFILE_DIR}/shard-{{shard}}.h5",
        index=f"{PROFILE_DIR}/index-{{shard}}.tsv",
        qc=f"{PROFILE_DIR}/qc-{{shard}}.tsv",
    log:
        f"{RESULTS}/logs/{{cohort}}/preprocess-{{profile}}-{{shard}}.log",
    params:
        script=f"{SCRIPTS}/preprocess_shard.py",
        options=profile_config,
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(3000),
        runtime=runtime_min(30),
    shell:
        "python {params.script} --profile {wildcards.profile} --options {params.options:q}"
        " --input {input} --records {output.records} --index {output.index} --qc {output.qc}"
        " 2> {log}"


rule profile_index:
    """One row per slice a profile wrote: subject, slice, group, spacing, frames, flags, shard."""
    input:
        shard_files(f"{PROFILE_DIR}/index-{{shard}}.tsv"),
    output:
        f"{PROFILE_DIR}/index.tsv",
    log:
        f"{RESULTS}/logs/{{cohort}}/profile_index-{{profile}}.log",
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


rule qc_table:
    """Every excluded or flagged slice of the cohort with its stage and reason."""
    input:
        ingest=shard_files(f"{RESULTS}/{{cohort}}/records/qc-{{shard}}.tsv"),
        preprocess=profile_qc_files,
    output:
        report(
            f"{RESULTS}/{{cohort}}/qc.tsv",
            caption="../report/qc.rst",
            category="Cohorts",
            subcategory="{cohort}",
        ),
    log:
        f"{RESULTS}/logs/{{cohort}}/qc_table.log",
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
        "python {params.script} --out {output} {input.ingest} {input.preprocess} 2> {log}"


rule split:
    """Subject-level train/val/test split of the records (every profile and method shares it)."""
    input:
        index=f"{RESULTS}/{{cohort}}/index.tsv",
        checked=f"{RESULTS}/{{cohort}}/inputs.ok",
    output:
        report(
            f"{RESULTS}/{{cohort}}/splits.tsv",
            caption="../report/splits.rst",
            category="Cohorts",
            subcategory="{cohort}",
        ),
    log:
        f"{RESULTS}/logs/{{cohort}}/split.log",
    params:
        script=f"{SCRIPTS}/make_split.py",
        train=CONFIG["split"]["train"],
        val=CONFIG["split"]["val"],
        test=CONFIG["split"]["test"],
        seed=CONFIG["seed"],
    localrule: True
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "python {params.script} --index {input.index} --out {output}"
        " --fractions {params.train} {params.val} {params.test} --seed {params.seed} 2> {log}"


rule export_nifti:
    """NIfTI copies of one shard's usable images, masks and displacements, spacing kept."""
    input:
        shard=f"{RESULTS}/{{cohort}}/{{stage}}/shard-{{shard}}.h5",
        qc=f"{RESULTS}/{{cohort}}/preprocessed/crop/qc-{{shard}}.tsv",
    output:
        directory(f"{RESULTS}/{{cohort}}/nifti/{{stage}}/shard-{{shard}}"),
    log:
        f"{RESULTS}/logs/{{cohort}}/nifti-{{stage}}-{{shard}}.log",
    params:
        script=f"{SCRIPTS}/export_nifti.py",
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000),
        runtime=runtime_min(30),
    shell:
        "python {params.script} --input {input.shard} --qc {input.qc} --out {output}"
        " 2> {log}"
