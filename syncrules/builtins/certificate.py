"""Certificate built-ins (Cert*, IsCert): X.509 read with the ``cryptography`` library.

The input is a binary value holding a DER certificate, or the Base64/PEM text of one (as bytes or
as a string), matching what .NET's ``X509Certificate2(byte[])`` accepts. Parsed certificates are
cached by their bytes: rules such as ``Where($item,[userCertificate],CertNotAfter($item)>Now())``
read the same certificates for every flow.

Names are rendered the way .NET's ``X500DistinguishedName.Name`` does (most specific RDN first,
``", "`` between RDNs, ``S=`` for state, ``E=`` for e-mail, quotes around values with special
characters), because that is what the reference's ``CertSubject``/``CertIssuer`` return.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
from functools import lru_cache
from typing import Any

from syncrules.builtins._common import SELF, EvalError, builtin, expect_str, to_bool

_NET_LABELS = {
    "2.5.4.3": "CN",
    "2.5.4.4": "SN",
    "2.5.4.5": "SERIALNUMBER",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "S",
    "2.5.4.9": "STREET",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "T",
    "2.5.4.42": "G",
    "2.5.4.43": "I",
    "1.2.840.113549.1.9.1": "E",
    "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}
_NEEDS_QUOTES = frozenset(',=+<>#;"\n\r')
_UPN_OID = "1.3.6.1.4.1.311.20.2.3"
_NAME_TYPES = ("SimpleName", "EmailName", "UpnName", "DnsName", "DnsFromAlternativeName", "UrlName")


def _raw_bytes(value: Any, fname: str) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("ascii", "replace")
    raise EvalError(f"{fname}: the certificate must be binary (DER) or Base64 text")


@lru_cache(maxsize=512)
def load_certificate(raw: bytes) -> Any:
    """The parsed certificate, or None when the bytes are not an X.509 certificate."""
    from cryptography import x509

    try:
        return x509.load_der_x509_certificate(raw)
    except ValueError:
        pass
    text = raw.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            return x509.load_pem_x509_certificate(text)
        except ValueError:
            return None
    try:
        der = base64.b64decode(b"".join(text.split()), validate=True)
        return x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError):
        return None


def _cert(value: Any, fname: str) -> Any:
    cert = load_certificate(_raw_bytes(value, fname))
    if cert is None:
        raise EvalError(f"{fname}: the value is not an X.509 certificate (DER or Base64)")
    return cert


# ---------------------------------------------------------------------------- names


def _quote(value: str) -> str:
    if not value or value != value.strip() or any(c in _NEEDS_QUOTES for c in value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _attribute_text(attr: Any) -> str:
    oid = attr.oid.dotted_string
    label = _NET_LABELS.get(oid, f"OID.{oid}")
    value = attr.value
    text = value if isinstance(value, str) else "#" + bytes(value).hex().upper()
    return f"{label}={_quote(text)}"


def net_name(name: Any) -> str:
    """An X.509 Name as .NET prints it: RDNs in reverse encoding order, joined by ", "."""
    return ", ".join(" + ".join(_attribute_text(a) for a in rdn) for rdn in reversed(name.rdns))


def _first_oid(name: Any) -> str | None:
    rdns = list(name.rdns)
    if not rdns:
        return None
    return next(iter(rdns[-1])).oid.dotted_string  # type: ignore[no-any-return]


def _attr_values(name: Any, oid: str) -> list[str]:
    return [a.value for a in name if a.oid.dotted_string == oid and isinstance(a.value, str)]


def _alt_names(cert: Any, issuer: bool) -> Any:
    from cryptography import x509

    ext_type = x509.IssuerAlternativeName if issuer else x509.SubjectAlternativeName
    try:
        return cert.extensions.get_extension_for_class(ext_type).value
    except x509.ExtensionNotFound:
        return None


def _utf8_string(der: bytes) -> str | None:
    """The text of a DER UTF8String (the UPN inside a SAN otherName); None for anything else."""
    if len(der) < 2 or der[0] != 0x0C:
        return None
    length, offset = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, offset = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    body = der[offset : offset + length]
    return body.decode("utf-8", "replace") if len(body) == length else None


def name_info(cert: Any, name_type: str, for_issuer: bool) -> str:
    """.NET ``GetNameInfo``: one name of the subject (or issuer); "" when the certificate has none."""
    from cryptography import x509

    name = cert.issuer if for_issuer else cert.subject
    alt = _alt_names(cert, for_issuer)

    def alt_of(kind: Any) -> list[str]:
        return [str(v) for v in alt.get_values_for_type(kind)] if alt is not None else []

    if name_type == "SimpleName":
        for oid in ("2.5.4.3", "2.5.4.11", "2.5.4.10"):
            found = _attr_values(name, oid)
            if found:
                return found[0]
        first = [a.value for a in name if isinstance(a.value, str)]
        if first:
            return first[0]  # type: ignore[no-any-return]
        fallback = alt_of(x509.RFC822Name) + alt_of(x509.DNSName)
        return fallback[0] if fallback else ""
    if name_type == "EmailName":
        found = alt_of(x509.RFC822Name) or _attr_values(name, "1.2.840.113549.1.9.1")
        return found[0] if found else ""
    if name_type == "UpnName":
        if alt is not None:
            for other in alt.get_values_for_type(x509.OtherName):
                if other.type_id.dotted_string == _UPN_OID:
                    text = _utf8_string(other.value)
                    if text is not None:
                        return text
        return ""
    if name_type == "DnsName":
        found = alt_of(x509.DNSName) or _attr_values(name, "2.5.4.3")
        return found[0] if found else ""
    if name_type == "DnsFromAlternativeName":
        found = alt_of(x509.DNSName)
        return found[0] if found else ""
    found = alt_of(x509.UniformResourceIdentifier)  # UrlName
    return found[0] if found else ""


# ---------------------------------------------------------------------------- key parameters


def _der_oid(dotted: str) -> bytes:
    """DER of an OBJECT IDENTIFIER. Encoding (never parsing) the one value .NET prints for EC keys."""
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return bytes([0x06, len(body)]) + bytes(body)


def _curve_oid(key: Any) -> str | None:
    from cryptography.hazmat.primitives.asymmetric import ec

    if isinstance(key, ec.EllipticCurvePublicKey):
        return _CURVE_OIDS.get(key.curve.name)
    return None


_CURVE_OIDS = {
    "secp256r1": "1.2.840.10045.3.1.7",
    "secp384r1": "1.3.132.0.34",
    "secp521r1": "1.3.132.0.35",
    "secp256k1": "1.3.132.0.10",
    "secp224r1": "1.3.132.0.33",
    "secp192r1": "1.2.840.10045.3.1.1",
}


def key_parameters_hex(cert: Any) -> str:
    """GetKeyAlgorithmParametersString: hex of the DER key parameters (RSA: an ASN.1 NULL, "0500";
    EC: the named curve's OID; EdDSA: none, "")."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "0500"
    curve = _curve_oid(key)
    if curve is not None:
        return _der_oid(curve).hex().upper()
    return ""


# ---------------------------------------------------------------------------- the functions


def _serial_hex(serial: int) -> str:
    """.NET SerialNumber: upper-case hex of the DER INTEGER's content (a leading 00 kept)."""
    return serial.to_bytes(serial.bit_length() // 8 + 1, "big", signed=True).hex().upper()


def _utc(value: _dt.datetime) -> _dt.datetime:
    return value.astimezone(_dt.timezone.utc)


@builtin("CertExtensionOids", 1)
def cert_extension_oids(data: Any) -> list[str] | None:
    """OIDs of the *critical* extensions (as the reference says); NULL when there are none."""
    oids = [e.oid.dotted_string for e in _cert(data, "CertExtensionOids").extensions if e.critical]
    return oids or None


@builtin("CertFormat", 1)
def cert_format(data: Any) -> str:
    _cert(data, "CertFormat")
    return "X509"


@builtin("CertFriendlyName", 1)
def cert_friendly_name(data: Any) -> str:
    """A friendly name is a certificate-store property, never part of the certificate bytes, so a
    certificate read from an attribute has none: always ""."""
    _cert(data, "CertFriendlyName")
    return ""


@builtin("CertHashString", 1)
def cert_hash_string(data: Any) -> str:
    """SHA-1 of the DER certificate, upper-case hex (same as CertThumbprint)."""
    return _thumbprint(data, "CertHashString")


def _thumbprint(data: Any, fname: str) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    der = _cert(data, fname).public_bytes(Encoding.DER)
    return hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()


@builtin("CertThumbprint", 1)
def cert_thumbprint(data: Any) -> str:
    return _thumbprint(data, "CertThumbprint")


@builtin("CertIssuer", 1)
def cert_issuer(data: Any) -> str:
    return net_name(_cert(data, "CertIssuer").issuer)


@builtin("CertIssuerDN", 1)
def cert_issuer_dn(data: Any) -> str:
    return net_name(_cert(data, "CertIssuerDN").issuer)


@builtin("CertIssuerOid", 1)
def cert_issuer_oid(data: Any) -> str | None:
    """The attribute type OID of the issuer's most specific RDN (e.g. 2.5.4.3 for CN=)."""
    return _first_oid(_cert(data, "CertIssuerOid").issuer)


@builtin("CertSubject", 1)
def cert_subject(data: Any) -> str:
    return net_name(_cert(data, "CertSubject").subject)


@builtin("CertSubjectNameDN", 1)
def cert_subject_name_dn(data: Any) -> str:
    return net_name(_cert(data, "CertSubjectNameDN").subject)


@builtin("CertSubjectNameOid", 1)
def cert_subject_name_oid(data: Any) -> str | None:
    """The attribute type OID of the subject's most specific RDN."""
    return _first_oid(_cert(data, "CertSubjectNameOid").subject)


@builtin("CertKeyAlgorithm", 1)
def cert_key_algorithm(data: Any) -> str:
    """The public key algorithm as an OID string, as .NET's GetKeyAlgorithm returns it."""
    return _cert(data, "CertKeyAlgorithm").public_key_algorithm_oid.dotted_string  # type: ignore[no-any-return]


@builtin("CertKeyAlgorithmParams", 1)
def cert_key_algorithm_params(data: Any) -> str:
    return key_parameters_hex(_cert(data, "CertKeyAlgorithmParams"))


@builtin("CertPublicKeyOid", 1)
def cert_public_key_oid(data: Any) -> str:
    return _cert(data, "CertPublicKeyOid").public_key_algorithm_oid.dotted_string  # type: ignore[no-any-return]


@builtin("CertPublicKeyParametersOid", 1)
def cert_public_key_parameters_oid(data: Any) -> str | None:
    """The OID named by the key parameters: an EC key's curve; NULL for keys without one (RSA, EdDSA)."""
    return _curve_oid(_cert(data, "CertPublicKeyParametersOid").public_key())


@builtin("CertSerialNumber", 1)
def cert_serial_number(data: Any) -> str:
    return _serial_hex(_cert(data, "CertSerialNumber").serial_number)


@builtin("CertSignatureAlgorithmOid", 1)
def cert_signature_algorithm_oid(data: Any) -> str:
    return _cert(data, "CertSignatureAlgorithmOid").signature_algorithm_oid.dotted_string  # type: ignore[no-any-return]


@builtin("CertNotAfter", 1)
def cert_not_after(data: Any) -> _dt.datetime:
    """In UTC (the reference says local time; every date in this language is UTC)."""
    return _utc(_cert(data, "CertNotAfter").not_valid_after_utc)


@builtin("CertNotBefore", 1)
def cert_not_before(data: Any) -> _dt.datetime:
    return _utc(_cert(data, "CertNotBefore").not_valid_before_utc)


@builtin("CertVersion", 1)
def cert_version(data: Any) -> str:
    """ "1" or "3", as text (the reference declares a string)."""
    return str(_cert(data, "CertVersion").version.value + 1)


@builtin("CertNameInfo", 3)
def cert_name_info(data: Any, x509_name_type: Any, includes_issuer_name: Any) -> str:
    """``x509NameType`` is a .NET X509NameType name (SimpleName, EmailName, UpnName, DnsName,
    DnsFromAlternativeName, UrlName) or its number 0..5; True reads the issuer instead."""
    kind = expect_str(x509_name_type, "CertNameInfo", "name type").strip()
    if kind.isdigit() and int(kind) < len(_NAME_TYPES):
        kind = _NAME_TYPES[int(kind)]
    match = [t for t in _NAME_TYPES if t.lower() == kind.lower()]
    if not match:
        raise EvalError(f"CertNameInfo: {x509_name_type!r} is not one of {', '.join(_NAME_TYPES)}")
    return name_info(_cert(data, "CertNameInfo"), match[0], to_bool(includes_issuer_name, "CertNameInfo"))


@builtin("IsCert", 1, nulls=SELF)
def is_cert(data: Any) -> bool:
    """True when the value reads as a certificate; never NULL (NULL is not a certificate)."""
    if not isinstance(data, (bytes, bytearray, str)):
        return False
    return load_certificate(_raw_bytes(data, "IsCert")) is not None
