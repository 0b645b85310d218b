"""The built-in function catalogue, loaded from ``stdlib/functions.yaml``.

The YAML file is the single declaration of every function: the type checker, the generated
``docs/functions.md`` and the declared-versus-implemented test all read it through this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

_SIG = re.compile(r"^\((?P<params>.*)\)\s*->\s*(?P<ret>\w+)$")


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class Overload:
    params: tuple[Param, ...]
    returns: str

    def signature(self, name: str) -> str:
        inner = ", ".join(f"{p.type} {p.name}" for p in self.params)
        return f"{name}({inner}) -> {self.returns}"


@dataclass(frozen=True, slots=True)
class FunctionDecl:
    name: str
    category: str
    deterministic: bool
    overloads: tuple[Overload, ...]
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    variadic: str | None = None
    doc: str = ""
    nulls: str = ""
    examples: tuple[dict[str, object], ...] = ()

    @property
    def arities(self) -> list[int]:
        return sorted({len(o.params) for o in self.overloads})


def _parse_overload(text: str) -> Overload:
    m = _SIG.match(text.strip())
    if not m:
        raise ValueError(f"bad overload signature: {text!r}")
    params: list[Param] = []
    body = m.group("params").strip()
    if body:
        for part in body.split(","):
            typ, name = part.strip().split(None, 1)
            params.append(Param(name.strip(), typ))
    return Overload(tuple(params), m.group("ret"))


@lru_cache(maxsize=1)
def load_catalogue() -> dict[str, FunctionDecl]:
    import yaml

    from syncrules.resources import data_path

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(data_path("stdlib", "functions.yaml"), encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=loader)  # noqa: S506 - safe loader
    out: dict[str, FunctionDecl] = {}
    for entry in data["functions"]:
        out[entry["name"]] = FunctionDecl(
            name=entry["name"],
            category=entry["category"],
            deterministic=bool(entry.get("deterministic", True)),
            overloads=tuple(_parse_overload(o) for o in entry["overloads"]),
            enums={k: tuple(v) for k, v in (entry.get("enums") or {}).items()},
            variadic=entry.get("variadic"),
            doc=(entry.get("doc") or "").strip(),
            nulls=(entry.get("nulls") or "").strip(),
            examples=tuple(entry.get("examples") or ()),
        )
    return out


@lru_cache(maxsize=1)
def lowercase_index() -> dict[str, str]:
    """Lower-cased name → real name, for "wrong casing" diagnostics."""
    return {name.lower(): name for name in load_catalogue()}
