"""The tag trackers' validation on the phantom (HARP, SinMod against the exact motion).

A unit of its own, run by ``workflow/rules/tracking_validation.smk`` when
``tracking_validation.enabled``: ``sweep`` plans the cells and their phantom slices,
``scoring`` scores one slice, ``validation`` drives the sweep and aggregates, ``report`` writes
the table and the figure. It is not an experiment method (it trains nothing), so it has no
``Method`` and no registry entry.
"""
