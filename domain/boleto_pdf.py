"""The boleto of a fatura as a one-page PDF: receipt, ficha de compensação, ITF barcode and PIX.

Pure drawing from values already computed (domain/boleto.py, domain/pix.py): the clock comes in
as an argument, so the same input gives the same bytes. An unregistered boleto says so in red,
in the header and across the ficha, and points to the PIX.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import segno
from fpdf import FPDF
from fpdf.enums import WrapMode

from domain.money import format_brl

NOT_REGISTERED = "NÃO REGISTRADO"
_LEFT = 10.0
_WIDTH = 190.0
# ITF: fpdf2 draws wide bars `w` and narrow ones w/3; 44 digits take about 135 w (≈ 103 mm).
_WIDE_BAR = 0.762
_BAR_HEIGHT = 13.0


@dataclass(frozen=True, slots=True)
class BoletoLine:
    description: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class BoletoSheet:
    bank_code: str  # "341-7"
    bank_name: str
    beneficiary: str  # name — CNPJ
    beneficiary_address: str
    agencia_codigo: str  # "0057 / 12345-6"
    carteira: str
    nosso_numero: str  # "109/00000042-5"
    numero_documento: str
    payer: str  # name — CNPJ
    payer_address: str
    due_date: date
    amount: Decimal
    linha_digitavel: str  # formatted
    barcode: str  # 44 digits
    pix_payload: str
    competencia: str  # "10/2026"
    lines: Sequence[BoletoLine]
    registered: bool


def _latin1(text: str) -> str:
    """The core PDF fonts speak Latin-1: swap the few typographic characters they lack."""
    replaced = (
        text.replace("—", "-")
        .replace("–", "-")
        .replace("“", '"')
        .replace("”", '"')
        .replace("’", "'")
        .replace("•", "-")
        .replace("›", ">")
    )
    return replaced.encode("latin-1", "replace").decode("latin-1")


class _Sheet(FPDF):
    def field(
        self, x: float, y: float, w: float, label: str, value: str, *, bold: bool = False
    ) -> None:
        """A labelled box of the ficha."""
        self.rect(x, y, w, 9)
        self.set_xy(x + 1, y + 0.6)
        self.set_font("Helvetica", "", 6)
        self.cell(w - 2, 2.8, _latin1(label))
        self.set_xy(x + 1, y + 3.8)
        self.set_font("Helvetica", "B" if bold else "", 8.5)
        self.cell(w - 2, 4.5, _latin1(value))


def _date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def render_boleto(sheet: BoletoSheet, *, now: datetime) -> bytes:
    """The PDF bytes; `now` is printed as the issue time and stamped as the creation date."""
    pdf = _Sheet(orientation="P", unit="mm", format="A4")
    pdf.set_creation_date(now)
    pdf.set_title(_latin1(f"Boleto - fatura {sheet.competencia}"))
    pdf.set_author("RevendaBot")
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    y = 10.0
    if not sheet.registered:
        pdf.set_fill_color(200, 0, 0)
        pdf.set_text_color(255, 255, 255)
        pdf.set_font("Helvetica", "B", 12)
        pdf.set_xy(_LEFT, y)
        pdf.cell(_WIDTH, 8, _latin1(f"BOLETO {NOT_REGISTERED}"), align="C", fill=True)
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("Helvetica", "", 8)
        pdf.set_xy(_LEFT, y + 8.5)
        pdf.multi_cell(
            _WIDTH,
            3.8,
            _latin1(
                "Este boleto não foi registrado em banco: o banco pode recusar o pagamento pelo "
                "código de barras. Pague pelo PIX (copia e cola ou QR code) no fim da página."
            ),
            align="C",
        )
        y += 17
    # Receipt: the fatura and its lines.
    pdf.set_font("Helvetica", "B", 13)
    pdf.set_xy(_LEFT, y)
    pdf.cell(_WIDTH, 7, _latin1(f"Fatura RevendaBot - competência {sheet.competencia}"))
    y += 8
    pdf.set_font("Helvetica", "", 8.5)
    pdf.set_xy(_LEFT, y)
    pdf.cell(_WIDTH, 4.5, _latin1(f"Beneficiário: {sheet.beneficiary}"))
    pdf.set_xy(_LEFT, y + 4.5)
    pdf.cell(_WIDTH, 4.5, _latin1(f"Pagador: {sheet.payer}"))
    pdf.set_xy(_LEFT, y + 9)
    pdf.cell(
        _WIDTH,
        4.5,
        _latin1(
            f"Vencimento: {_date(sheet.due_date)}    Valor: {format_brl(sheet.amount)}    "
            f"Emitido em {now:%d/%m/%Y %H:%M} UTC"
        ),
    )
    y += 15
    shown = list(sheet.lines[:12])
    for line in shown:
        pdf.set_xy(_LEFT, y)
        pdf.cell(160, 4, _latin1(line.description[:95]))
        pdf.cell(30, 4, _latin1(format_brl(line.amount)), align="R")
        y += 4
    if len(sheet.lines) > len(shown):
        pdf.set_xy(_LEFT, y)
        rest = len(sheet.lines) - len(shown)
        pdf.cell(_WIDTH, 4, _latin1(f"... e mais {rest} cliente(s): veja Minhas faturas no chat."))
        y += 4
    y = max(y + 4, 95.0)
    _ficha(pdf, sheet, y)
    _pix(pdf, sheet, y + 78)
    return bytes(pdf.output())


def _ficha(pdf: _Sheet, sheet: BoletoSheet, y: float) -> None:
    """The ficha de compensação: bank, linha digitável, the boxes and the ITF barcode."""
    pdf.set_line_width(0.2)
    pdf.set_dash_pattern(dash=1, gap=1)
    pdf.line(_LEFT, y - 3, _LEFT + _WIDTH, y - 3)
    pdf.set_dash_pattern()
    pdf.set_font("Helvetica", "B", 12)
    pdf.set_xy(_LEFT, y)
    pdf.cell(35, 7, _latin1(sheet.bank_name))
    pdf.cell(18, 7, sheet.bank_code, border="LR", align="C")
    pdf.set_font("Helvetica", "B", 10.5)
    pdf.cell(137, 7, sheet.linha_digitavel, align="R")
    y += 8
    right = 50.0
    main = _WIDTH - right
    xr = _LEFT + main
    pdf.field(_LEFT, y, main, "Local de pagamento", "Pagável em qualquer banco até o vencimento")
    pdf.field(xr, y, right, "Vencimento", _date(sheet.due_date), bold=True)
    y += 9
    pdf.field(_LEFT, y, main, "Beneficiário", sheet.beneficiary)
    pdf.field(xr, y, right, "Agência / Código do beneficiário", sheet.agencia_codigo)
    y += 9
    pdf.field(_LEFT, y, 45, "Data do documento", "")
    pdf.field(_LEFT + 45, y, 45, "Número do documento", sheet.numero_documento)
    pdf.field(_LEFT + 90, y, 25, "Carteira", sheet.carteira)
    pdf.field(_LEFT + 115, y, main - 115, "Espécie", "R$")
    pdf.field(xr, y, right, "Nosso número", sheet.nosso_numero)
    y += 9
    instructions = "Fatura mensal do RevendaBot. Não receber após 60 dias do vencimento."
    if not sheet.registered:
        instructions = f"BOLETO {NOT_REGISTERED}: prefira pagar pelo PIX."
    pdf.field(_LEFT, y, main, "Instruções", instructions, bold=not sheet.registered)
    pdf.field(xr, y, right, "(=) Valor do documento", format_brl(sheet.amount), bold=True)
    y += 9
    pdf.field(_LEFT, y, _WIDTH, "Pagador", f"{sheet.payer} - {sheet.payer_address}")
    y += 12
    pdf.set_fill_color(0, 0, 0)
    pdf.interleaved2of5(sheet.barcode, x=_LEFT, y=y, w=_WIDE_BAR, h=_BAR_HEIGHT)
    pdf.set_font("Helvetica", "", 6)
    pdf.set_xy(_LEFT + 120, y)
    pdf.cell(70, 3, "Autenticação mecânica - Ficha de compensação", align="R")


def _pix(pdf: _Sheet, sheet: BoletoSheet, y: float) -> None:
    """The PIX copia e cola and its QR code."""
    buffer = io.BytesIO()
    segno.make(sheet.pix_payload, error="m").save(buffer, kind="png", scale=6, border=2)
    buffer.seek(0)
    pdf.image(buffer, x=_LEFT, y=y, w=45, h=45)
    pdf.set_font("Helvetica", "B", 11)
    pdf.set_xy(_LEFT + 50, y)
    pdf.cell(140, 6, _latin1(f"Pague com PIX: {format_brl(sheet.amount)}"))
    pdf.set_font("Helvetica", "", 8)
    pdf.set_xy(_LEFT + 50, y + 7)
    pdf.multi_cell(140, 4, _latin1("PIX copia e cola (copie o código inteiro):"))
    pdf.set_font("Courier", "", 7.5)
    pdf.set_xy(_LEFT + 50, y + 12)
    pdf.multi_cell(140, 3.6, sheet.pix_payload, wrapmode=WrapMode.CHAR)
