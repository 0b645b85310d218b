"""Diagnostic codes of the importers: the ``SR8xx`` range.

Registered in the central registry (:mod:`syncrules.diagnostics.codes`); this module names them
for the importers. A few codes are emitted at a lower severity than registered when the loss is
harmless (noted in the summary).

Why a separate range: an importer reports problems with the *foreign* input (an XML export), or
facts the user must know about the translation (what could not be carried over), never problems
with ``.sync`` text. Users grep for these codes when reviewing an import.
"""

from __future__ import annotations

from syncrules.diagnostics.codes import CODES, CodeInfo

# The SR8xx entries live in the central registry; this view keeps the importers' imports short.
INTEROP_CODES: dict[str, CodeInfo] = {code: info for code, info in CODES.items() if code.startswith("SR8")}

UNREADABLE_EXPORT = "SR801"
UNRECOGNISED_EXPORT = "SR802"
MISSING_CONNECTOR = "SR803"
MISSING_METAVERSE = "SR804"
INVALID_EXPRESSION = "SR805"
INVALID_FIELD = "SR806"
RENAMED_APART = "SR807"
NOT_REPRESENTED = "SR808"
SOURCE_LIST_DIFFERS = "SR809"
DUPLICATE_OBJECT = "SR810"
ATTRIBUTE_NOT_IN_SCHEMA = "SR811"
UNREPRESENTABLE_TEXT = "SR812"
UNREPRESENTABLE_NAME = "SR813"
ROUND_TRIP_FAILURE = "SR814"
OUTPUT_PROBLEM = "SR815"
FOREIGN_OUTPUT_FILES = "SR816"
UNRESOLVED_SCRIPT_VALUE = "SR817"
RUNTIME_CONTROL_FLOW = "SR818"
UNSUPPORTED_SCRIPT_CONSTRUCT = "SR819"
RULE_NOT_ADDED = "SR820"
RULE_WITHOUT_IDENTIFIER = "SR821"
EXPORT_PLACEHOLDER = "SR822"
EXPORT_DERIVED_VALUE = "SR823"
