"""Accuracy metrics that compare a method's output with a reference, independent of any network.

``displacement`` scores a displacement field against the reference field (SSIM, RMSE, end-point
error) on the reference's ED myocardium, so that a network, a tracker and the zero baseline are
scored on the same material points and feed the same ``DISPLACEMENT_METRICS`` table.
``landmarks`` scores landmark positions (RMSE and mean distance in mm, per frame, ring and radial
line); ``segmentation`` scores binary masks per frame or per volume (Dice, Jaccard, Hausdorff
distances in pixels and mm, confusion-matrix rates, from MONAI).
"""
