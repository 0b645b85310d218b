"""Lint configuration: ``[lint]`` in syncrules.toml plus the command line, resolved once.

    [lint]
    select = ["ALL"]                  # codes, names, categories or "ALL" (default: ALL)
    ignore = ["style", "SL402"]
    fail-on = "warning"               # error (default) | warning | info
    docs-url = "https://example.org/rules/{code}.html"

    [lint.rules.SL402]                # or [lint.rules.uncapped-indexed-string]
    severity = "warning"              # error | warning | info
    max-lengths = { employeeID = 16 }

    [lint.per-file-ignores]
    "legacy/*.sync" = ["style", "SL101"]

    [options]                         # shared with the project file (syncrules/project)
    deletion_threshold = 0            # 0 = the export deletion threshold is off (default 500)

Selection follows Ruff: the command line's ``--select`` replaces the file's ``select``;
``--ignore`` adds to ``ignore``. When a rule matches both a select and an ignore selector, the
more specific selector wins (code or name, then category, then ALL); at equal specificity,
ignore wins.

Errors in the file become :class:`ConfigError` with a line number, which the command reports as
an SL901 diagnostic pointing into syncrules.toml (never a traceback).
"""

from __future__ import annotations

import fnmatch
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncrules.diagnostics.model import Severity
from syncrules.lint.registry import CATEGORIES, DEFAULT_DOCS_URL, LintRule, all_rules, lookup

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_NAME = "syncrules.toml"
SEVERITIES = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO}
DEFAULT_DELETION_THRESHOLD = 500

_LINT_KEYS = {"select", "ignore", "fail-on", "docs-url", "rules", "per-file-ignores"}


class ConfigError(Exception):
    """A problem with syncrules.toml or a command-line option, with where it is."""

    def __init__(self, message: str, path: Path | None = None, line: int = 0, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column


@dataclass
class LintSettings:
    rules: list[LintRule]  # the enabled rules, sorted by code
    severity: dict[str, Severity] = field(default_factory=dict)  # per-code overrides
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-code, defaults merged
    per_file_ignores: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    deletion_threshold: int = DEFAULT_DELETION_THRESHOLD
    docs_url: str = DEFAULT_DOCS_URL
    fail_on: str | None = None
    config_path: Path | None = None

    @property
    def root(self) -> Path | None:
        return self.config_path.parent if self.config_path else None

    @property
    def enabled_codes(self) -> frozenset[str]:
        return frozenset(r.code for r in self.rules)

    def severity_of(self, rule: LintRule) -> Severity:
        return self.severity.get(rule.code, rule.severity)

    def options_of(self, rule: LintRule) -> dict[str, Any]:
        return self.options.get(rule.code, rule.default_options)

    def threshold_for(self, connector: str) -> int:
        """The export deletion threshold (0 = off); one setting for every connector."""
        return self.deletion_threshold

    def ignored_in_file(self, file: str) -> frozenset[str]:
        """Codes ignored for a file by ``per-file-ignores`` (patterns relative to the config)."""
        if not self.per_file_ignores:
            return frozenset()
        candidates = {file.replace("\\", "/")}
        path = Path(file)
        try:
            resolved = path.resolve()
            if self.root is not None:
                candidates.add(resolved.relative_to(self.root.resolve()).as_posix())
        except (ValueError, OSError):
            pass
        candidates.add(path.name)
        out: set[str] = set()
        for pattern, codes in self.per_file_ignores:
            if any(fnmatch.fnmatchcase(c, pattern) for c in candidates):
                out |= codes
        return frozenset(out)


# ---------------------------------------------------------------------------- discovery


def find_config(paths: list[str]) -> Path | None:
    """syncrules.toml in the directory of the first path (or that directory itself) or a parent."""
    start = Path(paths[0]) if paths else Path.cwd()
    start = start.resolve()
    if not start.is_dir():
        start = start.parent
    for d in (start, *start.parents):
        candidate = d / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def _line_of(text: str, needle: str) -> int:
    """Best-effort line number of a key in the file (TOML parsers do not keep positions)."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        if needle in line:
            return number
    return 1


_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_config(path: Path) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path.name}: {exc}", path, 0) from exc
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = _TOML_POS.search(message)
        if m:
            line, column = int(m.group(1)), int(m.group(2))
        elif "end of document" in message:
            line, column = max(1, len(text.rstrip("\n").splitlines())), 1
        else:
            line, column = 1, 1
        message = _TOML_POS.sub("", message).replace("(at end of document)", "at the end of the file").strip()
        raise ConfigError(f"{path.name} is not valid TOML: {message}", path, line, column) from exc


def _threshold(value: Any) -> int | None:
    """The export deletion threshold as written in ``[options]`` (shared with the project file):
    a count, or a percentage of the connector space such as ``"10%"``. Only "off" (0) matters
    to the linter, so a percentage is kept as its number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", value)
        if m:
            return 0 if float(m.group(1)) == 0 else max(1, int(float(m.group(1))))
    return None


# ---------------------------------------------------------------------------- resolution


def _specificity(selector: str) -> int:
    if selector == "ALL":
        return 0
    if selector in CATEGORIES:
        return 1
    return 2


def _matches(selector: str, rule: LintRule) -> bool:
    if selector == "ALL":
        return True
    if selector in CATEGORIES:
        return rule.category == selector
    return selector.upper() == rule.code or selector == rule.name


def validate_selector(selector: str) -> str | None:
    """Why a selector names no rule, or None when it is fine."""
    if not isinstance(selector, str):
        return f"{selector!r} is not a string"
    if selector == "ALL" or selector in CATEGORIES or lookup(selector) is not None:
        return None
    return (
        f"unknown rule or category {selector!r} (use a code like SL101, a rule name, one of "
        f"{', '.join(CATEGORIES)}, or ALL)"
    )


def _string_list(value: Any, key: str, path: Path | None, text: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"`{key}` must be a list of strings", path, _line_of(text, key))
    return list(value)


def resolve(
    cli_select: list[str] | None = None,
    cli_ignore: list[str] | None = None,
    config_path: Path | None = None,
) -> LintSettings:
    """Combine syncrules.toml (when given) and the command line into the settings for one run."""
    for sel in (*(cli_select or ()), *(cli_ignore or ())):
        why = validate_selector(sel)
        if why:
            raise ConfigError(why)
    data: dict[str, Any] = {}
    text = ""
    if config_path is not None:
        data, text = read_config(config_path)
    lint = data.get("lint", {})
    if not isinstance(lint, dict):
        raise ConfigError("`lint` must be a table", config_path, _line_of(text, "lint"))
    for key in lint:
        if key not in _LINT_KEYS:
            raise ConfigError(
                f"unknown key `{key}` in [lint] (known: {', '.join(sorted(_LINT_KEYS))})",
                config_path,
                _line_of(text, key),
            )

    def checked(selectors: list[str], key: str) -> list[str]:
        for sel in selectors:
            why = validate_selector(sel)
            if why:
                raise ConfigError(why, config_path, _line_of(text, f'"{sel}"'))
        return selectors

    file_select = checked(_string_list(lint["select"], "select", config_path, text), "select") if "select" in lint else None
    file_ignore = checked(_string_list(lint["ignore"], "ignore", config_path, text), "ignore") if "ignore" in lint else []
    select = cli_select if cli_select else (file_select if file_select is not None else ["ALL"])
    ignore = [*file_ignore, *(cli_ignore or [])]

    enabled: list[LintRule] = []
    for r in all_rules():
        best_sel = max((_specificity(s) for s in select if _matches(s, r)), default=-1)
        best_ign = max((_specificity(s) for s in ignore if _matches(s, r)), default=-1)
        if best_sel >= 0 and best_sel > best_ign:
            enabled.append(r)

    settings = LintSettings(rules=enabled, config_path=config_path)

    fail_on = lint.get("fail-on")
    if fail_on is not None:
        if fail_on not in SEVERITIES:
            raise ConfigError("`fail-on` must be error, warning or info", config_path, _line_of(text, "fail-on"))
        settings.fail_on = fail_on
    docs_url = lint.get("docs-url")
    if docs_url is not None:
        if not isinstance(docs_url, str) or "{code}" not in docs_url and "{name}" not in docs_url:
            raise ConfigError("`docs-url` must be a string containing {code} or {name}", config_path, _line_of(text, "docs-url"))
        settings.docs_url = docs_url

    rules_table = lint.get("rules", {})
    if not isinstance(rules_table, dict):
        raise ConfigError("`lint.rules` must be a table of rule tables", config_path, _line_of(text, "rules"))
    for key, table in rules_table.items():
        found = lookup(key)
        if found is None:
            raise ConfigError(f"[lint.rules.{key}]: unknown rule {key!r}", config_path, _line_of(text, key))
        if not isinstance(table, dict):
            raise ConfigError(f"[lint.rules.{key}] must be a table", config_path, _line_of(text, key))
        options = dict(found.default_options)
        for opt_key, value in table.items():
            if opt_key == "severity":
                if value not in SEVERITIES:
                    raise ConfigError(
                        f"[lint.rules.{key}] severity must be error, warning or info", config_path, _line_of(text, "severity")
                    )
                settings.severity[found.code] = SEVERITIES[value]
                continue
            opt = found.option(opt_key)
            if opt is None:
                known = ", ".join(o.name for o in found.options) or "none besides severity"
                raise ConfigError(
                    f"[lint.rules.{key}]: rule {found.code} has no option `{opt_key}` (options: {known})",
                    config_path,
                    _line_of(text, opt_key),
                )
            why = opt.check(value)
            if why:
                raise ConfigError(f"[lint.rules.{key}] `{opt_key}`: {why}", config_path, _line_of(text, opt_key))
            if isinstance(opt.default, dict):
                merged = dict(opt.default)
                merged.update(value)
                value = merged
            options[opt_key] = value
        settings.options[found.code] = options

    pfi = lint.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        raise ConfigError("`per-file-ignores` must be a table of pattern = [selectors]", config_path, _line_of(text, "per-file-ignores"))
    for pattern, selectors in pfi.items():
        sels = checked(_string_list(selectors, pattern, config_path, text), pattern)
        codes = frozenset(r.code for r in all_rules() for s in sels if _matches(s, r))
        settings.per_file_ignores.append((pattern, codes))

    options = data.get("options", {})
    if not isinstance(options, dict):
        raise ConfigError("`options` must be a table", config_path, _line_of(text, "options"))
    if "deletion_threshold" in options:
        value = options["deletion_threshold"]
        parsed = _threshold(value)
        if parsed is None:
            raise ConfigError(
                '`deletion_threshold` must be a whole number >= 0 or a percentage such as "10%" (0 = off)',
                config_path,
                _line_of(text, "deletion_threshold"),
            )
        settings.deletion_threshold = parsed
    return settings
