"""What every method shares: the core that methods plug into and that never imports a method.

``core.train`` is the one trainer (resume, checkpoints, history, devices); a method supplies its
networks, loss and batches through the trainer's hooks.
"""
