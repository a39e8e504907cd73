# myoflow: cardiac MRI cohorts -> displacement, strain, segmentation, statistics, report.
# Thin on purpose: logic lives in src/myoflow, helpers in workflow/rules/common.smk.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/cohort.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/tracking.smk"
include: "workflow/rules/tracking_validation.smk"
include: "workflow/rules/experiments.smk"


# each registered method's own rules (its paper's tables and figures)
for _rules in method_rule_files():

    include: _rules


rule all:
    input:
        all_targets(),
    default_target: True
