"""The outcomes the example READMEs describe, asserted on real runs."""

from __future__ import annotations

from pathlib import Path

from syncrules.preview.session import open_project, run_cycle

ROOT = Path(__file__).resolve().parent.parent


def _session(name: str):  # type: ignore[no-untyped-def]
    opened = open_project(ROOT / "examples" / name)
    assert opened.session is not None, [d.message for d in opened.diagnostics]
    return opened.session


def _person(engine, connector: str, dn: str):  # type: ignore[no-untyped-def]
    obj = engine.spaces[connector].get_by_dn(dn)
    assert obj is not None and obj.mv_id is not None, dn
    return engine.mv.objects[obj.mv_id]


def test_fabrikam_two_forests_one_person() -> None:
    s = _session("fabrikam")
    steps = run_cycle(s, "initial", apply_exports=False)
    assert not [e for st in steps for e in st.errors]
    e = s.engine
    assert len(e.mv) == 6
    ana = _person(e, "fabrikam.com", "CN=Ana Silva,OU=Staff,DC=fabrikam,DC=com")
    mailbox = e.spaces["resources.fabrikam.com"].get_by_dn("CN=Ana Silva,OU=Mailboxes,DC=resources,DC=fabrikam,DC=com")
    assert mailbox is not None and mailbox.mv_id == ana.id  # the linked mailbox joined the account's person
    account = e.spaces["fabrikam.com"].get_by_dn("CN=Ana Silva,OU=Staff,DC=fabrikam,DC=com")
    import base64

    assert ana.attrs["sourceAnchor"] == base64.b64encode(account.attrs["objectGUID"]).decode()  # from the enabled account
    assert ana.lineage["sourceAnchor"].connector == "fabrikam.com"
    assert sorted(a.lower() for a in ana.attrs["proxyAddresses"]) == ["smtp:asilva@fabrikam.com", "smtp:asilva@fabrikam.onmicrosoft.com"]
    assert ana.attrs["mail"] == "asilva@fabrikam.com"
    erin = _person(e, "fabrikam.com", "CN=Erin Walsh,OU=Staff,DC=fabrikam,DC=com")
    assert erin.attrs["accountEnabled"] is False


def test_hr_to_ad_provisions_renames_deprovisions_and_stops_mass_delete() -> None:
    s = _session("hr-to-ad")
    run_cycle(s, "initial", apply_exports=False)
    ad = s.engine.spaces["corp.example.com"]
    adds = [o for o in ad if o.pending_export is not None and o.pending_export.operation == "add"]
    assert len(adds) == 20
    assert all(",OU=" in o.dn and o.dn.endswith("DC=corp,DC=example,DC=com") for o in adds)
    assert all(o.pending_export.changes["sAMAccountName"][1] for o in adds)  # type: ignore[union-attr]

    s = _session("hr-to-ad")
    steps = run_cycle(s, "delta", apply_exports=True)
    export = [st for st in steps if st.profile == "export" and st.connector == "corp.example.com"]
    assert export and export[0].status == "stopped-deletion-threshold-exceeded"
    deletes = [o for o in s.engine.spaces["corp.example.com"] if o.pending_export and o.pending_export.operation == "delete"]
    assert len(deletes) == 5

    s = _session("hr-to-ad")
    run_cycle(s, "delta", apply_exports=True, allow_deletes=5)
    d = s.directories["corp.example.com"]
    assert len(d.entries) == 15  # five terminated accounts were deleted
    assert all(not (o.pending_export) for o in s.engine.spaces["corp.example.com"])
