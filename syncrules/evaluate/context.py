"""What an expression reads at run time: the object's attributes, parameters, imported values,
and the injected clock, random seed and GUID namespace.

Everything non-deterministic comes from here, so a preview or a test that fixes ``now``, ``seed``
and ``object_id`` gets the same ``Now()``, ``RandomNum()`` and ``Guid()`` every time, while two
objects (different ``object_id``) still get different random numbers and GUIDs.
"""

from __future__ import annotations

import datetime as _dt
import random
import uuid
from collections.abc import Mapping
from typing import Any

from syncrules.runtime.values import UTC

DEFAULT_GUID_NAMESPACE = uuid.UUID("5b1f7c3e-8a52-4f0e-9d3b-7c1f0a6e2d94")
"""Namespace of Guid() values when none is injected (a fixed, project-specific UUID)."""

_EMPTY: Mapping[str, Any] = {}


def _utc(now: _dt.datetime | None) -> _dt.datetime:
    if now is None:
        return _dt.datetime.now(UTC)
    tz = now.tzinfo
    if tz is UTC:
        return now  # (the engine's clock: one object, no conversion per evaluation context)
    if tz is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


class EvalContext:
    """The evaluation context of one object.

    ``attributes`` maps attribute names to values in the run-time model of
    :mod:`syncrules.runtime.values` (a list for multi-valued; an absent name or an empty list is
    NULL). ``imported`` holds the values last confirmed by import (``ImportedValue``); when it is
    not given, the current attributes stand in for it. ``value_counts`` overrides ``ValueCount``
    (for engines that know a count without materialising a large ``member`` list).
    """

    __slots__ = (
        "_guid_count",
        "_rng",
        "attributes",
        "guid_namespace",
        "imported",
        "now",
        "object_id",
        "parameters",
        "seed",
        "value_counts",
        "variables",
    )

    def __init__(
        self,
        attributes: Mapping[str, Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
        *,
        imported: Mapping[str, Any] | None = None,
        value_counts: Mapping[str, int] | None = None,
        now: _dt.datetime | None = None,
        seed: int = 0,
        guid_namespace: uuid.UUID = DEFAULT_GUID_NAMESPACE,
        object_id: str = "",
    ) -> None:
        self.attributes: Mapping[str, Any] = attributes if attributes is not None else _EMPTY
        self.parameters: Mapping[str, Any] = parameters if parameters is not None else _EMPTY
        self.imported = imported
        self.value_counts = value_counts
        self.now = _utc(now)
        self.seed = seed
        self.guid_namespace = guid_namespace
        self.object_id = object_id
        self.variables: dict[str, Any] = {}  # $name bindings of Select / Where / With
        self._rng: random.Random | None = None
        self._guid_count = 0

    # -------------------------------------------------------------- reads

    def attribute(self, name: str) -> Any:
        """The attribute's value, or None (absent and no-values are both NULL)."""
        value = self.attributes.get(name)
        if value.__class__ is list and not value:
            return None
        return value

    def parameter(self, name: str) -> Any:
        return self.parameters.get(name)

    def imported_value(self, name: str) -> Any:
        source = self.imported if self.imported is not None else self.attributes
        value = source.get(name)
        if value.__class__ is list and not value:
            return None
        return value

    def value_count(self, name: str) -> int:
        if self.value_counts is not None and name in self.value_counts:
            return int(self.value_counts[name])
        value = self.attributes.get(name)
        if value is None:
            return 0
        return len(value) if value.__class__ is list else 1

    # -------------------------------------------------------------- deterministic sources

    def random_int(self, low: int, high: int) -> int:
        """Inclusive on both ends; the sequence depends only on (seed, object_id)."""
        if self._rng is None:
            self._rng = random.Random(f"{self.seed}/{self.object_id}")
        return self._rng.randint(low, high)

    def new_guid(self) -> str:
        """Name-based (UUID version 5) GUIDs: unique per (namespace, seed, object_id, call number)."""
        self._guid_count += 1
        return str(uuid.uuid5(self.guid_namespace, f"{self.seed}/{self.object_id}/{self._guid_count}"))
