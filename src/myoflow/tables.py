"""Column sets of the tidy tables that pass between the evaluation, statistics and report stages.

One row per observation, one column per variable, so that every later method (MyoNet, tagged
strain, segmentation) feeds the same statistics and report code. Strain is a fraction; the kind is
in the column name (``green`` = Green-Lagrange, ``eng`` = engineering). Identifiers:

* ``method``: what produced the displacement: ``reference`` (the experiment's training target:
  the cohort's provided displacement, the phantom's truth, or a tagged-image tracker), ``truth``
  (the phantom's exact motion, only where known), or a network name (``myonet``, ``resmyonet``),
  or ``zero`` (the trivial zero-displacement baseline).
* ``against``: what a metric compares to: ``reference`` or ``truth``.
* ``segment``: AHA segment number 1-16; 0 is the whole slice (global).
* ``split``: ``train``, ``val`` or ``test``.
"""

from __future__ import annotations

#: The ``method`` of the experiment's training target.
REFERENCE = "reference"
#: The ``method`` of the phantom's exact motion where it is not itself the reference.
TRUTH = "truth"
#: The ``method`` of the trivial zero-displacement baseline every accuracy is shown next to.
ZERO = "zero"

SLICE_ID = ["experiment", "cohort", "subject", "slice_id", "position", "group", "split"]

#: Per-frame strain curves: one row per slice x method x segment x frame.
STRAIN_CURVES = [
    *SLICE_ID,
    "method",
    "segment",
    "frame",
    "time_ms",
    "ecc_green",
    "err_green",
    "ecc_eng",
    "err_eng",
]

#: Summary strain: one row per slice x method x segment; ``es`` at the reference ES frame,
#: ``peak`` = the most negative Ecc and the most positive Err over the cycle.
STRAIN_SUMMARY = [
    *SLICE_ID,
    "method",
    "segment",
    "es_frame",
    "ecc_green_es",
    "err_green_es",
    "ecc_eng_es",
    "err_eng_es",
    "ecc_green_peak",
    "err_green_peak",
    "ecc_eng_peak",
    "err_eng_peak",
]

#: Displacement accuracy: one row per slice x method x against. SSIM of the x and y fields,
#: RMSE of x and y in mm and mean end-point error in mm, inside the ED myocardium, frames 1..T-1.
DISPLACEMENT_METRICS = [
    *SLICE_ID,
    "method",
    "against",
    "ssim_x",
    "ssim_y",
    "rmse_x_mm",
    "rmse_y_mm",
    "epe_mm",
]

#: Training history: one row per epoch.
HISTORY = [
    "epoch",
    "train_loss",
    "val_loss",
    "train_accuracy",
    "val_accuracy",
    "lr",
    "seconds",
]

#: Landmark position error of ``myoflow.metrics.landmarks``, per region of the 24 x 7 grid:
#: ``region`` is ``slice`` (all 168 landmarks, ``region_index`` 0), ``ring`` (point
#: ``region_index`` 0..6 of every line, endocardium to epicardium) or ``line`` (radial line
#: ``region_index`` 0..23 from the mid-septum). ``rmse_mm`` is the root mean squared Euclidean
#: distance (= hypot of ``rmse_x_mm`` and ``rmse_y_mm``), ``mean_distance_mm`` its plain mean.
LANDMARK_ERROR_COLUMNS = [
    "region",
    "region_index",
    "rmse_mm",
    "rmse_x_mm",
    "rmse_y_mm",
    "mean_distance_mm",
]

#: Landmark position error per frame: one row per slice x method x against x frame x region.
LANDMARK_FRAME_ERRORS = [
    *SLICE_ID,
    "method",
    "against",
    "frame",
    "time_ms",
    *LANDMARK_ERROR_COLUMNS,
]

#: Landmark position error of a tracking method per frame, the slice's 168 landmarks together
#: (``region`` is ``slice``), with the RMSE also in pixels of the image (``rmse_mm`` over the
#: mean pixel spacing): paper 003 quotes both.
LANDMARK_TRACKING_ERRORS = [*LANDMARK_FRAME_ERRORS, "rmse_px"]

#: Landmark position error pooled over the slice's valid frames (``n_frames`` of them): one row
#: per slice x method x against x region.
LANDMARK_ERRORS = [*SLICE_ID, "method", "against", "n_frames", *LANDMARK_ERROR_COLUMNS]

#: Landmark strain (``myoflow.strain.landmark_strain``, paper 003): radial and circumferential
#: strain of the subendocardial, mid-wall and subepicardial rings and their average, Green then
#: engineering, each frame against ED.
LANDMARK_STRAIN = [
    f"{part}_{kind}"
    for kind in ("green", "eng")
    for part in ("err", "ecc_endo", "ecc_mid", "ecc_epi", "ecc")
]

#: Landmark strain curves: one row per slice x method x segment x frame (acquired frames only);
#: ``es_frame`` is the slice's reference end-systolic frame, the same on every row of a slice.
LANDMARK_STRAIN_CURVES = [
    *SLICE_ID,
    "method",
    "segment",
    "frame",
    "time_ms",
    "es_frame",
    *LANDMARK_STRAIN,
]

#: Localisation (paper 003): one row per slice: the target box (the ED myocardium's extent,
#: enlarged) and the predicted one, ``x1, y1, x2, y2`` in pixels of the field of view, their
#: IoU, the fraction of the reference's ED landmarks inside the predicted box, and the IoU of
#: the box the tracker's crop was cut with (the predicted one, or a refined one).
ROI_BOXES = [
    *SLICE_ID,
    *(f"{which}_{corner}" for which in ("target", "pred") for corner in ("x1", "y1", "x2", "y2")),
    "iou",
    "landmarks_inside",
    "crop_iou",
]

#: Binary segmentation accuracy of ``myoflow.metrics.segmentation``: foreground pixel (voxel)
#: counts, overlap (Dice, Jaccard), boundary distance (Hausdorff and its 95th percentile, in
#: pixels and in mm) and the confusion-matrix rates. NaN where a ratio is 0/0 or a boundary is
#: missing (see the module for each case).
SEGMENTATION_COLUMNS = [
    "n_truth",
    "n_pred",
    "dice",
    "jaccard",
    "hd_px",
    "hd95_px",
    "hd_mm",
    "hd95_mm",
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
]

#: 2-D segmentation accuracy: one row per slice x method x against x frame.
SEGMENTATION_METRICS = [*SLICE_ID, "method", "against", "frame", *SEGMENTATION_COLUMNS]

#: Paper 001's per-image accuracy: one row per tagged frame x model (``method``), with the
#: frame's place in the cycle and the model's place in the paper's design (``kind``: pretrain,
#: tagged or baseline; ``strategy``: scratch, cine, physics, cyclegan; ``gamma``).
TAGSEG_SEGMENTATION = [
    *SLICE_ID,
    "method",
    "against",
    "frame",
    "time_ms",
    "is_ed",
    "is_es",
    "kind",
    "architecture",
    "strategy",
    "gamma",
    *SEGMENTATION_COLUMNS,
]

#: Paper 001's realism of a pseudo-tagged frame against the true tagged frame of the same heart
#: (the phantom): one row per frame x transform (``myoflow.methods.tagseg.realism``).
TAGSEG_REALISM_SCORES = [
    "ssim_heart",
    "spacing_mm_pseudo",
    "spacing_mm_real",
    "angle_deg_pseudo",
    "angle_deg_real",
    "modulation_pseudo",
    "modulation_real",
]
TAGSEG_REALISM = [*SLICE_ID, "transform", "frame", *TAGSEG_REALISM_SCORES]

#: Identifiers of a whole subject (a stack of slices) rather than one slice.
SUBJECT_ID = ["experiment", "cohort", "subject", "group", "split"]

#: 3-D segmentation accuracy of a subject's stack: one row per subject x method x against x frame.
VOLUME_SEGMENTATION_METRICS = [*SUBJECT_ID, "method", "against", "frame", *SEGMENTATION_COLUMNS]
