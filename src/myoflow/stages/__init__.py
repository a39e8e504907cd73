"""What each workflow rule does, as plain functions: read inputs, call the package, write atomically.

The scripts in ``scripts/`` only parse arguments and call one of these, so every rule's behaviour
is testable without Snakemake. ``cohort``: cohort and preprocessing rules; ``myonet``, ``myonet_evaluate``, ``myonet_report``: paper 000.
"""
