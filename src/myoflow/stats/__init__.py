"""Statistics shared by every method's report: agreement with a reference and group tests.

``agreement`` compares paired values of a method and a reference (ICC, Pearson, CV,
Bland-Altman); ``hypothesis`` holds the paired t-tests against the reference and the Welch tests
between groups, each with Bonferroni-adjusted p-values; ``ranksum`` the Wilcoxon rank-sum tests
between segmentation models (paper 002). All work on the tidy tables of
:mod:`myoflow.tables` so that MyoNet, tagged strain and segmentation share one implementation.
"""
