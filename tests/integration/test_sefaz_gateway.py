"""The SEFAZ gateway against the local stand-in: real HTTPS, client certificate required."""

from __future__ import annotations

import logging
import os
import ssl
import stat
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from bot.gateways.sefaz import HttpsSefazGateway, SefazEndpoints, bundled_ca_path
from domain.fiscal.manifestacao import TipoManifestacao
from services.sefaz import A1, SefazIndisponivel
from tests.support_sefaz import SefazState, sefaz_stand_in
from tests.unit.certificates.pfx_factory import PASSWORD, make_certificate, make_pfx
from tests.unit.fiscal.samples import Ide, nfe_proc, res_nfe

CNPJ = "45723174000110"  # the recipient (DEST_CNPJ of the samples)


def a1_of(cnpj: str = CNPJ) -> A1:
    now = datetime.now(UTC)
    certificate = make_certificate(
        cnpj=cnpj, not_before=now - timedelta(days=10), not_after=now + timedelta(days=300)
    )
    return A1(make_pfx(certificate), PASSWORD)


def gateway(url: str, bundle: Path) -> HttpsSefazGateway:
    return HttpsSefazGateway(SefazEndpoints(base=url), ca_bundle=bundle, timeout=10)


def test_the_bundled_icp_brasil_root_is_the_one_the_iti_publishes() -> None:
    pem = bundled_ca_path().read_bytes()
    fingerprints = {
        c.fingerprint(hashes.SHA256()).hex(":").upper()
        for c in x509.load_pem_x509_certificates(pem)
    }
    assert (
        "6E:0B:FF:06:9A:26:99:4C:15:DE:2C:48:88:CC:54:AF:84:88:2E:54:95:B7:FB:F6:6B:E9:CC:FF:"
        "EC:74:89:F6" in fingerprints
    )


def test_a_distribution_page_comes_back_decoded_over_mutual_tls() -> None:
    state = SefazState()
    state.add(CNPJ, "resNFe_v1.01.xsd", res_nfe(Ide(nnf="1")))
    state.add(CNPJ, "procNFe_v4.00.xsd", nfe_proc(Ide(nnf="2")))
    with sefaz_stand_in(state) as sefaz:
        ret = gateway(sefaz.url, sefaz.ca_bundle).distribuicao(
            a1_of(), cnpj=CNPJ, uf_autor="35", ult_nsu="000000000000000"
        )
    assert (ret.c_stat, ret.ult_nsu, ret.max_nsu) == ("138", "000000000000002", "000000000000002")
    assert [d.schema for d in ret.documentos] == ["resNFe_v1.01.xsd", "procNFe_v4.00.xsd"]
    assert ret.documentos[0].xml == res_nfe(Ide(nnf="1"))
    # the stand-in saw the client certificate of this CNPJ
    assert [c.cnpj_certificado for c in state.calls] == [CNPJ]


def test_the_server_certificate_is_refused_when_not_under_the_configured_chain() -> None:
    with sefaz_stand_in() as sefaz:
        # the shipped ICP-Brasil bundle does not cover the stand-in's own CA
        refused = HttpsSefazGateway(SefazEndpoints(base=sefaz.url), timeout=10)
        with pytest.raises(SefazIndisponivel, match="não foi reconhecido"):
            refused.distribuicao(a1_of(), cnpj=CNPJ, uf_autor="35", ult_nsu="0" * 15)
        assert sefaz.state.calls == []


def test_a_client_certificate_from_another_authority_never_reaches_the_service() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    from tests.unit.certificates.pfx_factory import holder_key

    now = datetime.now(UTC)
    self_signed = (
        x509.CertificateBuilder()
        .subject_name(make_certificate().subject)
        .issuer_name(make_certificate().subject)
        .public_key(holder_key().public_key())
        .serial_number(7)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=10))
        .sign(holder_key(), hashes.SHA256())
    )
    pfx = pkcs12.serialize_key_and_certificates(
        b"x", holder_key(), self_signed, None,
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    )  # fmt: skip
    with sefaz_stand_in() as sefaz:
        with pytest.raises(SefazIndisponivel):
            gateway(sefaz.url, sefaz.ca_bundle).distribuicao(
                A1(pfx, PASSWORD), cnpj=CNPJ, uf_autor="35", ult_nsu="0" * 15
            )
        assert sefaz.state.calls == []


def test_the_certificate_key_is_never_on_disk_in_clear_and_never_left_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen: list[tuple[str, int]] = []
    load = ssl.SSLContext.load_cert_chain

    def spy(  # type: ignore[no-untyped-def]
        context: ssl.SSLContext, certfile: str, keyfile: str | None = None, password=None
    ):
        if keyfile is not None and Path(keyfile).parent.name.startswith("a1-tls-"):
            head = Path(keyfile).read_text().splitlines()[0]
            seen.append((head, stat.S_IMODE(os.stat(keyfile).st_mode)))
        return load(context, certfile, keyfile, password)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    with sefaz_stand_in() as sefaz:
        gateway(sefaz.url, sefaz.ca_bundle).distribuicao(
            a1_of(), cnpj=CNPJ, uf_autor="35", ult_nsu="0" * 15
        )
    # the key file existed only encrypted (one-time password), readable by the owner only
    assert seen == [("-----BEGIN ENCRYPTED PRIVATE KEY-----", 0o600)]
    assert os.listdir(tmp_path) == []


def test_the_password_never_shows_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    a1 = a1_of()
    wrong = A1(a1.pfx, "senha-errada-123")
    caplog.set_level(logging.DEBUG)
    with sefaz_stand_in() as sefaz, pytest.raises(SefazIndisponivel) as refused:
        gateway(sefaz.url, sefaz.ca_bundle).distribuicao(
            wrong, cnpj=CNPJ, uf_autor="35", ult_nsu="0" * 15
        )
    assert "Envie o certificado de novo" in refused.value.message
    assert refused.value.__cause__ is None
    for secret in (PASSWORD, "senha-errada-123"):
        assert secret not in caplog.text
        assert secret not in str(refused.value)
    assert "senha" not in repr(wrong)


@pytest.mark.parametrize(
    ("answer", "registered"),
    [
        (None, True),
        (("573", "Rejeicao: Duplicidade de evento"), False),
        (("596", "Rejeicao: Evento apresentado fora do prazo: 180 dias"), False),
    ],
)
def test_a_manifestacao_is_signed_with_the_a1_and_registered_or_refused(
    answer: tuple[str, str] | None, registered: bool
) -> None:
    chave = Ide(nnf="9").chave()
    state = SefazState()
    if answer:
        state.eventos[chave] = answer
    with sefaz_stand_in(state) as sefaz:
        ret = gateway(sefaz.url, sefaz.ca_bundle).manifestar(
            a1_of(), cnpj=CNPJ, chave=chave, tipo=TipoManifestacao.CONFIRMACAO
        )
    assert (ret.proc_evento is not None) is registered
    assert ret.c_stat == (answer[0] if answer else "135")
    if registered:
        assert b"<procEventoNFe" in ret.proc_evento  # type: ignore[operator]
        assert b"<tpEvento>210200</tpEvento>" in ret.proc_evento  # type: ignore[operator]


def test_a_note_is_looked_up_at_the_authorizer_of_its_uf() -> None:
    chave = Ide(nnf="5").chave()
    state = SefazState()
    state.notas[chave] = ("101", "Cancelamento de NF-e homologado")
    with sefaz_stand_in(state) as sefaz:
        gw = gateway(sefaz.url, sefaz.ca_bundle)
        known = gw.consultar(a1_of(), chave=chave)
        unknown = gw.consultar(a1_of(), chave=Ide(nnf="6").chave())
    assert (known.c_stat, known.protocolo) == ("101", "135260000000001")
    assert unknown.c_stat == "217"
    # SP speaks SOAP 1.2 in nfelib's table: the request and its answer were 1.2
    assert {call.soap for call in state.calls} == {"http://www.w3.org/2003/05/soap-envelope"}


def test_the_official_urls_come_from_nfelib_by_environment() -> None:
    homolog, prod = SefazEndpoints(), SefazEndpoints(ambiente="producao")
    assert homolog.url_distribuicao().startswith("https://hom1.nfe.fazenda.gov.br/")
    assert prod.url_distribuicao().startswith("https://www1.nfe.fazenda.gov.br/")
    assert "svrs" in prod.url_consulta("42")  # SC uses SVRS
    assert "fazenda.sp.gov.br" in prod.url_consulta("35")
    assert SefazEndpoints(consulta={"SP": "https://x/sp"}).url_consulta("35") == "https://x/sp"


def test_consulta_urls_per_uf_come_from_dotenv_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.gateways.sefaz import gateway_from_settings
    from bot.settings import Settings

    env = tmp_path / ".env"
    env.write_text(
        "SEFAZ_URL_CONSULTA_SP=https://sp.dotenv.example/consulta\n"
        "SEFAZ_URL_CONSULTA_MG=https://mg.dotenv.example/consulta\n"
    )
    monkeypatch.setenv("SEFAZ_URL_CONSULTA_MG", "https://mg.env.example/consulta")
    settings = Settings(environment="test", _env_file=str(env))
    assert settings.sefaz_url_consulta == {
        "SP": "https://sp.dotenv.example/consulta",
        "MG": "https://mg.env.example/consulta",
    }
    endpoints = gateway_from_settings(settings).endpoints
    assert endpoints.url_consulta("35") == "https://sp.dotenv.example/consulta"
    assert endpoints.url_consulta("31") == "https://mg.env.example/consulta"


def test_a_consulta_url_for_an_unknown_uf_is_refused_naming_the_key(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from bot.settings import Settings

    env = tmp_path / ".env"
    env.write_text("SEFAZ_URL_CONSULTA_XX=https://nowhere.example\n")
    with pytest.raises(ValidationError, match="XX não é uma UF"):
        Settings(environment="test", _env_file=str(env))
