"""Preprocessing: LV ROI, crop and resampling to the network grid, frame count, intensity, splits.

``pipeline`` composes the steps per record and per shard; each step is its own module so that the
phantom, the readers and later methods (other crop sizes, frame counts) can reuse it.
"""
