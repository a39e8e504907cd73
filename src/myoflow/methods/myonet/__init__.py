"""MyoNet / ResMyoNet (paper 000): cine -> displacement -> strain -> agreement statistics.

The unit's entry point is ``METHOD`` (``myoflow.methods.myonet.method``), named in
``myoflow.registry.METHODS``; docs/myonet.md describes the method and its settings.
"""
