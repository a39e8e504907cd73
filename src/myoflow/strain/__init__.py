"""Myocardial strain: dense Green-Lagrange strain from displacement, and AHA segmentation."""
