"""Test certificates, built with ``cryptography`` from fixed keys so their bytes never change.

RSA PKCS#1 v1.5 and Ed25519 signatures are deterministic, so with fixed keys, names, serials,
dates and extensions every certificate below is the same DER on every run, and the conformance
cases can state thumbprints and serial numbers literally. The keys are test-only.

Cases refer to them by name: ``attrs: {cert: {type: bin, fixture: rsa_cert}}``.
"""

from __future__ import annotations

import base64
import datetime as dt
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# A 2048-bit RSA key generated once for these tests (it protects nothing).
_RSA_PEM = b"""\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDCU+QFIEo5sWk9
eFykLohIitSH/IdIP2nEXv9rYSSliBDthuxw6O9pOgytKMxxMIylxnMrhuKkKqs7
O7RBOeVs+BfUBgjutxIShcm+J1Z1/GTRaw9emQ9PEvVVoUa9QWFluUcoobCa6jRP
FXzv7sWuRJl+OCgX5j8kfD8xylxseNMDGYHH664F5c0UG2HnAZO1aH5XjSHPgY69
1KEOfHoDBYorDi5cDoHHI69kLOGANh+a1H4Wwh2LqwTgH7AdCQCX5ee2FXvUY0YO
HHp/JDslpTIOT0i//1OytNrDBVyKtePOQsSpN4THUD28lFK9InpXwFv75zwFGBJz
6DrECi9PAgMBAAECggEAAX6TqlZtO7RZktdyHvEcqzImIEWY5L1YGuKAJFtC5OL+
/lSjTNr9vFlt74b4y4YMDtpP2G3ZIFoTpwj2genoEcZ2qHLDbtKJmQreWlADIjUm
sVWZcKjMrVb//ACZgqsWDKo4Gd/kc8yJSnJn25CChKySYZ4c8NIcejNaaQ+dVlg0
FQViaYfuIHDf6C+rF/I3zrtLWSwmyw/kYxxmt3lITxVQ0jOaFPEbgnq81Gnjq2B5
o+DeHWRaKT6s5qH5DVDtHd20SoA2L9uKnD8lkyIUiz0Pqrbk2N9LaEYTdyXoy+YV
zZVDqxXmrWtgaX1yoWgYs7l91UljaHnqxSBC5d8zgQKBgQD1TQalm91xG9dVhKc5
8vHHkQLxdZyTfK/BoLyC5qL77AriI2bGbsWtDxmJPyQsggtb8NcXt93TE31eIfbW
AmJWSpNfbJMDE4Vt3mDMt6pbQ8Azqo8gWjOpsyfk2GNLA8CpNyoNvFXlvWRMYhYA
eI/wkP/jCBbkIyaWTeDZ5ufNGQKBgQDKzbWwBktdO9VmxH6uPpH0S3S/cGp6Z84E
eidxhU9xtqlvYt4eggOFsM2MKb+Fnpn+Z7M+nqeQxPW0TPQvzHCaqVmQT1l8yB2b
V3m84AhCxKKAiQ2WOw6R1imJnLp6QnJVK+NA6AVMFRGdnJisPx+weG5pUatrQMMj
PN67NXcEpwKBgGj/M10nvj1wAVflk/7F8p/NfkkEYqTutfxXZNlTB2h1vKLXLGK7
f3l4ASIyGLXEZEBScn8AgL6clQj52MH5+0WcXkB2JOcoL/C7QwvdgdnWwipbUzAx
6/MzcFwQE1BEpu7HYgTHHK1dx9S6F1jUQihiqGTxTXsRYK7tXtVmdMnhAoGBAKx3
4Ml/sNvrJIKvHGSmhY1SFkkwGv1aBhQ8pgqeqn80LkextuAPBVvOjh9i6aOCy8dU
/VSFrE8rkSDySL/VhvWgi7B0KtA5hyQyci8z/xJ5ExFofIuEUdGoZc7H4LZUh9Ly
7eKm7spTKJX3NMdXL2XuJUef0r31Z34yJ+DhiQQFAoGAY7pRS1gnGmMOiABiqtYk
YZfF+sFP3PqxKIdyo1xVYlvlII3Mb/iwA91AZI59DX8S3pJ6dYJL2r1DQn1mR4f+
HICEneNIIQ1R8ZPjLc9vpE/vFTHXrMKef9xsguN4AGG4N5IScVec89bid6SimHcV
GCmMb1fqGHlYBK47rmFynCA=
-----END PRIVATE KEY-----
"""

_UTC = dt.timezone.utc
_UPN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")


def _rsa_key() -> object:
    return serialization.load_pem_private_key(_RSA_PEM, password=None)


def _name(*parts: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    """Parts in encoding order (country first); .NET prints them reversed."""
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in parts])


def _utf8_der(text: str) -> bytes:
    raw = text.encode("utf-8")
    assert len(raw) < 128
    return bytes([0x0C, len(raw)]) + raw


def _rsa_cert() -> bytes:
    key = _rsa_key()
    subject = _name(
        (NameOID.COUNTRY_NAME, "US"),
        (NameOID.ORGANIZATION_NAME, "Contoso, Ltd"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "Engineering"),
        (NameOID.COMMON_NAME, "Ada Lovelace"),
    )
    issuer = _name(
        (NameOID.COUNTRY_NAME, "US"),
        (NameOID.ORGANIZATION_NAME, "Contoso"),
        (NameOID.COMMON_NAME, "Contoso Issuing CA"),
    )
    san = x509.SubjectAlternativeName(
        [
            x509.RFC822Name("ada@contoso.com"),
            x509.DNSName("ada.contoso.com"),
            x509.UniformResourceIdentifier("https://contoso.com/ada"),
            x509.OtherName(_UPN_OID, _utf8_der("ada@corp.contoso.com")),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())  # type: ignore[attr-defined]
        .serial_number(0x0123456789ABCDEF)
        .not_valid_before(dt.datetime(2024, 1, 1, tzinfo=_UTC))
        .not_valid_after(dt.datetime(2026, 1, 1, tzinfo=_UTC))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(san, critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    cert = builder.sign(key, hashes.SHA256())  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.DER)


def _ec_cert() -> bytes:
    """An elliptic-curve (P-256) key certified by the RSA key; serial 128 encodes as 00 80."""
    public = ec.derive_private_key(0x5EC0_0D1C_E5EED, ec.SECP256R1()).public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name((NameOID.COMMON_NAME, "device-01")))
        .issuer_name(
            _name((NameOID.ORGANIZATION_NAME, "Contoso"), (NameOID.COMMON_NAME, "Contoso Device CA"))
        )
        .public_key(public)
        .serial_number(128)
        .not_valid_before(dt.datetime(2020, 6, 15, 12, 30, tzinfo=_UTC))
        .not_valid_after(dt.datetime(2030, 6, 15, 12, 30, tzinfo=_UTC))
        .sign(_rsa_key(), hashes.SHA256())  # type: ignore[arg-type]
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _ed_cert() -> bytes:
    """Self-signed Ed25519, with state and e-mail name parts (.NET labels them S= and E=)."""
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    name = _name(
        (NameOID.COUNTRY_NAME, "US"),
        (NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
        (NameOID.LOCALITY_NAME, "Redmond"),
        (NameOID.ORGANIZATION_NAME, "Example"),
        (NameOID.EMAIL_ADDRESS, "pki@example.com"),
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(dt.datetime(2019, 3, 1, tzinfo=_UTC))
        .not_valid_after(dt.datetime(2019, 3, 31, tzinfo=_UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, None)
    )
    return cert.public_bytes(serialization.Encoding.DER)


@lru_cache(maxsize=1)
def fixtures() -> dict[str, bytes]:
    """Name -> bytes of every binary fixture the conformance cases may reference."""
    rsa_der = _rsa_cert()
    b64 = base64.b64encode(rsa_der)
    pem = b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
    pem += b"\n-----END CERTIFICATE-----\n"
    return {
        "rsa_cert": rsa_der,
        "rsa_cert_b64": b64,
        "rsa_cert_pem": pem,
        "ec_cert": _ec_cert(),
        "ed_cert": _ed_cert(),
        "not_a_cert": b"this is not a certificate",
    }


def fixture_text(name: str) -> str:
    """A fixture's bytes as text (for the Base64/PEM forms stored in a string attribute)."""
    return fixtures()[name].decode("ascii")
