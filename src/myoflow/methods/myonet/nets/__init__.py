"""MyoNet and ResMyoNet (paper 000, section 2.4), named in ``myoflow.registry.NETS``."""
