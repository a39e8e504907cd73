"""3D Attention M-net (paper 002): LV myocardium segmentation of mouse short-axis MR stacks."""
