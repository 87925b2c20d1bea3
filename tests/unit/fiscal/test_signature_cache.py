"""The certificate cache of the signature check: an emitter signs thousands of notes with one
certificate, so its key is loaded once; but every rule that depends on the document is still
checked for every document, whether its certificate was cached by an earlier note or not."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

from lxml import etree

from domain.fiscal import NotaFiscal, parse_document
from domain.fiscal.signature import _KEYS, Assinatura
from tests.unit.fiscal_chat.factory import NotaSpec, nfe_proc_xml

NS = {"n": "http://www.portalfiscal.inf.br/nfe", "ds": "http://www.w3.org/2000/09/xmldsig#"}
BRT = timezone(timedelta(hours=-3))
WHEN = datetime(2026, 10, 20, 14, 0, tzinfo=BRT)
OTHER_COMPANY = "45723174000110"


def assinatura_of(data: bytes) -> Assinatura:
    document = parse_document(data)
    assert isinstance(document, NotaFiscal)
    assert document.assinatura is not None
    return document.assinatura


def certificate_of(data: bytes) -> bytes:
    encoded = etree.fromstring(data).findtext(".//ds:X509Certificate", namespaces=NS)
    assert encoded
    return base64.b64decode("".join(encoded.split()))


def cached_by_a_good_note(spec: NotaSpec) -> bytes:
    """Verify a genuine note of `spec`'s signer and prove its certificate is now cached."""
    data = nfe_proc_xml(spec)
    assert assinatura_of(data).valida
    assert certificate_of(data) in _KEYS
    return data


def test_a_second_note_with_the_same_certificate_but_edited_content_is_refused() -> None:
    cached_by_a_good_note(NotaSpec(numero=501, dh_emi=WHEN))
    tampered = nfe_proc_xml(NotaSpec(numero=502, dh_emi=WHEN)).replace(
        b"<vNF>150.00</vNF>", b"<vNF>1150.00</vNF>"
    )
    assert certificate_of(tampered) in _KEYS

    assinatura = assinatura_of(tampered)

    assert assinatura.codigo == "assinatura_invalida"
    assert "alterado depois de assinado" in (assinatura.problema or "")


def test_a_forged_signature_value_is_refused_with_a_cached_certificate() -> None:
    data = cached_by_a_good_note(NotaSpec(numero=503, dh_emi=WHEN))
    root = etree.fromstring(data)
    value = root.find(".//ds:SignatureValue", NS)
    assert value is not None
    assert value.text
    value.text = ("B" if value.text[0] != "B" else "C") + value.text[1:]

    assert assinatura_of(etree.tostring(root)).codigo == "assinatura_invalida"


def test_a_cached_certificate_not_valid_at_dhemi_is_still_refused() -> None:
    cached_by_a_good_note(NotaSpec(numero=504, dh_emi=WHEN))
    # The same certificate (valid from 2015 on) signing a note dated 2014.
    old = nfe_proc_xml(NotaSpec(numero=505, dh_emi=datetime(2014, 6, 2, 10, 0, tzinfo=BRT)))
    assert certificate_of(old) in _KEYS

    assinatura = assinatura_of(old)

    assert assinatura.codigo == "assinatura_fora_validade"
    assert "não era válido na data" in (assinatura.problema or "")


def test_a_cached_certificate_of_another_company_is_still_refused_for_this_emitter() -> None:
    # The other company's certificate is cached from one of its own notes…
    cached_by_a_good_note(NotaSpec(numero=506, dh_emi=WHEN, emitente_cnpj=OTHER_COMPANY))
    # …and then signs a note of this emitter.
    data = nfe_proc_xml(NotaSpec(numero=507, dh_emi=WHEN, assinante_cnpj=OTHER_COMPANY))
    assert certificate_of(data) in _KEYS

    assinatura = assinatura_of(data)

    assert assinatura.codigo == "assinatura_outro_cnpj"
    assert "45.723.174/0001-10" in (assinatura.problema or "")


def test_a_protocol_of_another_version_is_refused_with_a_cached_certificate() -> None:
    cached_by_a_good_note(NotaSpec(numero=508, dh_emi=WHEN))
    other_version = nfe_proc_xml(
        NotaSpec(numero=509, dh_emi=WHEN, dig_val="QUFBQUFBQUFBQUFBQUFBQUFBQUE=")
    )

    assert assinatura_of(other_version).codigo == "protocolo_de_outra_versao"


def test_a_corrupted_certificate_is_refused_every_time() -> None:
    data = nfe_proc_xml(NotaSpec(numero=510, dh_emi=WHEN))
    root = etree.fromstring(data)
    certificate = root.find(".//ds:X509Certificate", NS)
    assert certificate is not None
    certificate.text = base64.b64encode(b"not a certificate").decode()
    corrupted = etree.tostring(root)

    first, second = assinatura_of(corrupted), assinatura_of(corrupted)

    assert first.codigo == second.codigo == "assinatura_malformada"
    assert "corrompido" in (second.problema or "")
