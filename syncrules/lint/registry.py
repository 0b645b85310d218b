"""The lint rule catalogue: every rule's identity, metadata and implementation.

A rule is a function decorated with :func:`rule`, which records its stable code (``SLxxx``), its
kebab-case name, its category, its default severity, a one-line summary and its options. The
catalogue is the single source for ``syncrules rules``, the SARIF rule metadata, configuration
validation (``select``/``ignore`` by code, name or category) and the test that every rule has a
doc page and tests: nothing else lists the rules, so they cannot drift apart.

Codes are grouped by category, like the compiler's ``SRxxx`` ranges:

* ``SL0xx`` the linter itself (suppressions)
* ``SL1xx`` conflict      -- rules that fight over the same object or attribute
* ``SL2xx`` correctness   -- rules that do not do what they say
* ``SL3xx`` safety        -- rules that can delete or block objects
* ``SL4xx`` performance
* ``SL5xx`` style
* ``SL6xx`` compatibility -- upgrades and Entra Connect conventions
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from syncrules.diagnostics.model import Diagnostic, Severity

if TYPE_CHECKING:
    from syncrules.lint.context import LintContext

CATEGORIES = ("correctness", "conflict", "safety", "performance", "style", "compatibility")

# Where rule pages are published; ``{code}`` and ``{name}`` are substituted. Overridable with
# ``[lint] docs-url`` in syncrules.toml (the pages themselves live in docs/rules/<code>.md).
DEFAULT_DOCS_URL = "https://github.com/syncrules/syncrules/blob/main/docs/rules/{code}.md"

_CODE = re.compile(r"^SL\d{3}$")
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class Option:
    """A rule option: its name (kebab-case, as written in syncrules.toml), default and meaning."""

    name: str
    default: Any
    help: str

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable for this option, or None when it is."""
        expected = type(self.default)
        if isinstance(self.default, bool):
            return None if isinstance(value, bool) else "expected true or false"
        if isinstance(self.default, (int, float)) and not isinstance(self.default, bool):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            return None if ok else "expected a number"
        if isinstance(self.default, list):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return "expected a list of strings"
            return None
        if isinstance(self.default, dict):
            return None if isinstance(value, dict) else "expected a table"
        return None if isinstance(value, expected) else f"expected a {expected.__name__}"


Check = Callable[["LintContext"], None]


@dataclass(frozen=True, slots=True)
class LintRule:
    code: str
    name: str
    category: str
    severity: Severity
    summary: str
    check: Check
    options: tuple[Option, ...] = ()
    # Cross-file rules need the whole configuration (precedence, scope overlap); per-file rules
    # look at one rule or flow at a time. Both run on the whole configuration (it is cheap), the
    # flag documents the rule and is shown by `syncrules rules`.
    scope: str = "file"  # "file" | "config"
    default_options: dict[str, Any] = field(default_factory=dict)

    def option(self, name: str) -> Option | None:
        for o in self.options:
            if o.name == name:
                return o
        return None

    def docs_url(self, template: str = DEFAULT_DOCS_URL) -> str:
        return template.format(code=self.code, name=self.name)


REGISTRY: dict[str, LintRule] = {}
BY_NAME: dict[str, LintRule] = {}


def rule(
    code: str,
    name: str,
    category: str,
    severity: Severity,
    summary: str,
    *,
    options: tuple[Option, ...] = (),
    scope: str = "file",
) -> Callable[[Check], Check]:
    """Register a lint rule. Validates the metadata at import time so a bad entry fails loudly."""
    if not _CODE.match(code):
        raise ValueError(f"bad lint code {code!r}")
    if not _NAME.match(name):
        raise ValueError(f"lint rule name {name!r} is not kebab-case")
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r} for {code}")
    if scope not in ("file", "config"):
        raise ValueError(f"bad scope {scope!r} for {code}")

    def wrap(fn: Check) -> Check:
        if code in REGISTRY or name in BY_NAME:
            raise ValueError(f"lint rule {code} / {name} registered twice")
        entry = LintRule(
            code,
            name,
            category,
            severity,
            summary,
            fn,
            options,
            scope,
            {o.name: o.default for o in options},
        )
        REGISTRY[code] = entry
        BY_NAME[name] = entry
        return fn

    return wrap


def all_rules() -> list[LintRule]:
    """Every registered rule, sorted by code (importing the rule modules on first use)."""
    import syncrules.lint.rules  # noqa: F401 - registers the rules

    return [REGISTRY[c] for c in sorted(REGISTRY)]


def lookup(selector: str) -> LintRule | None:
    all_rules()
    return REGISTRY.get(selector.upper()) or BY_NAME.get(selector)


# ---------------------------------------------------------------------------- tool-level codes
#
# Not rules (they cannot be selected or ignored): problems with the linter's own input.

CONFIG_ERROR = "SL901"
TOOL_CODES: dict[str, tuple[str, str]] = {
    CONFIG_ERROR: ("invalid-configuration", "syncrules.toml or a command-line option is not valid."),
}


@dataclass(frozen=True, slots=True)
class LintDiagnostic(Diagnostic):
    """A :class:`Diagnostic` produced by the linter.

    It carries its rule's name itself: the compiler's code registry does not list lint codes, and
    the renderers ask every diagnostic for ``name``.
    """

    rule_name: str = ""

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.rule_name


def code_name(code: str) -> str:
    """The kebab-case name of any code: lint rule, linter tool code or compiler code."""
    found = REGISTRY.get(code)
    if found is not None:
        return found.name
    if code in TOOL_CODES:
        return TOOL_CODES[code][0]
    from syncrules.diagnostics.codes import CODES

    info = CODES.get(code)
    return info.name if info else ""
