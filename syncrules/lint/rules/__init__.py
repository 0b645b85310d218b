"""The lint rules, one module per family. Importing this package registers every rule."""

from syncrules.lint.rules import (  # noqa: F401 - imported for their @rule registrations
    compatibility,
    conflicts,
    expressions,
    flows,
    joins,
    parameters,
    performance,
    provisioning,
    safety,
    scoping,
    style,
)
