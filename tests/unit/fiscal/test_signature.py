"""XMLDSig of notes and events: what the emitter signed, by whom, when, and bound to the protocol.

Every note here is really signed (xmlsec) with a test e-CNPJ/e-CPF certificate; each defect is
made the way it happens in the field: a value edited afterwards, a file re-indented, another
company's certificate, a protocol of another version of the note, a signature wrapped around a
forged copy.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

from domain.documents import complete_cnpj
from domain.fiscal import EventoFiscal, NotaFiscal, parse_document
from domain.fiscal.signature import Assinatura
from tests.unit.fiscal.samples import EMITENTE_CNPJ, Ide, nfe, nfe_proc, ret_evento
from tests.unit.fiscal_chat.factory import NotaSpec, assinante, nfe_proc_xml, signed

NS = {"n": "http://www.portalfiscal.inf.br/nfe", "ds": "http://www.w3.org/2000/09/xmldsig#"}
BRT = timezone(timedelta(hours=-3))
SPEC = NotaSpec(numero=42, dh_emi=datetime(2026, 10, 20, 14, 0, tzinfo=BRT))


def assinatura_of(data: bytes) -> Assinatura:
    document = parse_document(data)
    assert isinstance(document, NotaFiscal | EventoFiscal)
    assert document.assinatura is not None
    return document.assinatura


def edited(data: bytes, change: object) -> bytes:
    """`data` after `change(root)` edits its tree (as a person or a program would)."""
    root = etree.fromstring(data)
    change(root)  # type: ignore[operator]
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_a_note_signed_by_its_emitter_verifies_and_names_the_certificate() -> None:
    data = nfe_proc_xml(SPEC)

    assinatura = assinatura_of(data)

    assert assinatura.valida, assinatura.problema
    assert assinatura.certificado is not None
    assert assinatura.certificado.cnpj == SPEC.emitente_cnpj
    dig_val = etree.fromstring(data).findtext(".//n:infProt/n:digVal", namespaces=NS)
    assert assinatura.digest_value == dig_val


def test_a_value_edited_after_signing_does_not_verify() -> None:
    data = nfe_proc_xml(SPEC).replace(b"<vNF>150.00</vNF>", b"<vNF>1150.00</vNF>")

    assinatura = assinatura_of(data)

    assert assinatura.codigo == "assinatura_invalida"
    assert "alterado depois de assinado" in (assinatura.problema or "")


def test_a_reindented_file_does_not_verify() -> None:
    def reindent(root: etree._Element) -> None:
        etree.indent(root, space="  ")

    assert assinatura_of(edited(nfe_proc_xml(SPEC), reindent)).codigo == "assinatura_invalida"


def test_a_forged_signature_value_does_not_verify() -> None:
    def forge(root: etree._Element) -> None:
        value = root.find(".//ds:SignatureValue", NS)
        assert value is not None
        assert value.text
        value.text = ("B" if value.text[0] != "B" else "C") + value.text[1:]

    assert assinatura_of(edited(nfe_proc_xml(SPEC), forge)).codigo == "assinatura_invalida"


def test_a_note_without_a_signature_says_so() -> None:
    data = nfe_proc_xml(NotaSpec(numero=43, dh_emi=SPEC.dh_emi, assinada=False))

    assert assinatura_of(data).codigo == "sem_assinatura"


def test_a_note_signed_by_another_company_is_refused_with_whose_certificate_it_was() -> None:
    data = nfe_proc_xml(NotaSpec(numero=44, dh_emi=SPEC.dh_emi, assinante_cnpj="45723174000110"))

    assinatura = assinatura_of(data)

    assert assinatura.codigo == "assinatura_outro_cnpj"
    assert "45.723.174/0001-10" in (assinatura.problema or "")


def test_a_branch_signs_with_the_company_certificate() -> None:
    filial = complete_cnpj(SPEC.emitente_cnpj[:8] + "0002")
    spec = NotaSpec(numero=45, dh_emi=SPEC.dh_emi, emitente_cnpj=filial)
    data = nfe_proc_xml(spec)
    # re-sign with the head office's certificate (same CNPJ root)
    root = etree.fromstring(data)
    nfe_el = root.find("n:NFe", NS)
    assert nfe_el is not None
    old_signature = nfe_el.find("ds:Signature", NS)
    assert old_signature is not None
    nfe_el.remove(old_signature)
    digest = assinante(SPEC.emitente_cnpj).assinar(nfe_el, nfe_el[0])
    dig_val = root.find(".//n:infProt/n:digVal", NS)
    assert dig_val is not None
    dig_val.text = digest

    assert assinatura_of(etree.tostring(root)).valida


def test_a_protocol_of_another_version_of_the_note_is_refused() -> None:
    data = nfe_proc_xml(
        NotaSpec(numero=46, dh_emi=SPEC.dh_emi, dig_val="QUFBQUFBQUFBQUFBQUFBQUFBQUE=")
    )

    assert assinatura_of(data).codigo == "protocolo_de_outra_versao"


def test_a_protocol_without_digval_is_refused() -> None:
    def drop(root: etree._Element) -> None:
        dig_val = root.find(".//n:infProt/n:digVal", NS)
        assert dig_val is not None
        dig_val.getparent().remove(dig_val)  # type: ignore[union-attr]

    assert assinatura_of(edited(nfe_proc_xml(SPEC), drop)).codigo == "protocolo_sem_digval"


def test_a_certificate_not_valid_when_the_note_was_issued_is_refused() -> None:
    # the test certificates are valid from 2015 on
    data = nfe_proc_xml(NotaSpec(numero=47, dh_emi=datetime(2014, 6, 2, 10, 0, tzinfo=BRT)))

    assinatura = assinatura_of(data)

    assert assinatura.codigo == "assinatura_fora_validade"
    assert "01/01/2015" in (assinatura.problema or "") or "31/12/2014" in (
        assinatura.problema or ""
    )


def test_a_signature_wrapped_around_a_forged_copy_is_refused() -> None:
    def wrap(root: etree._Element) -> None:
        nfe_el = root.find("n:NFe", NS)
        assert nfe_el is not None
        genuine = nfe_el.find("n:infNFe", NS)
        assert genuine is not None
        forged = copy.deepcopy(genuine)
        v_nf = forged.find(".//n:vNF", NS)
        assert v_nf is not None
        v_nf.text = "1.00"
        nfe_el.insert(0, forged)  # the reader takes the first infNFe

    assinatura = assinatura_of(edited(nfe_proc_xml(SPEC), wrap))

    assert assinatura.codigo == "assinatura_malformada"
    assert "Id repetido" in (assinatura.problema or "")


@pytest.mark.parametrize(
    ("xpath", "attribute", "value", "words"),
    [
        ("ds:SignedInfo/ds:Reference", "URI", "#outro", "não se refere"),
        ("ds:SignedInfo/ds:SignatureMethod", "Algorithm", "http://x/hmac", "algoritmo"),
        (
            "ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform[2]",
            "Algorithm",
            "http://www.w3.org/TR/1999/REC-xpath-19991116",
            "transformações",
        ),
    ],
    ids=["reference-elsewhere", "other-algorithm", "xpath-transform"],
)
def test_a_signature_outside_the_moc_shape_is_refused_before_checking_it(
    xpath: str, attribute: str, value: str, words: str
) -> None:
    def change(root: etree._Element) -> None:
        found = root.find(f"n:NFe/ds:Signature/{xpath}", NS)
        assert found is not None
        found.set(attribute, value)

    assinatura = assinatura_of(edited(nfe_proc_xml(SPEC), change))

    assert assinatura.codigo == "assinatura_malformada"
    assert words in (assinatura.problema or "")


def test_a_note_of_a_cpf_emitter_is_signed_with_an_ecpf() -> None:
    cpf = "52998224725"
    ide = Ide(cnpj=cpf.zfill(14))
    data = nfe_proc(ide, body=nfe(ide, emit_doc=f"<CPF>{cpf}</CPF>"))

    assinatura = assinatura_of(data)

    assert assinatura.valida, assinatura.problema
    assert assinatura.certificado is not None
    assert assinatura.certificado.cpf == cpf


def test_a_cancellation_event_verifies_and_an_edited_one_does_not() -> None:
    from tests.unit.fiscal_chat.factory import cancelamento_xml

    data = cancelamento_xml(SPEC)
    assert assinatura_of(data).valida

    edited_event = data.replace(b"Erro na digitacao", b"Erro na DIGITACAO")
    assert assinatura_of(edited_event).codigo == "assinatura_invalida"


def test_a_cancellation_asked_by_another_company_is_refused() -> None:
    from tests.unit.fiscal_chat.factory import cancelamento_xml

    other = "45723174000110"
    data = cancelamento_xml(SPEC).replace(
        f"<CNPJ>{SPEC.emitente_cnpj}</CNPJ>".encode(), f"<CNPJ>{other}</CNPJ>".encode()
    )

    assert assinatura_of(data).codigo == "cancelamento_de_outro_cnpj"


def test_an_embedded_event_with_a_broken_signature_refuses_the_note() -> None:
    ide = Ide(nnf="77")
    evento = (
        f'<evento xmlns="{NS["n"]}" versao="1.00"><infEvento Id="ID110111{ide.chave()}01">'
        f"<cOrgao>35</cOrgao><tpAmb>1</tpAmb><CNPJ>{EMITENTE_CNPJ}</CNPJ>"
        f"<chNFe>{ide.chave()}</chNFe><dhEvento>2026-10-16T08:59:00-03:00</dhEvento>"
        "<tpEvento>110111</tpEvento><nSeqEvento>1</nSeqEvento><verEvento>1.00</verEvento>"
        '<detEvento versao="1.00"><descEvento>Cancelamento</descEvento>'
        "<nProt>135260000000001</nProt><xJust>Erro na digitacao do pedido</xJust></detEvento>"
        "</infEvento></evento>"
    )
    signed_event = signed(evento, EMITENTE_CNPJ)[0].replace("pedido", "PEDIDO")
    inner = f'<procEventoNFe versao="1.00">{signed_event}{ret_evento(ide.chave())}</procEventoNFe>'

    assinatura = assinatura_of(nfe_proc(ide, extra=inner))

    assert assinatura.codigo == "assinatura_invalida"
    assert "evento anexado" in (assinatura.problema or "")
