"""Preprocessing: the profiles each method reads (LV crop, whole field of view, 2-D frames), splits.

``profiles`` names the profiles and runs one over a shard (``pipeline.run_shard``); each step is
its own module (ROI, crop and resampling, frame count, intensity, field of view, 2-D frames) so
that the phantom, the readers and later methods can reuse it.
"""
