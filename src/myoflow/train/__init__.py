"""Training: one loop for every network, with its data, paper 000 loss and device preparation."""
