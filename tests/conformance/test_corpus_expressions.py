"""Every expression of Microsoft's default rules (the Contoso export) parses, type-checks against
the export's own schema, and evaluates without an internal error on generated objects."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from syncrules.compiler import compile_paths
from syncrules.evaluate import EvalContext, compile_expr
from syncrules.interop.aadconnect.cli import run_import
from syncrules.ir import nodes as ir
from syncrules.runtime.values import EvalError
from syncrules.samples import sample_object
from tests.conftest import require_corpus


@pytest.fixture(scope="module")
def corpus_config(tmp_path_factory: pytest.TempPathFactory) -> ir.Config:
    out = tmp_path_factory.mktemp("contoso")
    code = run_import([str(require_corpus())], str(out), stdout=io.StringIO(), stderr=io.StringIO())
    assert code == 0
    result = compile_paths([Path(out)])
    errors = [d for d in result.diagnostics if d.severity >= 3]
    assert not errors, [f"{d.code} {d.message} {d.span}" for d in errors]
    assert result.config is not None
    return result.config


def _source_type(config: ir.Config, rule: ir.Rule) -> ir.ObjectType:
    if rule.direction == "inbound":
        conn = config.connector(rule.connector)
        assert conn is not None
        found = conn.object_type(rule.source_type)
    else:
        found = config.mv_type(rule.source_type)
    assert found is not None, rule.name
    return found


def _params(config: ir.Config, rule: ir.Rule) -> dict[str, str]:
    conn = config.connector(rule.connector)
    assert conn is not None
    params = {n: v for n, v in conn.parameters if v is not None}
    for part in conn.partitions[:1]:
        params.update({n: v for n, v in part.parameters if v is not None})
    params["Connector.ID"] = (conn.id or conn.name).strip("{}")
    return params


def test_all_391_expressions_type_check(corpus_config: ir.Config) -> None:
    flows = [f for r in corpus_config.rules for f in r.flows if f.kind == "expression"]
    assert len(flows) == 391
    assert all(f.expr is not None for f in flows)


def test_expressions_evaluate_on_generated_objects(corpus_config: ir.Config) -> None:
    evaluated = 0
    user_errors = 0
    for rule in corpus_config.rules:
        source = _source_type(corpus_config, rule)
        params = _params(corpus_config, rule)
        objects = []
        for n, kind in enumerate(("user", "group", "contact")):
            full = sample_object(source, kind, n + 1)
            objects.append(full)
            # A sparse variant: about half the attributes absent, to walk the NULL paths.
            rng = random.Random(f"{rule.name}:{kind}")
            objects.append({k: v for k, v in full.items() if rng.random() < 0.5})
        for flow in rule.flows:
            if flow.expr is None:
                continue
            fn = compile_expr(flow.expr)
            for attrs in objects:
                ctx = EvalContext(attrs, params, object_id=rule.name)
                try:
                    fn(ctx)
                except EvalError:
                    user_errors += 1  # Error("...") and conversion failures are per-object errors, by design
                evaluated += 1
    assert evaluated == 391 * 6
    # Guards such as Error("AccountName is not present") must fire on some sparse objects, not all.
    assert 0 < user_errors < evaluated // 4
