# Reference motion from tagged images: HARP or the SinMod-style tracker on every crop-profile
# slice of a shard (train, val and test all need it when an experiment's reference is a tracker).
# About 0.2 s per 128 x 128 x 20 slice on one core (HARP or SinMod), so a 200-slice shard takes
# a minute or two.


rule track_shard:
    """Track the tagged series of every record of one preprocessed shard; untrackable or rejected
    slices -> QC; every slice's quality scores -> the quality table."""
    input:
        f"{RESULTS}/{{cohort}}/preprocessed/crop/shard-{{shard}}.h5",
    output:
        records=f"{RESULTS}/{{cohort}}/tracking/{{tracker}}/shard-{{shard}}.h5",
        qc=f"{RESULTS}/{{cohort}}/tracking/{{tracker}}/qc-{{shard}}.tsv",
        quality=f"{RESULTS}/{{cohort}}/tracking/{{tracker}}/quality-{{shard}}.tsv",
    log:
        f"{RESULTS}/logs/{{cohort}}/track-{{tracker}}-{{shard}}.log",
    params:
        script=f"{SCRIPTS}/track_shard.py",
        options=tracker_options,
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(3000),
        runtime=runtime_min(30),
    shell:
        "python {params.script} --tracker {wildcards.tracker} --options {params.options:q}"
        " --shard {input} --out {output.records} --qc {output.qc} --quality {output.quality}"
        " --threads {threads} 2> {log}"


rule track_shard_on_predicted_masks:
    """Track every record of one preprocessed shard from the end-diastolic myocardium a
    segmentation model predicted (an experiment's `mask:`), not the record's drawn mask."""
    input:
        shard=f"{RESULTS}/{{cohort}}/preprocessed/crop/shard-{{shard}}.h5",
        masks=predicted_masks,
    output:
        records=f"{RESULTS}/{{cohort}}/tracking_on_masks/{{mask_exp}}/{{mask_model}}/{{tracker}}/shard-{{shard}}.h5",
        qc=f"{RESULTS}/{{cohort}}/tracking_on_masks/{{mask_exp}}/{{mask_model}}/{{tracker}}/qc-{{shard}}.tsv",
        quality=f"{RESULTS}/{{cohort}}/tracking_on_masks/{{mask_exp}}/{{mask_model}}/{{tracker}}/quality-{{shard}}.tsv",
    log:
        f"{RESULTS}/logs/{{cohort}}/track-{{tracker}}-{{mask_exp}}-{{mask_model}}-{{shard}}.log",
    params:
        script=f"{SCRIPTS}/track_shard.py",
        options=tracker_options,
    wildcard_constraints:
        mask_exp=EXPERIMENTS_RE,
        mask_model=MODELS_RE,
        tracker=TRACKERS_RE,
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(3000),
        runtime=runtime_min(30),
    shell:
        "python {params.script} --tracker {wildcards.tracker} --options {params.options:q}"
        " --shard {input.shard} --masks {input.masks} --out {output.records} --qc {output.qc}"
        " --quality {output.quality} --threads {threads} 2> {log}"


rule tracking_quality:
    """The tracker's quality scores over the cohort: the stacked table and its distribution."""
    input:
        shard_files(f"{RESULTS}/{{cohort}}/tracking/{{tracker}}/quality-{{shard}}.tsv"),
    output:
        tsv=f"{RESULTS}/{{cohort}}/tracking/{{tracker}}/quality.tsv",
        png=report(
            f"{RESULTS}/{{cohort}}/tracking/{{tracker}}/quality.png",
            caption="../report/tracking_quality.rst",
            category="Tracking",
            subcategory="{cohort}",
        ),
        svg=f"{RESULTS}/{{cohort}}/tracking/{{tracker}}/quality.svg",
    log:
        f"{RESULTS}/logs/{{cohort}}/tracking_quality-{{tracker}}.log",
    params:
        script=f"{SCRIPTS}/tracking_quality.py",
        out_dir=output_folder,
    localrule: True
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "python {params.script} --out-dir {params.out_dir}"
        " --title '{wildcards.cohort}, {wildcards.tracker}' {input} 2> {log}"
