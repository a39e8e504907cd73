"""Paper 003 (Ferdian et al. 2020): fully automated tagged-CMR strain, as a method unit."""
