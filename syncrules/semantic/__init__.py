"""Semantic analysis: name resolution, type checking and rule-model validation, producing IR."""
