"""Performance rules (SL4xx) that are not about joins (see joins.py for SL401)."""

from __future__ import annotations

from syncrules.diagnostics.model import Label, Severity
from syncrules.ir import nodes as ir
from syncrules.lint import exprs
from syncrules.lint.context import LintContext
from syncrules.lint.registry import Option, rule

# Longest values of common Active Directory attributes (the schema's rangeUpper; bytes for binary
# attributes), and of the Entra ID attributes the default rules read back (sourceAnchor is limited
# to 60 characters, usageLocation is a two-letter country code, cloudAnchor is "<Type>_<GUID>").
# Attributes not listed have an unknown length (see the `unknown-is-unbounded` option).
AD_MAX_LENGTHS = {
    "cloudAnchor": 64,
    "sourceAnchor": 60,
    "usageLocation": 2,
    "c": 3,
    "cn": 64,
    "co": 128,
    "company": 64,
    "department": 64,
    "description": 1024,
    "displayName": 256,
    "employeeID": 16,
    **{f"extensionAttribute{i}": 1024 for i in range(1, 16)},
    "facsimileTelephoneNumber": 64,
    "givenName": 64,
    "homePhone": 64,
    "info": 1024,
    "initials": 6,
    "ipPhone": 64,
    "l": 128,
    "mail": 256,
    "mailNickname": 64,
    "middleName": 64,
    "mobile": 64,
    "mS-DS-ConsistencyGuid": 16,
    "objectGUID": 16,
    "objectSid": 68,
    "otherFacsimileTelephoneNumber": 64,
    "otherHomePhone": 64,
    "otherIpPhone": 64,
    "otherMobile": 64,
    "otherPager": 64,
    "otherTelephone": 64,
    "pager": 64,
    "physicalDeliveryOfficeName": 128,
    "postalCode": 40,
    "proxyAddresses": 1123,
    "sAMAccountName": 256,
    "sn": 64,
    "st": 128,
    "streetAddress": 1024,
    "telephoneNumber": 64,
    "title": 128,
    "userPrincipalName": 1024,
    "wWWHomePage": 2048,
}


def _flow_length(f: ir.Flow, lengths: dict[str, int], unknown: int | None) -> int | None:
    if f.kind == "constant":
        return len(f.constant or "")
    if f.kind == "direct":
        found = [lengths.get(s, unknown) for s in f.sources]
        return None if not found or any(x is None for x in found) else max(found)  # type: ignore[type-var]
    if f.expr is not None:
        return exprs.max_length(f.expr, lengths, unknown=unknown)
    return unknown


@rule(
    "SL402",
    "uncapped-indexed-string",
    "performance",
    Severity.INFO,
    "A string flow into an indexed metaverse attribute that can exceed the index limit, without a Left(..., 448) cap.",
    options=(
        Option("limit", 448, "Longest value an indexed metaverse string attribute can hold."),
        Option(
            "max-lengths",
            dict(AD_MAX_LENGTHS),
            "Longest value of connector attributes (merged with the built-in Active Directory table).",
        ),
        Option(
            "unknown-is-unbounded",
            False,
            "Report flows whose length cannot be bounded (sources missing from `max-lengths`), not only "
            "those known to exceed the limit.",
        ),
    ),
)
def uncapped_indexed_string(ctx: LintContext) -> None:
    limit = int(ctx.options["limit"])
    lengths = {str(k): int(v) for k, v in dict(ctx.options["max-lengths"]).items()}
    unknown = None if ctx.options["unknown-is-unbounded"] else 0
    for r in ctx.enabled:
        if r.direction != "inbound":
            continue
        types = ctx.config.metaverse if r.target_type == "*" else [t for t in ctx.config.metaverse if t.name == r.target_type]
        uncapped: list[tuple[ir.Flow, int | None]] = []
        for f in r.flows:
            attr = next((a for t in types if (a := t.attribute(f.target)) is not None), None)
            if attr is None or not attr.indexed or attr.type != "string":
                continue
            bound = _flow_length(f, lengths, unknown)
            if bound is None or bound > limit:
                uncapped.append((f, bound))
        if not uncapped:
            continue
        # One finding per rule: the default rules flow dozens of such attributes.
        first, bound = uncapped[0]
        if len(uncapped) == 1:
            longer = f"up to {bound} characters" if bound is not None else "values of unknown length"
            message = (
                f"`{first.target}` is indexed, so its values are limited to {limit} characters, "
                f"but this flow can give {longer}"
            )
        else:
            names = ", ".join(f"`{f.target}`" for f, _ in uncapped[:6])
            names += f" and {len(uncapped) - 6} more" if len(uncapped) > 6 else ""
            message = (
                f"{names} are indexed, so their values are limited to {limit} characters, but the "
                f"{len(uncapped)} flows of rule {r.name!r} can give longer values"
            )
        ctx.report(
            ctx.flow_target_span(r, first),
            message,
            labels=tuple(Label(f.origin, "also uncapped") for f, _ in uncapped[1:4] if f.origin is not None),
            help=f"cap the value: `Left(<value>, {limit})`, or set the source's real maximum length in "
            "`max-lengths` if it is shorter",
            note="a longer value fails the synchronization of the object",
        )
