"""Report: paper tables (TSV + Markdown) and figures (PNG + SVG) from the tidy tables.

Everything here consumes the column sets of :mod:`myoflow.tables` and knows nothing about any one
network: a method is just a string (``reference``, ``truth``, ``myonet``, ...), so every later
method reuses the same tables and figures. Every file is written atomically, so a killed job never
leaves a half-written table or image that a downstream rule or the HTML report would pick up.
"""
