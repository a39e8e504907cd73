"""Physics phantom: analytic LV motion, cine and SPAMM-tagged images, and synthetic cohorts.

Modules, one purpose each: ``timing`` (the contraction curve), ``motion`` (exactly
incompressible, exactly invertible wall motion with analytic strain), ``tagging`` (Bloch SPAMM
physics, shared with pseudo-tagged cine), ``anatomy`` (tissue layout in reference coordinates),
``images`` (rendering, blur, Rician noise), ``truth`` (displacement, landmarks, strain maps and
the segment table), ``species`` (presets and per-subject sampling), ``realism`` (the ideal and
realistic presets), ``heart`` (through-plane motion and the heart's shift in a still chest),
``groups`` (group sizes and effects) and ``cohort`` (config -> plan -> records).
"""

from myoflow.phantom.cohort import SliceSpec, generate, n_slices, plan
from myoflow.phantom.groups import GROUP_PRESETS
from myoflow.phantom.truth import truth_segment_table

__all__ = ["GROUP_PRESETS", "SliceSpec", "generate", "n_slices", "plan", "truth_segment_table"]
