"""Certificate built-ins on the generated fixtures, checked against ``cryptography``'s own view."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from cryptography import x509

from syncrules.builtins import certificate as cert
from syncrules.runtime.values import EvalError
from tests.conformance.certificates import fixture_text, fixtures


@pytest.fixture(scope="module")
def der() -> bytes:
    return fixtures()["rsa_cert"]


def test_every_input_form_reads_the_same_certificate(der: bytes) -> None:
    f = fixtures()
    expected = cert.cert_thumbprint(der)
    for form in (
        f["rsa_cert_b64"],
        f["rsa_cert_pem"],
        fixture_text("rsa_cert_b64"),
        fixture_text("rsa_cert_pem"),
    ):
        assert cert.cert_thumbprint(form) == expected
        assert cert.is_cert(form)


def test_hashes_match_an_independent_sha1(der: bytes) -> None:
    assert cert.cert_thumbprint(der) == hashlib.sha1(der).hexdigest().upper()
    assert cert.cert_hash_string(der) == cert.cert_thumbprint(der)


def test_fields_agree_with_cryptography(der: bytes) -> None:
    parsed = x509.load_der_x509_certificate(der)
    assert cert.cert_not_after(der) == parsed.not_valid_after_utc
    assert cert.cert_not_before(der).tzinfo == dt.timezone.utc
    assert int(cert.cert_serial_number(der), 16) == parsed.serial_number
    assert cert.cert_signature_algorithm_oid(der) == parsed.signature_algorithm_oid.dotted_string
    assert cert.cert_version(der) == "3"
    assert cert.cert_format(der) == "X509"
    assert cert.cert_friendly_name(der) == ""


def test_names_in_dotnet_form(der: bytes) -> None:
    assert cert.cert_subject(der) == 'CN=Ada Lovelace, OU=Engineering, O="Contoso, Ltd", C=US'
    assert cert.cert_issuer(der) == "CN=Contoso Issuing CA, O=Contoso, C=US"
    assert cert.cert_subject_name_dn(der) == cert.cert_subject(der)
    assert cert.cert_issuer_dn(der) == cert.cert_issuer(der)
    assert cert.cert_subject(fixtures()["ed_cert"]).startswith("E=pki@example.com, O=Example, L=Redmond, S=")


def test_name_info(der: bytes) -> None:
    assert cert.cert_name_info(der, "UpnName", False) == "ada@corp.contoso.com"
    assert cert.cert_name_info(der, "simplename", True) == "Contoso Issuing CA"
    assert cert.cert_name_info(der, "0", False) == "Ada Lovelace"
    assert cert.cert_name_info(der, "UrlName", "True") == ""
    with pytest.raises(EvalError, match="not one of"):
        cert.cert_name_info(der, "9", False)


def test_key_details() -> None:
    f = fixtures()
    assert cert.cert_key_algorithm_params(f["rsa_cert"]) == "0500"
    assert cert.cert_key_algorithm_params(f["ec_cert"]) == "06082A8648CE3D030107"
    assert cert.cert_public_key_parameters_oid(f["ec_cert"]) == "1.2.840.10045.3.1.7"
    assert cert.cert_public_key_parameters_oid(f["rsa_cert"]) is None
    assert cert.cert_serial_number(f["ec_cert"]) == "0080"


def test_der_oid_encoding() -> None:
    assert cert._der_oid("1.2.840.10045.3.1.7").hex().upper() == "06082A8648CE3D030107"
    assert cert._der_oid("1.3.132.0.34").hex().upper() == "06052B81040022"


def test_not_a_certificate() -> None:
    bad = fixtures()["not_a_cert"]
    assert cert.is_cert(bad) is False
    assert cert.is_cert(None) is False
    assert cert.is_cert(42) is False
    with pytest.raises(EvalError, match="not an X.509 certificate"):
        cert.cert_subject(bad)
    with pytest.raises(EvalError, match="binary"):
        cert.cert_subject(42)


def test_parsing_is_cached(der: bytes) -> None:
    cert.load_certificate.cache_clear()
    for _ in range(5):
        cert.cert_subject(der)
    assert cert.load_certificate.cache_info().misses == 1
