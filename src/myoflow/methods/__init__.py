"""Method units: one package per published method on the shared core (docs/architecture.md).

``base`` is the interface the workflow calls; nothing outside this package imports a method's
package (a test keeps it so): the workflow finds a method through ``myoflow.registry.METHODS``.
"""
