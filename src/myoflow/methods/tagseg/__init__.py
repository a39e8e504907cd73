"""Paper 001: myocardium segmentation in tagged CMR (method unit under construction)."""
