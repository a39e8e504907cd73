"""The tag trackers' validation on the phantom (HARP, SinMod against the exact motion).

A unit of its own, run by ``workflow/rules/tracking_validation.smk`` when
``tracking_validation.enabled``: ``grid`` holds the settings and names the cells (species x
realism x mask error x SNR x tag spacing), ``sweep`` plans a cell's phantom slices,
``mask_errors`` perturbs the mask a tracker is given, ``scoring`` and ``strain_accuracy`` score
one slice, ``validation`` runs cells and aggregates, ``cell_tables`` writes and reads one cell's
tables (one job per cell, then a merge), ``report_tables`` and ``report`` write the table and
the figure. It is not an experiment method (it trains nothing), so it has no ``Method`` and no
registry entry.
"""
