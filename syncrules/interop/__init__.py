"""Importers (and later exporters) between syncrules and other tools' configuration formats.

Each foreign format has its own sub-package (``aadconnect`` for Azure AD Connect / Entra Connect
Sync). Importers produce the syncrules AST and print it with the canonical formatter, so imported
files look exactly like hand-formatted ones and re-formatting them changes nothing.
"""
