"""Context built-ins: ImportedValue and ValueCount read the object being synchronised.

Both name the attribute as a quoted string (``ImportedValue("proxyAddresses")``), the one place
where the language does not use ``[brackets]``; the evaluation context answers them.
"""

from __future__ import annotations

from typing import Any

from syncrules.builtins._common import builtin, to_text


@builtin("ImportedValue", 1, needs_ctx=True)
def imported_value(ctx: Any, attribute_name: Any) -> Any:
    """The value last confirmed by an import (not a pending export)."""
    return ctx.imported_value(to_text(attribute_name, "ImportedValue"))


@builtin("ValueCount", 1, needs_ctx=True)
def value_count(ctx: Any, attribute_name: Any) -> int:
    """How many values the attribute has (0 when absent)."""
    return ctx.value_count(to_text(attribute_name, "ValueCount"))  # type: ignore[no-any-return]
