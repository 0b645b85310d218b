"""Fixture directories: LDIF, JSON/YAML and CSV exports of real directories, typed by the schema.

A fixture is the content of one connected directory. Content records make a full snapshot;
change records (LDIF ``changetype``, JSON/YAML ``changes``) make a delta import. Values are
converted to the attribute types the connector declares (binary, number, boolean, datetime,
reference, multi-valued). Anything that does not fit is a diagnostic with file:line, and a fixture
with any error is not used at all: nothing is half-imported.

LDIF parsing uses the ``ldif`` package (RFC 2849: folding, base64 values, comments; URL values are
never fetched). It does not model the ``-`` separators of modify records, so those lines are
renamed to a synthetic attribute before parsing and interpreted here.
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as _dt
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncrules.diagnostics import DiagnosticSink
from syncrules.engine.directory import ChangeRecord, ImportRecord
from syncrules.engine.spaces import normalize_dn
from syncrules.ir import nodes as ir
from syncrules.source import SourceFile, Span

MAX_FIXTURE_BYTES = 256 * 1024 * 1024
_SEP = "x-syncrules-separator"


@dataclass
class Fixture:
    records: list[ImportRecord] = field(default_factory=list)
    changes: list[ChangeRecord] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # source line of each record

    def add(self, record: ImportRecord, line: int) -> None:
        self.records.append(record)
        self.lines.append(line)


class _Typer:
    """Converts raw fixture values to the connector schema's types, reporting misfits."""

    def __init__(self, connector: ir.Connector, source: SourceFile, sink: DiagnosticSink) -> None:
        self.connector = connector
        self.types = {o.name: o for o in connector.object_types}
        self.lower_types = {o.name.lower(): o.name for o in connector.object_types}
        self.source = source
        self.sink = sink
        self.errors = 0

    def span(self, line: int) -> Span:
        lines = self.source.text.split("\n")
        line = max(1, min(line, len(lines)))
        start = sum(len(x) + 1 for x in lines[: line - 1])
        return self.source.span(start, start + len(lines[line - 1]))

    def error(self, line: int, message: str, help: str | None = None) -> None:
        self.errors += 1
        self.sink.error("SR710", message, self.span(line), help=help)

    def object_type(self, names: list[str], line: int, dn: str) -> str | None:
        for name in reversed(names):  # objectClass lists the most specific class last
            found = self.lower_types.get(str(name).lower())
            if found:
                return found
        self.error(
            line,
            f"{dn!r} has no object type that connector {self.connector.name!r} declares (got {', '.join(map(str, names)) or 'none'})",
            help=f"declared object types: {', '.join(sorted(self.types))}",
        )
        return None

    def attributes(self, object_type: str, raw: dict[str, list[Any]], line: int, dn: str) -> dict[str, Any] | None:
        decl = self.types[object_type]
        by_lower = {a.name.lower(): a for a in decl.attributes}
        out: dict[str, Any] = {}
        ok = True
        for name, values in raw.items():
            attr = by_lower.get(name.lower())
            if attr is None:
                continue  # outside the attribute inclusion list: the connector does not import it
            typed = []
            for v in values:
                conv = self._convert(attr, v)
                if conv is _BAD:
                    ok = False
                    self.error(line, f"{dn!r}: {attr.name} = {_short(v)} is not a valid {attr.type}", help=_type_help(attr.type))
                    continue
                if conv is not None:
                    typed.append(conv)
            if not typed:
                continue
            if not attr.multi and len(typed) > 1:
                ok = False
                self.error(line, f"{dn!r}: {attr.name} is single-valued but has {len(typed)} values")
                continue
            out[attr.name] = typed if attr.multi else typed[0]
        return out if ok else None

    def anchor(self, object_type: str, attrs: dict[str, Any], given: Any, line: int, dn: str) -> str | None:
        if given not in (None, ""):
            return str(given)
        names = self.connector.anchor
        if not names:
            return normalize_dn(dn)
        parts = []
        for name in names:
            value = attrs.get(name)
            if value in (None, [], ""):
                self.error(line, f"{dn!r} has no anchor: the anchor attribute {name!r} is missing", help="every imported object needs its anchor value")
                return None
            if isinstance(value, list):
                value = value[0]
            parts.append(base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else str(value))
        return "|".join(parts)

    @staticmethod
    def _convert(attr: ir.AttributeType, v: Any) -> Any:
        t = attr.type
        if isinstance(v, dict) and set(v) == {"binary"}:
            v = v["binary"]
            if t != "binary":
                return _BAD
        try:
            if t == "binary":
                if isinstance(v, bytes):
                    return v
                return base64.b64decode(str(v), validate=True)
            if isinstance(v, bytes):
                v = v.decode("utf-8")
            if t == "string":
                return None if v == "" else str(v)
            if t == "number":
                if isinstance(v, bool):
                    return _BAD
                return int(v) if not isinstance(v, int) else v
            if t == "boolean":
                if isinstance(v, bool):
                    return v
                s = str(v).strip().lower()
                if s in ("true", "1"):
                    return True
                if s in ("false", "0"):
                    return False
                return _BAD
            if t == "reference":
                from syncrules.runtime.values import Ref

                return Ref(str(v))
            if t == "datetime":
                return _parse_time(str(v))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return _BAD
        return v


_BAD: Any = object()


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _type_help(t: str) -> str | None:
    return {
        "binary": "binary values are base64 (LDIF `attr:: ...`, JSON {\"binary\": \"...\"})",
        "number": "numbers are whole numbers",
        "boolean": "booleans are TRUE or FALSE",
        "datetime": "date/times are ISO-8601 or LDAP generalized time (20240101120000.0Z)",
    }.get(t)


def _parse_time(s: str) -> _dt.datetime:
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z", s)
    if m:
        return _dt.datetime(*map(int, m.groups()), tzinfo=_dt.timezone.utc)  # type: ignore[misc]
    parsed = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)


def _read(path: Path, sink: DiagnosticSink) -> SourceFile | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        sink.error("SR710", f"cannot read fixture {path}: {exc.strerror or exc}")
        return None
    if len(data) > MAX_FIXTURE_BYTES:
        sink.error("SR710", f"fixture {path} is larger than {MAX_FIXTURE_BYTES} bytes")
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = data.decode("utf-16").encode("utf-8")  # ldifde writes UTF-16 with -u
    try:
        return SourceFile(str(path), data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        sink.error("SR710", f"fixture {path} is not UTF-8 text (byte {exc.start})")
        return None


def load_fixture(
    path: Path,
    connector: ir.Connector,
    sink: DiagnosticSink,
    display: str | None = None,
    sources: dict[str, SourceFile] | None = None,
) -> Fixture | None:
    """Load one fixture file; its text is added to ``sources`` so diagnostics can quote it."""
    source = _read(path, sink)
    if source is None:
        return None
    if display:
        source = SourceFile(display, source.text)
    if sources is not None:
        sources[source.path] = source
    typer = _Typer(connector, source, sink)
    suffix = path.suffix.lower()
    if suffix == ".ldif":
        fixture = _load_ldif(source, typer)
    elif suffix in (".json", ".yaml", ".yml"):
        fixture = _load_structured(source, typer)
    elif suffix == ".csv":
        fixture = _load_csv(source, typer)
    else:
        sink.error("SR710", f"unknown fixture format {path.suffix!r} for {path.name}", help="use .ldif, .json, .yaml or .csv")
        return None
    if fixture is None or typer.errors:
        return None
    _check_duplicates(fixture, typer)
    return None if typer.errors else fixture


def _check_duplicates(fixture: Fixture, typer: _Typer) -> None:
    dns: dict[str, int] = {}
    anchors: dict[str, int] = {}
    for index, r in enumerate(fixture.records):
        line = fixture.lines[index] if index < len(fixture.lines) else 1
        key = normalize_dn(r.dn)
        if key in dns:
            typer.error(line, f"duplicate DN {r.dn!r} (also at line {fixture.lines[dns[key]]})")
        dns.setdefault(key, index)
        if r.anchor in anchors:
            typer.error(line, f"duplicate anchor {r.anchor!r} on {r.dn!r}")
        anchors.setdefault(r.anchor, index)


# ---------------------------------------------------------------------------- LDIF


def _record_lines(text: str) -> list[int]:
    """1-based line where each record starts (its dn: line)."""
    out = []
    for i, line in enumerate(text.split("\n"), start=1):
        if line.startswith("dn:"):
            out.append(i)
    return out


def _load_ldif(source: SourceFile, typer: _Typer) -> Fixture | None:
    import ldif

    lines = source.text.replace("\r\n", "\n").split("\n")
    starting = True  # the next attribute line starts a record (the package drops one without dn:)
    for number, ln in enumerate(lines, start=1):
        if not ln:
            starting = True
            continue
        if ln.startswith("#"):
            continue
        if not ln.startswith((" ", "-")) and ":" not in ln:
            typer.error(number, f"malformed LDIF line: expected `attribute: value`, got {_short(ln)}")
            return None
        if starting and not ln.lower().startswith(("dn:", "version:")):
            typer.error(number, f"an LDIF record must start with `dn:`, got {_short(ln)}")
            return None
        starting = False
    prepared = "\n".join(f"{_SEP}: -" if ln == "-" else ln for ln in lines)
    # strict=False: the package rejects DNs that are not LDAP-shaped (HR exports use plain ids);
    # structural problems still raise and are reported below.
    logging.getLogger("ldif").setLevel(logging.ERROR)
    parser = ldif.LDIFParser(io.BytesIO(prepared.encode("utf-8")), encoding=None, strict=False)
    starts = _record_lines(source.text)
    fixture = Fixture()
    index = 0
    try:
        for dn, entry in parser.parse():
            if dn is None and not entry:
                continue  # a lone `version: 1` block
            line = starts[index] if index < len(starts) else 1
            index += 1
            if dn is None:
                typer.error(line, "an LDIF record without `dn:`")
                continue
            attrs = {k: list(v) for k, v in entry.items()}
            changetype = attrs.pop("changetype", None)
            if changetype is None:
                _content(fixture, typer, dn, attrs, line)
            else:
                _change(fixture, typer, dn, changetype[0].decode("utf-8").lower(), attrs, line)
    except ValueError as exc:
        line = starts[index] if index < len(starts) else 1
        typer.error(line, f"malformed LDIF: {exc}")
        return None
    return fixture


def _content(fixture: Fixture, typer: _Typer, dn: str, attrs: dict[str, list[Any]], line: int) -> None:
    classes = [v.decode("utf-8") if isinstance(v, bytes) else v for v in _pop_ci(attrs, "objectClass")]
    object_type = typer.object_type(classes, line, dn)
    if object_type is None:
        return
    typed = typer.attributes(object_type, attrs, line, dn)
    if typed is None:
        return
    anchor = typer.anchor(object_type, typed, None, line, dn)
    if anchor is None:
        return
    fixture.add(ImportRecord(dn, object_type, anchor, typed), line)


def _pop_ci(attrs: dict[str, list[Any]], name: str) -> list[Any]:
    for key in list(attrs):
        if key.lower() == name.lower():
            return attrs.pop(key)
    return []


def _change(fixture: Fixture, typer: _Typer, dn: str, changetype: str, attrs: dict[str, list[Any]], line: int) -> None:
    if changetype == "delete":
        fixture.changes.append(ChangeRecord("delete", dn))
        return
    if changetype in ("modrdn", "moddn"):
        newrdn = _pop_ci(attrs, "newrdn")
        superior = _pop_ci(attrs, "newsuperior")
        if not newrdn:
            typer.error(line, f"modrdn of {dn!r} lacks `newrdn:`")
            return
        rdn = newrdn[0].decode("utf-8") if isinstance(newrdn[0], bytes) else newrdn[0]
        parent = (superior[0].decode("utf-8") if isinstance(superior[0], bytes) else superior[0]) if superior else _parent(dn)
        fixture.changes.append(ChangeRecord("rename", dn, new_dn=f"{rdn},{parent}" if parent else rdn))
        return
    if changetype == "add":
        classes = [v.decode("utf-8") if isinstance(v, bytes) else v for v in _pop_ci(attrs, "objectClass")]
        object_type = typer.object_type(classes, line, dn)
        if object_type is None:
            return
        typed = typer.attributes(object_type, attrs, line, dn)
        if typed is None:
            return
        anchor = typer.anchor(object_type, typed, None, line, dn)
        if anchor is not None:
            fixture.changes.append(ChangeRecord("add", dn, anchor, object_type, typed))
        return
    if changetype == "modify":
        # Sequence of (op: attr) then values, separated by "-" lines.
        ops: list[tuple[str, str, list[Any]]] = []
        current: tuple[str, str, list[Any]] | None = None
        raw_pairs = _ordered_pairs(attrs)
        for key, value in raw_pairs:
            text = value.decode("utf-8") if isinstance(value, bytes) else value
            if key == _SEP:
                current = None
            elif key.lower() in ("add", "delete", "replace") and current is None:
                current = (key.lower(), text, [])
                ops.append(current)
            elif current is not None and key.lower() == current[1].lower():
                current[2].append(value)
            else:
                typer.error(line, f"malformed modify record for {dn!r} near {key!r}")
                return
        fixture.changes.append(ChangeRecord("modify", dn, attrs={"__ops__": ops}))
        return
    typer.error(line, f"unknown changetype {changetype!r} for {dn!r}")


def _ordered_pairs(attrs: dict[str, list[Any]]) -> list[tuple[str, Any]]:
    """The ldif parser groups values by attribute; modify records need the original order, which
    it keeps per key. Interleave them back using the separator markers' positions."""
    pairs: list[tuple[str, Any]] = []
    # The parser preserves insertion order of keys and of values per key; for modify records the
    # op keys (add/replace/delete) and the separators appear in sequence, so rebuild by walking
    # op keys in order and attaching their values.
    ops = [(k, v) for k, vs in attrs.items() if k.lower() in ("add", "delete", "replace") for v in vs]
    values = {k.lower(): list(vs) for k, vs in attrs.items() if k.lower() not in ("add", "delete", "replace", _SEP)}
    for op, target in ops:
        name = target.decode("utf-8") if isinstance(target, bytes) else target
        pairs.append((op, target))
        for v in values.pop(name.lower(), []):
            pairs.append((name, v))
        pairs.append((_SEP, "-"))
    return pairs


def _parent(dn: str) -> str:
    depth = 0
    i = 0
    while i < len(dn):
        ch = dn[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "," and depth == 0:
            return dn[i + 1 :].strip()
        i += 1
    return ""


# ---------------------------------------------------------------------------- JSON / YAML


def _load_structured(source: SourceFile, typer: _Typer) -> Fixture | None:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node = yaml.compose(source.text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        typer.error((mark.line + 1) if mark else 1, f"malformed fixture: {getattr(exc, 'problem', exc)}")
        return None
    fixture = Fixture()
    if node is None:
        return fixture
    if not isinstance(node, yaml.MappingNode):
        typer.error(node.start_mark.line + 1, "a fixture is a mapping with `objects` (and optionally `changes`)")
        return None
    for key_node, value_node in node.value:
        key = key_node.value
        if key not in ("objects", "changes"):
            typer.error(key_node.start_mark.line + 1, f"unknown fixture key {key!r}", help="use `objects` and `changes`")
            continue
        if not isinstance(value_node, yaml.SequenceNode):
            typer.error(value_node.start_mark.line + 1, f"`{key}` must be a list")
            continue
        for item in value_node.value:
            line = item.start_mark.line + 1
            data = yaml.load(yaml.serialize(item), Loader=loader)  # noqa: S506 - safe loader
            if not isinstance(data, dict):
                typer.error(line, "each entry must be a mapping")
                continue
            if key == "objects":
                _structured_object(fixture, typer, data, line)
            else:
                _structured_change(fixture, typer, data, line)
    return fixture


def _as_lists(attributes: Any, typer: _Typer, line: int) -> dict[str, list[Any]] | None:
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        typer.error(line, "`attributes` must be a mapping")
        return None
    return {str(k): (v if isinstance(v, list) else [v]) for k, v in attributes.items() if v is not None}


def _structured_object(fixture: Fixture, typer: _Typer, data: dict[str, Any], line: int) -> None:
    dn = data.get("dn")
    if not isinstance(dn, str) or not dn:
        typer.error(line, "an object needs a `dn`")
        return
    type_name = data.get("type") or data.get("objectClass")
    names = type_name if isinstance(type_name, list) else [type_name] if type_name else []
    object_type = typer.object_type([str(n) for n in names], line, dn)
    if object_type is None:
        return
    raw = _as_lists(data.get("attributes"), typer, line)
    if raw is None:
        return
    typed = typer.attributes(object_type, raw, line, dn)
    if typed is None:
        return
    anchor = typer.anchor(object_type, typed, data.get("anchor"), line, dn)
    if anchor is None:
        return
    fixture.add(ImportRecord(dn, object_type, anchor, typed), line)


def _structured_change(fixture: Fixture, typer: _Typer, data: dict[str, Any], line: int) -> None:
    op = str(data.get("op", "")).lower()
    dn = data.get("dn")
    if not isinstance(dn, str) or not dn:
        typer.error(line, "a change needs a `dn`")
        return
    if op == "delete":
        fixture.changes.append(ChangeRecord("delete", dn))
    elif op == "rename":
        new_dn = data.get("new_dn")
        if not isinstance(new_dn, str):
            typer.error(line, f"the rename of {dn!r} needs `new_dn`")
            return
        fixture.changes.append(ChangeRecord("rename", dn, new_dn=new_dn))
    elif op in ("add", "modify"):
        if op == "add":
            before = len(fixture.records)
            _structured_object(fixture, typer, data, line)
            if len(fixture.records) > before:
                r = fixture.records.pop()
                fixture.lines.pop()
                fixture.changes.append(ChangeRecord("add", r.dn, r.anchor, r.object_type, r.attrs))
            return
        raw = _as_lists(data.get("attributes"), typer, line)
        if raw is None:
            return
        ops = [("replace", name, values) for name, values in raw.items()]
        for name in data.get("remove", []) or []:
            ops.append(("delete", str(name), []))
        fixture.changes.append(ChangeRecord("modify", dn, attrs={"__ops__": ops}))
    else:
        typer.error(line, f"unknown change op {op!r}", help="use add, modify, delete or rename")


# ---------------------------------------------------------------------------- CSV


def _load_csv(source: SourceFile, typer: _Typer) -> Fixture | None:
    reader = csv.DictReader(io.StringIO(source.text))
    fixture = Fixture()
    if not reader.fieldnames:
        return fixture
    types = list(typer.types)
    multi_sep = ";"
    for row_index, row in enumerate(reader, start=2):
        if None in row:
            typer.error(row_index, "this row has more fields than the header")
            continue
        type_name = row.pop("objectType", None) or row.pop("type", None) or (types[0] if len(types) == 1 else None)
        object_type = typer.object_type([type_name] if type_name else [], row_index, f"row {row_index}")
        if object_type is None:
            continue
        dn_value = row.pop("dn", None)
        decl = typer.types[object_type]
        raw: dict[str, list[Any]] = {}
        for name, value in row.items():
            if value is None or value == "":
                continue
            attr = decl.attribute(name)
            values = value.split(multi_sep) if attr is not None and attr.multi else [value]
            raw[name] = [v.strip() for v in values if v.strip()]
        typed = typer.attributes(object_type, raw, row_index, dn_value or f"row {row_index}")
        if typed is None:
            continue
        anchor = typer.anchor(object_type, typed, None, row_index, dn_value or f"row {row_index}")
        if anchor is None:
            continue
        fixture.add(ImportRecord(dn_value or anchor, object_type, anchor, typed), row_index)
    return fixture
