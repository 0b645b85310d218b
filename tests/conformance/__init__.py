"""Conformance cases for the expression language (see README.md in this folder)."""
