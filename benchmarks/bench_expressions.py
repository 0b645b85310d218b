"""Evaluator benchmark: median time of one evaluation of typical flow expressions.

Each expression is parsed, checked and compiled once, then evaluated many times against one
object, the way the engine runs a flow for object after object. The target for typical flows is
a median of at most 2 µs per evaluation. The last line printed is one JSON object.

    python benchmarks/bench_expressions.py [--runs 20000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncrules.diagnostics import DiagnosticSink  # noqa: E402
from syncrules.evaluate import EvalContext, compile_expr  # noqa: E402
from syncrules.semantic.expressions import ExprEnv, lower_expression  # noqa: E402
from syncrules.syntax.parser import parse_expression  # noqa: E402

TYPES = {
    "givenName": "str",
    "displayName": "str",
    "a": "str",
    "b": "str",
    "mail": "str",
    "userAccountControl": "num",
    "proxyAddresses": "mvstr",
    "objectGUID": "bin",
    "pwdLastSet": "num",
}
OBJECT = {
    "givenName": "  Ada ",
    "displayName": "  Ada Lovelace  ",
    "a": "x",
    "mail": "ada@contoso.com",
    "userAccountControl": 514,
    "proxyAddresses": ["SMTP:ada@contoso.com", "SIP:ada@contoso.com", "smtp:ada@fabrikam.com"],
    "objectGUID": bytes(range(16)),
    "pwdLastSet": 130540796930000000,
}
TYPICAL = [
    "Trim([givenName])",
    "IIF(IsPresent([a]),[a],[b])",
    "Left(Trim([displayName]),448)",
    "IIF(BitAnd([userAccountControl],2)=0,True,False)",
    'IIF(IsNullOrEmpty([mail]),NULL,[mail] & "x")',
    "ConvertToBase64([objectGUID])",
]
HEAVIER = [
    'IIF(InStr([proxyAddresses],"SIP:")=1,NULL,[proxyAddresses])',
    'IIF(IsPresent([pwdLastSet]),CStr(FormatDateTime(DateFromNum([pwdLastSet]),"yyyyMMddHHmmss.0Z")),NULL)',
    'Mid(Item([proxyAddresses],Contains([proxyAddresses],"SMTP:")),6)',
]


def measure(text: str, runs: int) -> float:
    sink = DiagnosticSink()
    tree = parse_expression(text, sink)
    node = lower_expression(tree, ExprEnv(attributes=TYPES), sink) if tree is not None else None
    if node is None:
        raise SystemExit(f"{text}: {sink.sorted()}")
    fn = compile_expr(node)
    ctx = EvalContext(OBJECT)
    samples = []
    for _ in range(9):
        start = time.perf_counter()
        for _ in range(runs):
            fn(ctx)
        samples.append((time.perf_counter() - start) / runs * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20000)
    args = parser.parse_args()
    results = {}
    for text in TYPICAL + HEAVIER:
        results[text] = round(measure(text, args.runs), 3)
        print(f"{results[text]:8.3f} µs  {text}")
    typical = statistics.median(results[t] for t in TYPICAL)
    print(json.dumps({"median_typical_us": typical, "target_us": 2.0, "per_expression_us": results}))


if __name__ == "__main__":
    main()
