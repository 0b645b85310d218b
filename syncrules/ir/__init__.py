"""The intermediate representation (see :mod:`syncrules.ir.nodes`)."""
