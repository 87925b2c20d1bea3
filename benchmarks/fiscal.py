"""Benchmark: ingesting a month of NF-e through the service, vs. plain lxml parsing.

    .venv/bin/python benchmarks/fiscal.py [--notes N] [--cancelled-share S]
        [--backend sqlite|postgresql|both] [--pg-url URL]

Generates N realistic authorized nfeProc files (valid keys from `domain.fiscal.chave`, 1–12
items with varied products, CFOPs and values, an emitente and destinatário with addresses,
ICMS totals, a signature block of real size) for one client and one month, plus the
procEventoNFe of the cancelled share. Prints, in the same run:

- the plain lxml parse rate of the same bytes (`etree.fromstring`, the safe parser settings):
  the baseline;
- the ingest rate through `services.fiscal_ingest.ingest` (parse, classify, compress, store,
  commit per chunk of 500), docs/s, on a fresh migrated database per backend, with one
  process and with `--workers` processes reading while the main one writes (the CLI's mode).
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from domain.fiscal import NFE_NS, digito_verificador
from services.fiscal_ingest import IncomingFile, ingest
from storage.db import make_engine, make_session_factory
from storage.migrations import upgrade
from storage.models import Client, Gestor, Plan
from storage.models_fiscal import FiscalDocument
from storage.uow import UnitOfWorkFactory

CLIENT_CNPJ = "11222333000181"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MONTH = "2026-10"
PRODUCTS = [
    ("Parafuso sextavado M8 zincado", "73181500", "5102"),
    ("Arruela lisa 8mm", "73182200", "5102"),
    ("Cabo flexível 2,5mm 100m", "85444900", "5102"),
    ("Disjuntor bipolar 32A", "85362000", "5405"),
    ("Tinta acrílica fosca 18L branco", "32091010", "5102"),
    ("Luva de raspa cano longo", "42032900", "5405"),
    ("Serviço de montagem", "00000000", "5933"),
    ("Lâmpada LED 9W bivolt", "85395000", "5102"),
    ("Fita isolante 20m", "39191000", "5405"),
    ("Broca aço rápido 6mm", "82075011", "5102"),
]
CITIES = [("3550308", "São Paulo"), ("3509502", "Campinas"), ("3548708", "São Bernardo")]


@dataclass(frozen=True)
class Generated:
    notes: list[tuple[str, bytes]]
    events: list[tuple[str, bytes]]

    @property
    def files(self) -> list[tuple[str, bytes]]:
        return self.notes + self.events


def _cnpj(rng: random.Random) -> str:
    body = f"{rng.randrange(10**7, 10**8)}0001"
    for _ in range(2):
        weights = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2][-len(body) :]
        rest = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
        body += "0" if rest < 2 else str(11 - rest)
    return body


def _address(rng: random.Random, tag: str) -> str:
    code, city = rng.choice(CITIES)
    return (
        f"<{tag}><xLgr>Rua {rng.choice(['das Flores', 'XV de Novembro', 'Augusta'])}</xLgr>"
        f"<nro>{rng.randrange(1, 3000)}</nro><xBairro>Centro</xBairro><cMun>{code}</cMun>"
        f"<xMun>{city}</xMun><UF>SP</UF><CEP>0{rng.randrange(1000000, 9999999)}</CEP>"
        f"<cPais>1058</cPais><xPais>BRASIL</xPais><fone>11{rng.randrange(10**8, 10**9)}</fone>"
        f"</{tag}>"
    )


def _note(rng: random.Random, numero: int) -> tuple[str, bytes]:
    day = rng.randrange(1, 32)
    hour, minute = rng.randrange(0, 24), rng.randrange(0, 60)
    dh_emi = f"2026-10-{day:02d}T{hour:02d}:{minute:02d}:00-03:00"
    cnf = f"{rng.randrange(10**7, 10**8)}"
    corpo = f"352610{CLIENT_CNPJ}55001{numero:09d}1{cnf}"
    chave = corpo + digito_verificador(corpo)
    items, v_prod = [], Decimal(0)
    for n in range(1, rng.randrange(1, 13)):
        name, ncm, cfop = rng.choice(PRODUCTS)
        quantity = Decimal(rng.randrange(1, 50))
        price = Decimal(rng.randrange(100, 50000)) / 100
        value = (quantity * price).quantize(Decimal("0.01"))
        v_prod += value
        icms = (value * Decimal("0.18")).quantize(Decimal("0.01"))
        items.append(
            f'<det nItem="{n}"><prod><cProd>{1000 + n}</cProd><cEAN>SEM GTIN</cEAN>'
            f"<xProd>{name}</xProd><NCM>{ncm}</NCM><CFOP>{cfop}</CFOP><uCom>UN</uCom>"
            f"<qCom>{quantity}.0000</qCom><vUnCom>{price}</vUnCom><vProd>{value}</vProd>"
            f"<cEANTrib>SEM GTIN</cEANTrib><uTrib>UN</uTrib><qTrib>{quantity}.0000</qTrib>"
            f"<vUnTrib>{price}</vUnTrib><indTot>1</indTot></prod><imposto><ICMS><ICMS00>"
            f"<orig>0</orig><CST>00</CST><modBC>3</modBC><vBC>{value}</vBC><pICMS>18.00</pICMS>"
            f"<vICMS>{icms}</vICMS></ICMS00></ICMS><PIS><PISAliq><CST>01</CST><vBC>{value}</vBC>"
            f"<pPIS>1.65</pPIS><vPIS>0.00</vPIS></PISAliq></PIS></imposto></det>"
        )
    frete = Decimal(rng.randrange(0, 5000)) / 100
    v_nf = v_prod + frete
    digest = base64.b64encode(rng.randbytes(20)).decode()
    signature = base64.b64encode(rng.randbytes(256)).decode()
    certificate = base64.b64encode(rng.randbytes(1400)).decode()
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><nfeProc xmlns="{NFE_NS}" versao="4.00">'
        f'<NFe xmlns="{NFE_NS}"><infNFe Id="NFe{chave}" versao="4.00"><ide><cUF>35</cUF>'
        f"<cNF>{cnf}</cNF><natOp>VENDA DE MERCADORIA</natOp><mod>55</mod><serie>1</serie>"
        f"<nNF>{numero}</nNF><dhEmi>{dh_emi}</dhEmi><tpNF>1</tpNF><idDest>1</idDest>"
        f"<cMunFG>3550308</cMunFG><tpImp>1</tpImp><tpEmis>1</tpEmis><cDV>{chave[-1]}</cDV>"
        f"<tpAmb>1</tpAmb><finNFe>1</finNFe><indFinal>0</indFinal><indPres>1</indPres>"
        f"<procEmi>0</procEmi><verProc>FazNota 3.2</verProc></ide><emit><CNPJ>{CLIENT_CNPJ}"
        f"</CNPJ><xNome>ACME COMERCIO DE FERRAGENS LTDA</xNome><xFant>ACME</xFant>"
        f"{_address(rng, 'enderEmit')}<IE>123456789110</IE><CRT>3</CRT></emit>"
        f"<dest><CNPJ>{_cnpj(rng)}</CNPJ><xNome>CLIENTE {numero} LTDA</xNome>"
        f"{_address(rng, 'enderDest')}<indIEDest>1</indIEDest><IE>987654321</IE></dest>"
        f"{''.join(items)}<total><ICMSTot><vBC>{v_prod}</vBC><vICMS>0.00</vICMS>"
        f"<vProd>{v_prod}</vProd><vFrete>{frete}</vFrete><vDesc>0.00</vDesc>"
        f"<vNF>{v_nf}</vNF></ICMSTot></total><transp><modFrete>0</modFrete></transp>"
        f"<pag><detPag><tPag>15</tPag><vPag>{v_nf}</vPag></detPag></pag></infNFe>"
        f'<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>'
        f'<CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
        f'<SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/>'
        f'<Reference URI="#NFe{chave}"><DigestValue>{digest}</DigestValue></Reference>'
        f"</SignedInfo><SignatureValue>{signature}</SignatureValue><KeyInfo><X509Data>"
        f"<X509Certificate>{certificate}</X509Certificate></X509Data></KeyInfo></Signature>"
        f'</NFe><protNFe versao="4.00"><infProt><tpAmb>1</tpAmb><verAplic>SP_NFE_PL009_V4'
        f"</verAplic><chNFe>{chave}</chNFe><dhRecbto>{dh_emi}</dhRecbto>"
        f"<nProt>1352600{numero:08d}</nProt><digVal>{digest}</digVal><cStat>100</cStat>"
        f"<xMotivo>Autorizado o uso da NF-e</xMotivo></infProt></protNFe></nfeProc>"
    )
    return chave, xml.encode()


def _cancellation(chave: str, numero: int) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><procEventoNFe xmlns="{NFE_NS}" versao="1.00">'
        f'<evento versao="1.00"><infEvento Id="ID110111{chave}01"><cOrgao>35</cOrgao>'
        f"<tpAmb>1</tpAmb><CNPJ>{CLIENT_CNPJ}</CNPJ><chNFe>{chave}</chNFe>"
        f"<dhEvento>2026-10-31T10:00:00-03:00</dhEvento><tpEvento>110111</tpEvento>"
        f'<nSeqEvento>1</nSeqEvento><verEvento>1.00</verEvento><detEvento versao="1.00">'
        f"<descEvento>Cancelamento</descEvento><nProt>1352600{numero:08d}</nProt>"
        f"<xJust>Pedido cancelado pelo cliente antes da entrega</xJust></detEvento>"
        f'</infEvento><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"/></evento>'
        f'<retEvento versao="1.00"><infEvento><tpAmb>1</tpAmb><verAplic>SP</verAplic>'
        f"<cOrgao>35</cOrgao><cStat>135</cStat><xMotivo>Evento registrado e vinculado a NF-e"
        f"</xMotivo><chNFe>{chave}</chNFe><tpEvento>110111</tpEvento><nSeqEvento>1</nSeqEvento>"
        f"<dhRegEvento>2026-10-31T10:00:05-03:00</dhRegEvento><nProt>1352600{numero + 1:08d}"
        f"</nProt></infEvento></retEvento></procEventoNFe>"
    ).encode()


def generate(count: int, cancelled_share: float, seed: int = 2026) -> Generated:
    """`count` authorized notes of one client in Oct/2026 and the cancellations of a share."""
    rng = random.Random(seed)
    notes, events = [], []
    for numero in range(1, count + 1):
        chave, data = _note(rng, numero)
        notes.append((f"{chave}-nfe.xml", data))
        if rng.random() < cancelled_share:
            events.append((f"{chave}-cancelamento.xml", _cancellation(chave, numero)))
    return Generated(notes, events)


def lxml_rate(files: list[tuple[str, bytes]]) -> float:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    start = time.perf_counter()
    for _, data in files:
        etree.fromstring(data, parser)
    return len(files) / (time.perf_counter() - start)


@contextmanager
def database(backend: str, pg_url: str) -> Iterator[str]:
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="fiscal-bench-")
        try:
            yield f"sqlite:///{folder}/bench.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"fiscal_bench_{os.getpid()}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class Target:
    client_id: int
    documento: str


def _client(uows: UnitOfWorkFactory) -> Target:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    uow = uows()
    with uow:
        gestor = Gestor(cnpj="10009001000150", razao_social="Escritório", created_at=now)
        uow.session.add(gestor)
        uow.session.flush()
        plan = uow.session.scalars(select(Plan).order_by(Plan.id)).first()
        assert plan is not None, "the migrations seed the catalog"
        client = Client(
            gestor_id=gestor.id, documento=CLIENT_CNPJ, razao_social="ACME", busca="acme",
            email="a@acme.com.br", telefone="11987654321", cep="01310100", endereco="Av",
            cidade="São Paulo", uf="SP", software_id=plan.software_id, plan_id=plan.id,
            status="efetivado", payer="gestor", created_via="cadastro", created_at=now,
            updated_at=now,
        )  # fmt: skip
        uow.session.add(client)
        uow.session.flush()
        uow.commit()
        return Target(client.id, CLIENT_CNPJ)


def ingest_rate(
    url: str, generated: Generated, workers: int
) -> tuple[float, float, float, dict[str, int]]:
    """(wall-clock docs/s, seconds, docs per CPU-second of this process, rows by situação)."""
    engine = make_engine(url)
    upgrade(engine)
    uows = UnitOfWorkFactory(make_session_factory(engine))
    target = _client(uows)
    files = [IncomingFile(name, data) for name, data in generated.files]
    start, cpu_start = time.perf_counter(), time.process_time()
    report = ingest(uows(), target, files, via="bench", workers=workers)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    uow = uows()
    with uow:
        rows = dict(
            uow.session.execute(
                select(FiscalDocument.situacao, func.count()).group_by(FiscalDocument.situacao)
            ).all()
        )
    engine.dispose()
    assert report.recusados == 0, report.refusals[:3]
    counts = {str(k): int(v) for k, v in rows.items()}
    return len(files) / elapsed, elapsed, len(files) / cpu, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--cancelled-share", type=float, default=0.03)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    generated = generate(args.notes, args.cancelled_share)
    sizes = [len(data) for _, data in generated.notes]
    print(
        f"Generated {len(generated.notes):,} nfeProc ({len(generated.events):,} cancelled, "
        f"with their procEventoNFe) for one client, {MONTH}; "
        f"mean {sum(sizes) / len(sizes) / 1024:.1f} KB, "
        f"total {sum(sizes) / 1024**2:.1f} MB"
    )
    print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    baseline = lxml_rate(generated.files)
    print(f"plain lxml parse (same files):       {baseline:8,.0f} docs/s")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        for workers in sorted({1, args.workers}):
            with database(backend, args.pg_url) as url:
                rate, elapsed, cpu_rate, rows = ingest_rate(url, generated, workers)
            # On one process the CPU-time rate is what an idle core gives (shared machines).
            cpu_note = f"; {cpu_rate:,.0f} docs per CPU-second" if workers == 1 else ""
            print(
                f"ingest through the service ({backend}, {workers} worker(s)): {rate:8,.0f} "
                f"docs/s ({len(generated.files):,} docs in {elapsed:.2f} s; "
                f"{rate / baseline:.0%} of lxml{cpu_note}) stored: {rows}"
            )


if __name__ == "__main__":
    main()
