"""The month question of XMLs emitidos and Relatórios e documentos, and Outro mês.

    mes ──► modelo                       Mês anterior / Mês atual (São Paulo months)
     └──► ano ──► mes_do_ano ──► modelo  Outro mês: only the years and months with emitted
                                         notes, each month with its count

Each of these steps also takes a month typed instead of pressed (`10/2026`, `outubro`,
`out/26`…; see domain/month_text.py) and goes straight on to the model question.
"""

from __future__ import annotations

from datetime import UTC, datetime

from domain.month_text import read_month
from handlers import texts
from handlers.core import Answer, Ctx, Data, Goto, Retry, Stay, Step, chosen, int_arg, nav, screen
from services import clients, fiscal_documents
from services.fiscal_documents import MonthTotal
from services.fiscal_prepare import TipoNota
from services.messages import Body, Choice, Text, TextBody

PREVIOUS_MONTH = Choice("mes:ant", texts.MES_ANTERIOR)
CURRENT_MONTH = Choice("mes:atual", texts.MES_ATUAL)
OTHER_MONTH = Choice("mes:outro", texts.OUTRO_MES)
# Where a chosen month leads, in both flows.
AFTER_MONTH = "modelo"
PER_ROW = 3


def month_label(competencia: str) -> str:
    """'2026-10' → '10/2026'."""
    year, month = competencia.split("-")
    return texts.MES_ANO.format(mes=int(month), ano=year)


def _client_name(ctx: Ctx, data: Data) -> str:
    """The client's name, checking role and tenancy again (the id sits in the flow data)."""
    return clients.open_management(ctx.uow, ctx.principal, int(data["cid"])).razao_social


def _months(ctx: Ctx, data: Data) -> tuple[MonthTotal, ...]:
    """The months with emitted notes (role and tenancy checked by the service), newest first."""
    return fiscal_documents.months_with_notes(
        ctx.uow, ctx.principal, int(data["cid"]), tipo=TipoNota.EMITIDA
    )


def _how_to_type(now: datetime) -> dict[str, str]:
    """The examples the texts show: Mês anterior as digits and by name (10/2026, outubro)."""
    anterior = fiscal_documents.competencia_anterior(now)
    return {
        "exemplo": month_label(anterior),
        "nome": texts.MESES[int(anterior[5:]) - 1].lower(),
    }


def _count(notas: int) -> str:
    """1412 → '1.412'."""
    return f"{notas:,}".replace(",", ".")


def typed_month(text: str, *, year: int | None = None) -> Answer:
    """A typed month: on to the model question, or say how to type one.

    A month name alone is the most recent such month (or that month of `year`, once a year
    was chosen); a month still to come is refused, since it cannot have notes yet.
    """
    now = datetime.now(UTC)
    atual = fiscal_documents.competencia_atual(now)
    competencia = read_month(text, atual, year=year)
    if competencia is None:
        return Retry(texts.MONTH_NOT_UNDERSTOOD.format(**_how_to_type(now)))
    if competencia > atual:
        return Retry(
            texts.MONTH_IN_FUTURE.format(
                mes=month_label(competencia), atual=month_label(atual), **_how_to_type(now)
            )
        )
    return Goto(AFTER_MONTH, {"comp": competencia})


def ask_month_for(icon: str, feature: str) -> Step:
    """A step asking Mês anterior / Mês atual / Outro mês (São Paulo months), or a typed one."""

    def ask(ctx: Ctx, data: Data) -> Text:
        """Offer the previous and the current month, and Outro mês."""
        now = datetime.now(UTC)
        text = texts.ASK_MONTH.format(
            icon=icon,
            feature=feature,
            name=_client_name(ctx, data),
            anterior=month_label(fiscal_documents.competencia_anterior(now)),
            atual=month_label(fiscal_documents.competencia_atual(now)),
            exemplo=_how_to_type(now)["exemplo"],
        )
        return screen(
            text, [PREVIOUS_MONTH, CURRENT_MONTH], [OTHER_MONTH], nav(cancel=False, menu=True)
        )

    def answer(ctx: Ctx, data: Data, body: Body) -> Answer:
        """Keep the chosen month (as AAAA-MM, fixed now) and ask the model; or pick a year."""
        if isinstance(body, TextBody):
            return typed_month(body.text)
        choice = chosen(body)
        now = datetime.now(UTC)
        if choice == PREVIOUS_MONTH.id:
            return Goto(AFTER_MONTH, {"comp": fiscal_documents.competencia_anterior(now)})
        if choice == CURRENT_MONTH.id:
            return Goto(AFTER_MONTH, {"comp": fiscal_documents.competencia_atual(now)})
        if choice == OTHER_MONTH.id:
            if not _months(ctx, data):
                return Stay(texts.NO_EMITTED_NOTES.format(name=_client_name(ctx, data)))
            return Goto("ano")
        return Retry(texts.USE_BUTTONS)

    return Step(ask, answer, accepts_text=True)


def other_month_steps(icon: str, feature: str) -> dict[str, Step]:
    """Outro mês: the year, then the month (with its count of notes); both take a typed month."""

    def ask_year(ctx: Ctx, data: Data) -> Text:
        """Offer the years with emitted notes, newest first."""
        years = sorted({month.ano for month in _months(ctx, data)}, reverse=True)
        buttons = [Choice(f"ano:{year}", str(year)) for year in years]
        name = _client_name(ctx, data)
        text = texts.ASK_OTHER_YEAR.format(icon=icon, feature=feature, name=name)
        return screen(text, *_rows(buttons), nav(cancel=False, menu=True))

    def answer_year(ctx: Ctx, data: Data, body: Body) -> Answer:
        """Keep the year and ask the month."""
        if isinstance(body, TextBody):
            return typed_month(body.text)
        year = int_arg(chosen(body), "ano")
        if year is None:
            return Retry(texts.USE_BUTTONS)
        return Goto("mes_do_ano", {"ano": year})

    def ask_month(ctx: Ctx, data: Data) -> Text:
        """Offer the year's months with emitted notes, in calendar order, with their counts."""
        year = int(data["ano"])
        months = sorted((m for m in _months(ctx, data) if m.ano == year), key=lambda m: m.mes)
        buttons = [Choice(f"mm:{m.mes}", _month_button(m)) for m in months]
        text = texts.ASK_OTHER_MONTH.format(
            icon=icon, feature=feature, name=_client_name(ctx, data), ano=year
        )
        return screen(text, *_rows(buttons), nav(cancel=False, menu=True))

    def answer_month(ctx: Ctx, data: Data, body: Body) -> Answer:
        """Keep the month (AAAA-MM) and ask the model; a month name typed here is of that year."""
        year = int(data["ano"])
        if isinstance(body, TextBody):
            return typed_month(body.text, year=year)
        month = int_arg(chosen(body), "mm")
        if month is None or not 1 <= month <= 12:
            return Retry(texts.USE_BUTTONS)
        return Goto(AFTER_MONTH, {"comp": f"{year:04d}-{month:02d}"})

    return {
        "ano": Step(ask_year, answer_year, accepts_text=True),
        "mes_do_ano": Step(ask_month, answer_month, accepts_text=True),
    }


def _month_button(month: MonthTotal) -> str:
    """`Out (412)`: the month, short, and how many notes it has."""
    return texts.MES_CONTAGEM.format(
        mes=texts.MESES_CURTOS[month.mes - 1], notas=_count(month.notas)
    )


def _rows(buttons: list[Choice]) -> list[list[Choice]]:
    return [buttons[i : i + PER_ROW] for i in range(0, len(buttons), PER_ROW)]
