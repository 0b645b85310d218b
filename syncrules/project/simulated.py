"""The simulated directory behind each connector in a preview, seeded from its fixture.

It accepts exports like a real directory would (adds get a deterministic anchor), keeps what was
exported, and serves the confirming import. Change records from the fixture's ``changes`` file
are applied to it before a delta import, so the engine sees them exactly as a directory's change
log would report them.
"""

from __future__ import annotations

from typing import Any

from syncrules.engine.directory import ChangeRecord, ExportRejected, MemoryDirectory
from syncrules.ir import nodes as ir
from syncrules.project.fixtures import _BAD, Fixture, _Typer


class SimulatedDirectory(MemoryDirectory):
    def __init__(
        self, connector: ir.Connector, fixture: Fixture | None, rewrite: dict[str, Any] | None = None
    ) -> None:
        super().__init__(connector.name, rewrite)
        self.connector = connector
        self.pending_changes: list[ChangeRecord] = list(fixture.changes) if fixture else []
        if fixture is not None:
            for record in fixture.records:
                self.add(record.dn, record.object_type, record.attrs, record.anchor)
        self.read_all()  # seeding is not a change

    def apply_fixture_changes(self) -> list[str]:
        """Apply the fixture's change records to the directory; returns problems (not applied)."""
        problems: list[str] = []
        for change in self.pending_changes:
            try:
                if change.operation == "add":
                    self.add(change.dn, change.object_type or "object", change.attrs, change.anchor)
                elif change.operation == "delete":
                    self.delete(change.dn)
                elif change.operation == "rename":
                    self.rename(change.dn, change.new_dn or change.dn)
                elif change.operation == "modify":
                    self._modify_ops(change.dn, change.attrs.get("__ops__", []))
            except ExportRejected as exc:
                problems.append(f"{change.operation} {change.dn}: {exc}")
        self.pending_changes = []
        return problems

    def _modify_ops(self, dn: str, ops: list[tuple[str, str, list[Any]]]) -> None:
        entry = self._entry(dn)
        decl = self.connector.object_type(entry.object_type)
        changes: dict[str, Any] = {}
        for op, raw_name, values in ops:
            attr = decl.attribute(raw_name) if decl else None
            if attr is None:
                continue  # outside the inclusion list
            name = attr.name
            decoded = [_Typer._convert(attr, v) for v in values]
            if any(v is _BAD for v in decoded):
                raise ExportRejected(f"a value of {name} is not a valid {attr.type}")
            current = changes.get(name, entry.attrs.get(name))
            current_list = current if isinstance(current, list) else ([] if current is None else [current])
            if op == "replace":
                new: Any = decoded
            elif op == "add":
                new = current_list + [v for v in decoded if v not in current_list]
            else:  # delete
                new = [v for v in current_list if v not in decoded] if decoded else []
            if isinstance(current, list) or len(new) != 1:
                changes[name] = new or None
            else:
                changes[name] = new[0]
        self.modify(dn, changes)
