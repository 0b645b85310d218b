"""The synchronization engine (connector spaces, metaverse, run profiles) as a Python API."""

from syncrules.engine.directory import (
    ChangeRecord,
    ConnectedDirectory,
    ExportOperation,
    ImportRecord,
    MemoryDirectory,
)
from syncrules.engine.engine import Engine, EngineOptions, StepResult

__all__ = [
    "ChangeRecord",
    "ConnectedDirectory",
    "Engine",
    "EngineOptions",
    "ExportOperation",
    "ImportRecord",
    "MemoryDirectory",
    "StepResult",
]
