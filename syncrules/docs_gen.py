"""Generate ``docs/functions.md`` from the function catalogue.

The catalogue (``stdlib/functions.yaml``) is the one place a function is described; the reference
page is rendered from it so the two cannot drift, and ``tests/test_functions_doc.py`` fails when
the committed page is stale. Output is deterministic: fixed category order, functions sorted by
name, no timestamps.

Run ``python -m syncrules.docs_gen`` to rewrite the page, ``--check`` to only compare.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from syncrules.catalogue import FunctionDecl, load_catalogue

CATEGORY_ORDER = (
    ("text", "Text"),
    ("conversion", "Conversion"),
    ("datetime", "Date and time"),
    ("directory", "Directory"),
    ("evaluation", "Evaluation"),
    ("math", "Math"),
    ("multivalued", "Multi-valued"),
    ("flow", "Program flow"),
    ("certificate", "Certificate"),
    ("context", "Context"),
)

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "functions.md"


def render_value(value: Any) -> str:
    """An example value in the language's own notation (True, NULL, quoted text)."""
    if value is None:
        return "NULL"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if "binary" in value:
            return f"binary (Base64 {value['binary']})"
        if "datetime" in value:
            return f"dt {value['datetime']}"
        if "ref" in value:
            return f"ref {json.dumps(value['ref'], ensure_ascii=False)}"
        if "special" in value:
            return str(value["special"])
        if "value" in value:  # a typed attribute: {type: ..., value: ...}
            return render_value(value["value"])
    return str(value)


def _code(text: str) -> str:
    """Inline code that survives backticks inside the text."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _function_section(decl: FunctionDecl) -> list[str]:
    out = [f"### {decl.name}", "", "```"]
    out += [o.signature(decl.name) for o in decl.overloads]
    if decl.variadic == "pairs":
        out.append(f"{decl.name}(exp condition1, var value1, exp condition2, var value2, ...) -> var")
    out += ["```", ""]
    out += [decl.doc or "(not documented)", ""]
    if decl.nulls:
        out += [f"**NULL:** {decl.nulls}", ""]
    for enum, values in decl.enums.items():
        out += [f"`{enum}` is one of " + ", ".join(_code(v) for v in values) + ".", ""]
    if not decl.deterministic:
        out += ["Not deterministic: the value comes from the evaluation context (clock, seed).", ""]
    if decl.examples:
        out.append("Examples:")
        out.append("")
        for ex in decl.examples:
            line = f"- {_code(str(ex['expr']))} → {_code(render_value(ex.get('value')))}"
            attrs = ex.get("attrs")
            if isinstance(attrs, dict) and attrs:
                given = ", ".join(
                    f"{_code('[' + k + ']')} = {_code(render_value(v))}" for k, v in attrs.items()
                )
                line += f" when {given}"
            out.append(line)
        out.append("")
    return out


def render_functions_md() -> str:
    """The whole reference page as Markdown."""
    catalogue = load_catalogue()
    by_category: dict[str, list[FunctionDecl]] = {}
    for decl in catalogue.values():
        by_category.setdefault(decl.category, []).append(decl)
    known = {c for c, _ in CATEGORY_ORDER}
    unknown = sorted(set(by_category) - known)
    if unknown:
        raise ValueError(f"categories without a heading in docs_gen.CATEGORY_ORDER: {', '.join(unknown)}")
    overloads = sum(len(d.overloads) for d in catalogue.values())
    lines = [
        "# Built-in functions",
        "",
        "<!-- Generated from stdlib/functions.yaml by `python -m syncrules.docs_gen`; do not edit by hand. -->",
        "",
        f"{len(catalogue)} functions ({overloads} signatures). Function names are case-sensitive. "
        "What every function shares (multi-valued input, NULL, errors, operators) is described in "
        "[expressions.md](expressions.md); each entry below says what the function adds.",
        "",
        "Signatures read `Name(type parameter, ...) -> result type`; types are `str`, `num` (64-bit "
        "integer), `bool`, `bin`, `ref`, `dt` (UTC date), `mv...` (multi-valued), `var` (any), `exp` "
        "(a condition) and `enum` (a bare name such as `UTF8`).",
        "",
        "## Contents",
        "",
    ]
    ordered: list[tuple[str, list[FunctionDecl]]] = []
    for key, title in CATEGORY_ORDER:
        decls = sorted(by_category.get(key, []), key=lambda d: d.name.lower())
        if decls:
            ordered.append((title, decls))
            links = ", ".join(f"[{d.name}](#{d.name.lower()})" for d in decls)
            lines.append(f"- **{title}**: {links}")
    lines.append("")
    for title, decls in ordered:
        lines += [f"## {title}", ""]
        for decl in decls:
            lines += _function_section(decl)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render_functions_md()
    if "--check" in args:
        current = DOCS_PATH.read_text(encoding="utf-8") if DOCS_PATH.exists() else ""
        if current != text:
            print(f"{DOCS_PATH} is out of date; run: python -m syncrules.docs_gen", file=sys.stderr)
            return 1
        return 0
    DOCS_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DOCS_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
