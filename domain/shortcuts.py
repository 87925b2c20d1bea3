"""Typed shortcuts: a line in pt-BR (`xml padaria outubro`, `relatório padaria set/26 nfce`,
`certificado padaria`, `faturas`, `link novo cliente`) → what to do, for which client, month and
model. Pure: no I/O; the dialogue (handlers/shortcuts.py) resolves the client and acts.

How a line is read:
- Folded (case and accents), NF-e / NFC-e written any way (`nf-e`, `nfc e`, `modelo 65`).
- The month, in any form domain/month_text.py reads (`10/2026`, `outubro`, `out/26`,
  `outubro de 2026`), or `mês passado` / `mês atual`. A month name typed with a small typo
  (`otubro`) counts too. A shortened name without a year (`out`, `mar`) or `marco` counts only as
  the last word: elsewhere it is more likely part of a name ("Mar Azul", "Marco Polo").
- Keywords and their synonyms, anywhere in the line, tolerant of typos (`relatóri`,
  `certifcado`, `fatruas`) and of plurals. Exact words win over corrected ones; with a month or a
  model the fiscal action wins; otherwise the first keyword in the line decides, and the other
  keywords go back to the client's name ("xml Contrato Engenharia outubro": the XMLs of Contrato
  Engenharia).
- What is left, without filler words ("de", "quero", "por favor"…), is the client: part of its name
  or of its CNPJ/CPF.
A line with no keyword (a greeting, a name, a CNPJ alone) is not a shortcut.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein

from domain.fiscal import Modelo
from domain.month_text import MONTH_NAMES, read_month
from domain.text import fold


class Action(StrEnum):
    # Gerenciar of one client (gestor only)
    EMITIDOS = "emitidos"
    RELATORIOS = "relatorios"
    FORNECEDORES = "fornecedores"
    CONFIGURACOES = "configuracoes"
    CERTIFICADO = "certificado"
    ENVIAR_CERTIFICADO = "enviar_certificado"
    CHAVE = "chave"
    CONTRATO = "contrato"
    SOFTWARE = "software"
    ACESSO = "acesso"
    GERENCIAR = "gerenciar"
    HISTORICO = "historico"
    # One client's card, the list (everyone)
    CLIENTE = "cliente"
    CLIENTES = "clientes"
    # Novo cliente (gestor only)
    NOVO_CLIENTE = "novo_cliente"
    NOVO_CADASTRO = "novo_cadastro"
    LINK = "link"
    LINKS_ENVIADOS = "links_enviados"
    # Meus dados
    MEUS_DADOS = "meus_dados"
    SENHA = "senha"
    PAGAMENTO = "pagamento"
    FATURAS = "faturas"
    BOLETO = "boleto"
    AJUDA = "ajuda"

    @property
    def client_scoped(self) -> bool:
        return self in _CLIENT_SCOPED

    @property
    def fiscal(self) -> bool:
        return self in _FISCAL

    @property
    def gestor_only(self) -> bool:
        """Hidden from the contador, as its buttons are (the services refuse it anyway)."""
        return self not in _EVERYONE


_FISCAL = frozenset({Action.EMITIDOS, Action.RELATORIOS, Action.FORNECEDORES})
_CLIENT_SCOPED = _FISCAL | {
    Action.CONFIGURACOES,
    Action.CERTIFICADO,
    Action.ENVIAR_CERTIFICADO,
    Action.CHAVE,
    Action.CONTRATO,
    Action.SOFTWARE,
    Action.ACESSO,
    Action.GERENCIAR,
    Action.HISTORICO,
    Action.CLIENTE,
}
_EVERYONE = frozenset({Action.CLIENTE, Action.CLIENTES, Action.MEUS_DADOS, Action.AJUDA})


@dataclass(frozen=True, slots=True)
class Shortcut:
    action: Action
    client: str | None = None  # part of the client's name or CPF/CNPJ, as typed (folded)
    month: str | None = None  # competência AAAA-MM
    model: Modelo | None = None


# -- vocabulary ----------------------------------------------------------------------------------

A = Action


def _words(text: str) -> list[str]:
    return text.split()


# Keywords (folded, singular and plural where they differ).
_KEYWORDS: dict[str, Action] = {
    **dict.fromkeys(
        ("xml", "xmls", "nota", "notas", "nf", "nfs", "emitida", "emitidas", "emitido"), A.EMITIDOS
    ),
    **dict.fromkeys(("emitidos", "emissao", "emissoes", "zip"), A.EMITIDOS),
    **dict.fromkeys(("relatorio", "relatorios", "danfe", "danfes", "danfce"), A.RELATORIOS),
    **dict.fromkeys(
        ("fornecedor", "fornecedores", "recebida", "recebidas", "entrada", "entradas"),
        A.FORNECEDORES,
    ),
    **dict.fromkeys(("configuracoes", "configuracao", "config", "configurar"), A.CONFIGURACOES),
    **dict.fromkeys(("ajustes",), A.CONFIGURACOES),
    **dict.fromkeys(("certificado", "certificados", "cert", "pfx", "a1"), A.CERTIFICADO),
    **dict.fromkeys(("chave", "chaves", "token", "integracao"), A.CHAVE),
    **dict.fromkeys(("contrato", "contratos"), A.CONTRATO),
    **dict.fromkeys(("plano", "planos", "software", "sistema"), A.SOFTWARE),
    **dict.fromkeys(("acessar", "acesso", "login", "logar", "entrar"), A.ACESSO),
    **dict.fromkeys(("gerenciar",), A.GERENCIAR),
    **dict.fromkeys(("historico", "auditoria"), A.HISTORICO),
    **dict.fromkeys(("cliente",), A.CLIENTE),
    **dict.fromkeys(("clientes", "buscar", "busca", "procurar", "pesquisar"), A.CLIENTES),
    **dict.fromkeys(("cadastro", "cadastrar"), A.NOVO_CADASTRO),
    **dict.fromkeys(("link", "contratacao"), A.LINK),
    **dict.fromkeys(("links",), A.LINKS_ENVIADOS),
    **dict.fromkeys(("perfil",), A.MEUS_DADOS),
    **dict.fromkeys(("senha",), A.SENHA),
    **dict.fromkeys(("pagamento", "pagamentos"), A.PAGAMENTO),
    **dict.fromkeys(
        ("fatura", "faturas", "mensalidade", "mensalidades", "cobranca", "cobrancas"), A.FATURAS
    ),
    **dict.fromkeys(("boleto", "boletos"), A.BOLETO),
    **dict.fromkeys(("ajuda", "help", "atalhos", "comandos"), A.AJUDA),
}
# Generic words: they say "something fiscal" or "a client" without naming an action, so any
# other keyword beats them, and they never stay in the client's name.
_WEAK = frozenset({"cliente", "clientes", "buscar", "busca", "procurar", "pesquisar"})
_WEAK_ORDER = (A.CLIENTES, A.CLIENTE)
# Words that say what, never who: they never stay in the client's name.
_NEVER_NAME = _WEAK | {"xml", "xmls", "nota", "notas", "nf", "nfs"}
# Words that change an action: Novo + cliente, Enviar + certificado, Links + enviados.
_NEW = frozenset({"novo", "nova", "novos", "adicionar", "incluir"})
_SEND = frozenset({"enviar", "envia", "envie", "subir", "carregar", "upload", "renovar", "trocar"})
_SENT = frozenset({"enviado", "enviados", "enviada", "enviadas", "meus"})
# Said around the request; never part of a client's name.
_FILLERS = frozenset(
    _words("""
    a o as os um uma de do da dos das e em no na nos nas para pra pro por com sem ao aos
    me mim meu minha meus minhas seu sua eu voce vc
    quero queria preciso gostaria pode poderia consegue favor pf pfv pls obrigado
    ver veja vejo mostrar mostra mostre abrir abre abra baixar baixa baixe gerar gera gere
    manda mandar mande pegar pega puxar puxa tirar ir vai ai la aqui agora hoje
    mes mensal referente ref competencia todos todas todo toda qual quais onde cade dados
    oi ola bom boa dia tarde noite deste desse neste nesse este esse isso isto
    """)
)
# Common words one slip away from a keyword, never taken for it.
_NOT_TYPOS = frozenset({"contato", "contatos", "planta", "plana"})
# Short keywords are taken only as typed (a typo of "xml" is anything).
_FUZZY_MIN = 5
_MONTH_TYPO_MIN = 7  # janeiro, fevereiro, setembro… (not "agosto"/"augusto", "marco"/"marcos")
# "marco" folded is also a first name; like a shortened month, it counts only as the last word.
_AMBIGUOUS_MONTHS = frozenset({"marco"})

_DIGIT_SEPARATOR = re.compile(r"(?<=\d)\s*([/.\-])\s*(?=\d)")
_APOSTROPHE = re.compile(r"['’`´]")
_NFCE = re.compile(r"\bnf\s*-?\s*c\s*-?\s*(?:es?)?\b|\bmod(?:elo)?\.?\s*65\b|\bcupo(?:m|ns)\b")
_NFE = re.compile(r"\bnf\s*-?\s*es?\b|\bmod(?:elo)?\.?\s*55\b")
_SECOND_COPY = re.compile(r"\b(?:2a?|segunda)\s*via\b")
_LEADING_LETTERS = re.compile(r"[a-z]*")
_TOKEN = re.compile(r"[a-z0-9]+(?:[/.\-][a-z0-9]+)*")
_RELATIVE = (
    (("mes", "passado"), -1),
    (("mes", "anterior"), -1),
    (("ultimo", "mes"), -1),
    (("mes", "atual"), 0),
    (("este", "mes"), 0),
    (("esse", "mes"), 0),
    (("neste", "mes"), 0),
    (("nesse", "mes"), 0),
    (("mes", "corrente"), 0),
)
# Phrases read before single words (folded tokens, after fillers are kept in place).
_PHRASES: tuple[tuple[tuple[str, ...], Action], ...] = (
    (("meus", "dados"), A.MEUS_DADOS),
    (("novo", "cadastro"), A.NOVO_CADASTRO),
    (("novo", "cliente"), A.NOVO_CLIENTE),
    (("cliente", "novo"), A.NOVO_CLIENTE),
    (("links", "enviados"), A.LINKS_ENVIADOS),
    (("minhas", "faturas"), A.FATURAS),
    (("forma", "de", "pagamento"), A.PAGAMENTO),
    (("chave", "de", "integracao"), A.CHAVE),
    (("certificado", "digital"), A.CERTIFICADO),
    (("notas", "de", "fornecedores"), A.FORNECEDORES),
)
# Up to this many unknown words may come with an action that needs no client ("quero ver as
# faturas deste mes"); more, and the line is a sentence that merely mentions the word.
_MAX_STRAY_WORDS = 1


@dataclass(slots=True)
class _Hit:
    at: int
    action: Action
    exact: bool
    tokens: tuple[int, ...]


def read_shortcut(text: str, current: str) -> Shortcut | None:
    """The shortcut `text` asks for; None when it is not one. `current` is today's AAAA-MM."""
    if "@" in text or "://" in text:  # an e-mail or an address, never a request
        return None
    tokens = _tokens(text)
    if not tokens or len(tokens) > 16:
        return None
    used: set[int] = set()
    month = _take_month(tokens, current, used)
    model = _take_model(tokens, used)
    hits = _take_keywords(tokens, used)
    if not hits:
        if model is None:
            return None
        hits = []  # a model alone ("nfce padaria 10/2026") means XMLs emitidos
    action, consumed = _decide(tokens, hits, has_params=month is not None or model is not None)
    used |= consumed
    rest = [
        t
        for i, t in enumerate(tokens)
        if i not in used
        and t not in _FILLERS
        and t not in _NEVER_NAME
        and not _modifies(t, action)
    ]
    if not action.client_scoped and action is not A.CLIENTES:
        if len(rest) > _MAX_STRAY_WORDS:
            return None
        if action not in (A.FATURAS, A.BOLETO):
            month = None
        return Shortcut(action, month=month)
    client = " ".join(rest)[:60] or None
    if not action.fiscal:
        month = model = None
    elif action is A.FORNECEDORES:
        model = None  # supplier notes are all NF-e
    return Shortcut(action, client, month, model)


def _modifies(token: str, action: Action) -> bool:
    """ "enviar", "enviados" never name a client; "novo" does ("Novo Horizonte") unless it made
    the action (Novo cliente, a new certificate)."""
    if token in _SEND or token in _SENT:
        return True
    return token in _NEW and action in (A.NOVO_CLIENTE, A.ENVIAR_CERTIFICADO)


# -- reading ------------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    folded = _APOSTROPHE.sub("", fold(text))
    folded = _DIGIT_SEPARATOR.sub(r"\1", folded)
    folded = _NFCE.sub(" nfce ", folded)
    folded = _NFE.sub(" nfe ", folded)
    folded = _SECOND_COPY.sub(" boleto ", folded)
    tokens = []
    for token in _TOKEN.findall(folded):
        if not any(ch.isdigit() for ch in token):
            token = re.sub(r"[/.\-]", "", token)
        tokens.append(token)
    return tokens


def _take_month(tokens: list[str], current: str, used: set[int]) -> str | None:
    for i in range(len(tokens) - 1):
        for phrase, offset in _RELATIVE:
            if tuple(tokens[i : i + len(phrase)]) == phrase:
                used.update(range(i, i + len(phrase)))
                return current if offset == 0 else _previous(current)
    for size in (3, 2, 1):
        for i in range(len(tokens) - size + 1):
            span = tokens[i : i + size]
            month = _month_of(span, current, last=i + size == len(tokens))
            if month is not None:
                used.update(range(i, i + size))
                return month
    return None


def _month_of(span: list[str], current: str, *, last: bool) -> str | None:
    letters = _LEADING_LETTERS.match(span[0])
    name = letters.group() if letters else ""
    if len(span) == 1 and name == span[0] and name not in MONTH_NAMES:
        name = _month_typo(name) or name
    text = " ".join([name + span[0][len(name) :], *span[1:]]) if name else " ".join(span)
    month = read_month(text, current)
    if month is None or not name:
        return month
    has_year = len(span) > 1 or any(ch.isdigit() for ch in span[0])
    full = name in MONTH_NAMES and name not in _AMBIGUOUS_MONTHS
    return month if full or has_year or last else None


def _month_typo(word: str) -> str | None:
    """`otubro` → `outubro` (one slip, long names only)."""
    if len(word) < _MONTH_TYPO_MIN - 1:
        return None
    close = [
        full
        for full in MONTH_NAMES
        if len(full) >= _MONTH_TYPO_MIN and DamerauLevenshtein.distance(word, full) <= 1
    ]
    return close[0] if len(close) == 1 else None


def _previous(competencia: str) -> str:
    year, month = (int(part) for part in competencia.split("-"))
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def _take_model(tokens: list[str], used: set[int]) -> Modelo | None:
    found = {
        i: Modelo.NFCE if t in ("nfce", "danfce") else Modelo.NFE
        for i, t in enumerate(tokens)
        if i not in used and t in ("nfe", "nfce", "danfce")
    }
    models = set(found.values())
    # "danfce" also names the report (Relatórios): it stays a keyword
    used.update(i for i in found if tokens[i] != "danfce")
    return models.pop() if len(models) == 1 else None


def _take_keywords(tokens: list[str], used: set[int]) -> list[_Hit]:
    hits: list[_Hit] = []
    taken: set[int] = set()
    for phrase, action in _PHRASES:
        for i in range(len(tokens) - len(phrase) + 1):
            span = range(i, i + len(phrase))
            if tuple(tokens[i : i + len(phrase)]) == phrase and not (set(span) & (used | taken)):
                hits.append(_Hit(i, action, True, tuple(span)))
                taken.update(span)
    for i, token in enumerate(tokens):
        if i in used or i in taken or token in _FILLERS or token.isdigit():
            continue
        keyword = _KEYWORDS.get(token)
        if keyword is not None:
            hits.append(_Hit(i, keyword, True, (i,)))
            continue
        if token in _NEW or token in _SEND or token in _SENT:
            continue
        guess = _keyword_typo(token)
        if guess is not None:
            hits.append(_Hit(i, guess, False, (i,)))
    hits.sort(key=lambda hit: hit.at)
    return hits


def _keyword_typo(token: str) -> Action | None:
    """`relatori`, `relatroio`, `certifcado`, `fatruas` → their action; None when unsure."""
    if len(token) < _FUZZY_MIN or token in _NOT_TYPOS or any(ch.isdigit() for ch in token):
        return None
    found: set[Action] = set()
    for word, action in _KEYWORDS.items():
        if len(word) < _FUZZY_MIN:
            continue
        allowed = 1 if len(word) <= 7 else 2
        prefix = len(token) >= _FUZZY_MIN and word.startswith(token)
        if prefix or DamerauLevenshtein.distance(token, word, score_cutoff=allowed) <= allowed:
            found.add(action)
    return found.pop() if len(found) == 1 else None


def _decide(tokens: list[str], hits: list[_Hit], *, has_params: bool) -> tuple[Action, set[int]]:
    """The action the hits ask for, and the tokens that said it."""
    if not hits:
        return A.EMITIDOS, set()
    words = {tokens[i] for hit in hits for i in hit.tokens}
    present = {hit.action for hit in hits}
    modifiers = {i for i, t in enumerate(tokens) if t in _NEW or t in _SEND or t in _SENT}
    chosen = _combined(present, words, {tokens[i] for i in modifiers})
    if chosen is None:
        fiscal = [hit for hit in hits if hit.action.fiscal]
        strong = [hit for hit in hits if not {tokens[i] for i in hit.tokens} <= _WEAK]
        if has_params and fiscal:
            chosen = _fiscal_choice(fiscal)
        elif strong:
            exact = [hit for hit in strong if hit.exact]
            chosen = (exact or strong)[0].action
            if chosen.fiscal:
                chosen = _fiscal_choice(fiscal)
        else:
            chosen = next(action for action in _WEAK_ORDER if action in present)
    family = _FAMILY.get(chosen, {chosen})
    consumed = {i for hit in hits if hit.action in family for i in hit.tokens}
    return chosen, consumed


_FISCAL_RANK = (A.FORNECEDORES, A.RELATORIOS, A.EMITIDOS)


def _fiscal_choice(hits: list[_Hit]) -> Action:
    """Supplier notes, then the report, then the XMLs: "xml de fornecedores" is the suppliers',
    "relatório das notas" is the report."""
    return min((hit.action for hit in hits), key=_FISCAL_RANK.index)


# Keywords spent by an action made of several (their words never stay in the client's name).
_FAMILY: dict[Action, set[Action]] = {
    A.NOVO_CLIENTE: {A.NOVO_CLIENTE, A.CLIENTE, A.CLIENTES},
    A.ENVIAR_CERTIFICADO: {A.CERTIFICADO},
    A.LINK: {A.LINK, A.NOVO_CLIENTE, A.CLIENTE, A.CLIENTES},
    A.LINKS_ENVIADOS: {A.LINK, A.LINKS_ENVIADOS},
    A.ACESSO: {A.ACESSO, A.SOFTWARE},
    A.FORNECEDORES: set(_FISCAL_RANK),
    A.RELATORIOS: {A.RELATORIOS, A.EMITIDOS},
    A.BOLETO: {A.BOLETO, A.FATURAS},
}


def _combined(present: set[Action], words: set[str], modifiers: set[str]) -> Action | None:
    """Actions said with two words: a link (with "novo cliente" or not), Links enviados,
    Novo cliente, Enviar certificado, Acessar software, a boleto of the faturas."""
    if A.LINKS_ENVIADOS in present or (A.LINK in present and modifiers & _SENT - {"meus"}):
        return A.LINKS_ENVIADOS
    if A.LINK in present:
        return A.LINK
    managing = present & (_CLIENT_SCOPED - {A.CLIENTE})
    if not managing and (A.NOVO_CLIENTE in present or (modifiers & _NEW and "cliente" in words)):
        return A.NOVO_CLIENTE
    if A.CERTIFICADO in present and modifiers & (_NEW | _SEND):
        return A.ENVIAR_CERTIFICADO
    if A.ACESSO in present and A.SOFTWARE in present:
        return A.ACESSO
    if A.BOLETO in present and A.FATURAS in present:
        return A.BOLETO
    return None


# -- which client ---------------------------------------------------------------------------------


class Named(Protocol):
    """A client as the list shows it (services.clients.ClientSummary)."""

    @property
    def id(self) -> int: ...
    @property
    def razao_social(self) -> str: ...
    @property
    def nome_fantasia(self) -> str | None: ...
    @property
    def documento(self) -> str: ...


T = TypeVar("T", bound=Named)
# Words of company names that tell nothing apart.
_NAME_NOISE = frozenset(_words("ltda ltd me epp eireli sa cia mei de da do das dos e"))
_MIN_DIGITS = 3
# Matches this close to the best one are offered together ("padaria" → every padaria).
_TIE = 3.0


def match_clients(query: str, candidates: Sequence[T]) -> list[T]:
    """The clients `query` names, best first: by part of the CPF/CNPJ (digits only), or by the
    words of the razão social / nome fantasia, each typed word matching a word of the name
    exactly, as its beginning, or with a typo or two. Every typed word must match."""
    folded = fold(query)
    digits = "".join(ch for ch in folded if ch.isdigit())
    if not any(ch.isalpha() for ch in folded):
        if len(digits) < _MIN_DIGITS:
            return []
        found = [c for c in candidates if digits in c.documento]
        return sorted(found, key=lambda c: fold(c.razao_social))
    words = [w for w in _name_words(folded) if w not in _NAME_NOISE] or _name_words(folded)
    for candidate in candidates:
        names = (candidate.razao_social, candidate.nome_fantasia or "")
        if any(fold(name) == folded for name in names if name):
            return [candidate]  # the whole name, as typed: no doubt left
    scored = []
    for candidate in candidates:
        score = _score(words, candidate)
        if score > 0:
            scored.append((score, candidate))
    if not scored:
        return []
    best = max(score for score, _ in scored)
    close = [(s, c) for s, c in scored if s >= best - _TIE]
    close.sort(key=lambda sc: (-sc[0], fold(sc[1].razao_social)))
    return [c for _, c in close]


def _name_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text)


def _score(words: list[str], candidate: Named) -> float:
    name = fold(f"{candidate.razao_social} {candidate.nome_fantasia or ''}")
    parts = _name_words(name)
    # "paoquente" typed for "Pão Quente": adjacent words joined count as one word too
    parts += [a + b for a, b in itertools.pairwise(parts)]
    total = 0.0
    for word in words:
        if any(ch.isdigit() for ch in word) and len(word) >= _MIN_DIGITS:
            best = 100.0 if word in candidate.documento or word in parts else 0.0
        else:
            best = max((_word_score(word, part) for part in parts), default=0.0)
        if best == 0:
            return 0.0
        total += best
    return total / len(words)


def _word_score(word: str, part: str) -> float:
    if word == part:
        return 100.0
    if len(word) >= 3 and part.startswith(word):
        return 95.0
    allowed = 0 if len(word) <= 3 else 1 if len(word) <= 6 else 2
    if allowed and DamerauLevenshtein.distance(word, part, score_cutoff=allowed) <= allowed:
        return float(fuzz.ratio(word, part))
    return 0.0
