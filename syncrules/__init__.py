"""syncrules: a rule language, compiler and preview engine for identity-synchronization rules.

The public API is deliberately small; the command line (``syncrules.cli``) is built on it.
"""

from syncrules import native

native.install()  # the compiled modules, or their sources (decided when the first is imported)

__version__ = "0.1.0"

__all__ = ["__version__"]
