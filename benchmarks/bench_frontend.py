"""Front-end benchmark: parse and check N generated rules shaped like the Entra Connect defaults.

Each rule has a scoping filter (two groups), join criteria on inbound provisioning rules, and
about 40 flows of which half are expressions taken from the shapes of the default rule set. The
last line printed is one JSON object with the metrics.

    python benchmarks/bench_frontend.py [--rules 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXPRESSIONS = [
    'IIF(IsPresent([{a}]), Trim([{a}]), NULL)',
    'Left(Trim([{a}]), 448)',
    'IIF(IsNullOrEmpty([{a}]), IgnoreThisFlow, [{a}] & "@" & %Domain.FQDN%)',
    'IIF(BitAnd([userAccountControl], 2) = 2, True, False)',
    'IIF(IsPresent([{a}]) || IsPresent([{b}]) = False, AuthoritativeNull, Word([{a}], 1, "@"))',
    'ConvertToBase64([objectGUID])',
    'CStr(BitAnd([userAccountControl], 16))',
    'IIF(InStr([{a}], "SIP:") = 1, NULL, [{a}])',
    'Replace(Trim([{a}]), " ", "")',
    'IIF(Len([{a}]) > 20, Left([{a}], 20), [{a}])',
]


def attr_names(n: int) -> list[str]:
    return [f"attr{i}" for i in range(n)]


def generate(rules: int, flows_per_rule: int = 40) -> str:
    attrs = attr_names(60)
    out = ["metaverse {", "  object person {"]
    out += [f"    {a} string" for a in attrs]
    out += ["    sourceAnchorBinary binary indexed", "    accountEnabled boolean", "  }", "}", ""]
    out += [
        'connector "contoso.com" {',
        "  kind active-directory",
        "  anchor objectGUID",
        '  parameter Domain.FQDN = "contoso.com"',
        "  object user {",
    ]
    out += [f"    {a} string" for a in attrs]
    out += [
        "    objectGUID binary",
        "    mS-DS-ConsistencyGuid binary",
        "    userAccountControl number",
        "    adminDescription string",
        "    isCriticalSystemObject boolean",
        "  }",
        "}",
        "",
    ]
    for r in range(rules):
        out.append(f'rule "In from AD - Generated {r:04d}" {{')
        out.append('  inbound from "contoso.com" user to person')
        out.append("  link provision" if r % 10 == 0 else "  link join")
        out.append(f"  precedence {100 + r}")
        out.append("  scope {")
        out.append('    isCriticalSystemObject NOTEQUAL "True" and')
        out.append('    adminDescription NOTSTARTSWITH "User_" and')
        out.append("    userAccountControl ISBITNOTSET 2")
        out.append(f'  }} or {{ {attrs[r % 60]} EQUAL "v{r}" }}')
        if r % 10 == 0:
            out.append("  join { mS-DS-ConsistencyGuid = sourceAnchorBinary } or { objectGUID = sourceAnchorBinary }")
        for f in range(flows_per_rule):
            target = attrs[f % 60]
            if f % 2:
                a, b = attrs[(f * 7 + r) % 60], attrs[(f * 3 + 1) % 60]
                out.append(f"  flow {target} <- {EXPRESSIONS[f % len(EXPRESSIONS)].format(a=a, b=b)}")
            else:
                out.append(f"  flow {target} <- {attrs[(f + r) % 60]}")
        out.append("}")
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=1000)
    args = parser.parse_args()

    from syncrules.diagnostics import DiagnosticSink
    from syncrules.semantic.analyze import analyze
    from syncrules.source import SourceFile
    from syncrules.syntax import parse_source
    from syncrules.syntax.parser import _parser

    text = generate(args.rules)
    _parser()  # grammar load is a one-off start-up cost, measured separately below

    t0 = time.perf_counter()
    sink = DiagnosticSink()
    module = parse_source(SourceFile("generated.sync", text), sink)
    t1 = time.perf_counter()
    assert module is not None, [d.message for d in sink.items]
    config = analyze([module], sink)
    t2 = time.perf_counter()
    errors = [d for d in sink.items if d.severity >= 3]
    assert not errors, errors[:3]

    # Cold `syncrules check examples/contoso` in a fresh process (median of 5).
    example = ROOT / "examples" / "contoso"
    cold: list[float] = []
    if example.exists():
        exe = [sys.executable, "-m", "syncrules", "check", str(example)]
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, PYTHONPATH=str(ROOT))
            for _ in range(5):
                s = time.perf_counter()
                subprocess.run(exe, cwd=tmp, env=env, capture_output=True, check=False)
                cold.append(time.perf_counter() - s)
    cold.sort()

    from syncrules.lint import measure

    lint = measure(config, [module])
    flows = sum(len(r.flows) for r in module.items if hasattr(r, "flows"))
    print(
        json.dumps(
            {
                "benchmark": "frontend",
                "rules": args.rules,
                "flows": flows,
                "source_bytes": len(text),
                "parse_s": round(t1 - t0, 3),
                "check_s": round(t2 - t1, 3),
                "total_s": round(t2 - t0, 3),
                "target_total_s": 5.0,
                **lint,
                "target_lint_s": 5.0,
                "cold_check_example_s": round(cold[len(cold) // 2], 3) if cold else None,
                "target_cold_check_s": 0.5,
            }
        )
    )


if __name__ == "__main__":
    main()
