"""The canonical formatter (``syncrules fmt``)."""

from syncrules.fmt.printer import format_module

__all__ = ["format_module"]
