"""Plausible attribute values for an object type, generated from the schema.

Used to exercise every flow of a configuration without fixture data (the corpus conformance test,
the expression benchmark, ``syncrules eval`` demonstrations). Values are deterministic for a given
seed and shaped like real directory data where the attribute name says what it holds.
"""

from __future__ import annotations

import datetime as _dt
import random
import uuid
from typing import Any

from syncrules.ir import nodes as ir
from syncrules.runtime.values import Ref

_UTC = _dt.timezone.utc


def _sid(rng: random.Random) -> bytes:
    # S-1-5-21-a-b-c-rid as a binary SID
    subs = [21, rng.randrange(1 << 31), rng.randrange(1 << 31), rng.randrange(1 << 31), rng.randrange(1000, 100000)]
    return bytes([1, len(subs)]) + (5).to_bytes(6, "big") + b"".join(s.to_bytes(4, "little") for s in subs)


def _string(name: str, kind: str, n: int, rng: random.Random) -> str:
    low = name.lower()
    user = f"user{n}"
    if low in ("mail", "userprincipalname", "targetaddress") or low.endswith("mail"):
        return f"{user}@contoso.com"
    if low == "samaccountname":
        return user
    if low in ("mailnickname", "cn", "name"):
        return user
    if low in ("givenname",):
        return rng.choice(["Ada", "Grace", "Alan", "Edsger"])
    if low in ("sn", "surname"):
        return rng.choice(["Lovelace", "Hopper", "Turing", "Dijkstra"])
    if low == "displayname":
        return f"{kind.title()} {n}"
    if low in ("c", "co", "countrycode"):
        return "US"
    if "guid" in low or "anchor" in low:
        return str(uuid.UUID(int=rng.getrandbits(128)))
    if low.startswith("msexch") and "type" in low:
        return str(rng.choice([1, 2, 4]))
    if low in ("telephonenumber", "mobile", "facsimiletelephonenumber"):
        return f"+1 555 01{n % 100:02d}"
    if "sid" in low:
        return f"S-1-5-21-1-2-3-{1000 + n}"
    return f"{name}-{n}"


def _number(name: str, n: int) -> int:
    low = name.lower()
    if low == "useraccountcontrol":
        return 512
    if low == "grouptype":
        return -2147483646
    if low in ("pwdlastset", "accountexpires", "lastlogontimestamp"):
        return 130540796930000000
    if "count" in low:
        return 3
    return n % 7


def sample_value(attr: ir.AttributeType, kind: str, n: int, rng: random.Random) -> Any:
    t = attr.type
    low = attr.name.lower()
    if t == "string":
        if low == "proxyaddresses":
            one: Any = [f"SMTP:user{n}@contoso.com", f"smtp:user{n}@fabrikam.com", f"SIP:user{n}@contoso.com"]
        else:
            one = _string(attr.name, kind, n, rng)
    elif t == "number":
        one = _number(attr.name, n)
    elif t == "boolean":
        one = low not in ("iscriticalsystemobject", "cloudfiltered", "msexchhidefromaddresslists")
    elif t == "binary":
        one = _sid(rng) if "sid" in low else uuid.UUID(int=rng.getrandbits(128)).bytes_le
    elif t == "reference":
        one = Ref(f"CN=Object {n + 1},OU=People,DC=contoso,DC=com")
    else:  # datetime
        one = _dt.datetime(2024, 1, 1, tzinfo=_UTC) + _dt.timedelta(days=n)
    if attr.multi and not isinstance(one, list):
        return [one]
    if not attr.multi and isinstance(one, list):
        return one[0]
    return one


def sample_object(object_type: ir.ObjectType, kind: str = "user", n: int = 1, seed: int = 0) -> dict[str, Any]:
    """Every declared attribute of ``object_type`` with a plausible value (deterministic)."""
    rng = random.Random(f"{seed}:{object_type.name}:{kind}:{n}")
    return {a.name: sample_value(a, kind, n, rng) for a in object_type.attributes}
