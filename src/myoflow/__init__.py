"""myoflow: from cardiac MRI cohorts to myocardial displacement, strain and segmentation results.

The package holds all logic; the Snakemake workflow and the scripts in ``scripts/`` only call it.
Conventions every stage shares (units, array layouts, AHA segments) are documented in
``myoflow.record`` and in docs/architecture.md.
"""

__version__ = "0.1.0"
