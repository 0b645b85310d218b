"""The syntax layer: Lark grammar → AST. Nothing from Lark escapes this package."""

from syncrules.syntax.parser import parse_expression, parse_module, parse_source

__all__ = ["parse_expression", "parse_module", "parse_source"]
