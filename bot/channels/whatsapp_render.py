"""How neutral outbound messages look on WhatsApp (pure functions; the channel sends them).

WhatsApp's limits, per DESIGN.md "Renderers":
- up to 3 choices whose labels fit 20 characters → reply buttons;
- otherwise a list: up to 10 rows, titles of 24 characters (a longer label is cut, and the whole
  label goes in the row's description, so nothing is lost: the id carries the meaning anyway);
- more than 10 choices → pages of 9 rows plus "Mais opções", whose id (`~mais:<outbox id>:<page>`)
  the channel answers itself by sending the next page of the same outbox message;
- URL buttons become links written in the body; `edit` cannot be done, so a new message goes;
- a picture (a report's chart) goes as an image message, its caption cut like a document's;
- code spans (an integration key) go in ``` (monospace, easy to tell apart and select); a
  link stays as it is, so WhatsApp still makes it tappable;
- deleting a message, or taking its buttons off, is impossible: nothing is sent (the channel's
  capabilities say so, so the engine does not even ask).
Outside the 24-hour window only an approved template may go: its one body parameter carries the
text, flattened to a single line as Meta requires of template parameters; a file goes as a
signed download link in that text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from services.files import FileRef
from services.messages import Choice, Document, Image, Outbound, Text, UrlButton

MAX_BUTTONS = 3
BUTTON_TITLE = 20
ROW_TITLE = 24
ROW_DESCRIPTION = 72
MAX_ROWS = 10
PAGE_ROWS = 9
INTERACTIVE_BODY = 1024
TEXT_BODY = 4096
CAPTION = 1024
TEMPLATE_PARAMETER = 900  # the template body (≤ 1024) also holds its own words
LIST_BUTTON = "Ver opções"
SECTION_TITLE = "Opções"
MORE_LABEL = "Mais opções"
MORE_PREFIX = "~mais:"
CHOOSE = "Escolha uma opção:"
LINK = re.compile(r"https?://", re.IGNORECASE)
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
LINK_CAPTION = 300  # a long caption is cut before the link, never the link itself


@dataclass(frozen=True, slots=True)
class PlainText:
    body: str


@dataclass(frozen=True, slots=True)
class ReplyButtons:
    body: str
    buttons: tuple[tuple[str, str], ...]  # (id, title)


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class RowList:
    body: str
    rows: tuple[Row, ...]
    button: str = LIST_BUTTON
    section: str = SECTION_TITLE


@dataclass(frozen=True, slots=True)
class DocumentPart:
    name: str
    mime: str
    data: bytes
    caption: str | None
    file: FileRef | None = None  # in the file store: streamed at upload time


@dataclass(frozen=True, slots=True)
class ImagePart:
    name: str
    mime: str
    data: bytes
    caption: str | None
    file: FileRef | None = None  # in the file store: streamed at upload time


Part = PlainText | ReplyButtons | RowList | DocumentPart | ImagePart


def cut(label: str, limit: int) -> str:
    """The label within `limit` characters, marked with "…" when something was cut."""
    label = " ".join(label.split())
    if len(label) <= limit:
        return label
    return label[: limit - 1].rstrip() + "…"


def more_id(message_id: int, page: int) -> str:
    return f"{MORE_PREFIX}{message_id}:{page}"


def parse_more_id(choice_id: str) -> tuple[int, int] | None:
    """(outbox message id, page) of a "Mais opções" row, or None for any other id."""
    match = re.fullmatch(rf"{re.escape(MORE_PREFIX)}(\d+):(\d+)", choice_id)
    return (int(match[1]), int(match[2])) if match else None


def render(message: Outbound, *, message_id: int = 0, page: int = 0) -> list[Part]:
    """The parts that show `message` on WhatsApp, in sending order."""
    if isinstance(message, Text):
        return render_text(message, message_id=message_id, page=page)
    if isinstance(message, Document):
        caption = message.caption
        parts: list[Part] = []
        if caption is not None and len(caption) > CAPTION:
            parts.append(
                DocumentPart(message.name, message.mime, message.data, None, message.file)
            )
            parts.extend(PlainText(chunk) for chunk in chunks(caption, TEXT_BODY))
            return parts
        return [DocumentPart(message.name, message.mime, message.data, caption, message.file)]
    if isinstance(message, Image):
        if message.caption is not None and len(message.caption) > CAPTION:
            image = ImagePart(message.name, message.mime, message.data, None, message.file)
            return [image, *(PlainText(chunk) for chunk in chunks(message.caption, TEXT_BODY))]
        return [ImagePart(message.name, message.mime, message.data, message.caption, message.file)]
    # DeleteMessage, ClearButtons: the Cloud API cannot delete or edit what it sent; ChatAction: no
    # "enviando documento…" for business messages.
    return []


def render_text(message: Text, *, message_id: int = 0, page: int = 0) -> list[Part]:
    body = with_links(message, monospace(message))
    choices = message.choices
    if not choices:
        return [PlainText(chunk) for chunk in chunks(body or " ", TEXT_BODY)]
    parts: list[Part] = []
    if len(body) > INTERACTIVE_BODY:
        parts.extend(PlainText(chunk) for chunk in chunks(body, TEXT_BODY))
        body = CHOOSE
    body = body or CHOOSE
    if len(choices) <= MAX_BUTTONS and all(len(c.label) <= BUTTON_TITLE for c in choices):
        parts.append(ReplyButtons(body, tuple((c.id, c.label) for c in choices)))
        return parts
    if len(choices) <= MAX_ROWS:
        parts.append(RowList(body, tuple(row(c) for c in choices)))
        return parts
    pages = -(-len(choices) // PAGE_ROWS)
    page = min(max(page, 0), pages - 1)
    rows = [row(c) for c in choices[page * PAGE_ROWS : (page + 1) * PAGE_ROWS]]
    if page + 1 < pages:
        rows.append(
            Row(more_id(message_id, page + 1), MORE_LABEL, f"Página {page + 2} de {pages}")
        )
    if page > 0:
        parts = []  # the text was shown with the first page
        body = f"Mais opções (página {page + 1} de {pages}):"
    parts.append(RowList(body, tuple(rows)))
    return parts


def row(choice: Choice) -> Row:
    title = cut(choice.label, ROW_TITLE)
    description = cut(choice.label, ROW_DESCRIPTION) if title != choice.label else None
    return Row(choice.id, title, description)


def monospace(message: Text) -> str:
    """The text with each code span in ``` (links excepted: they would stop being tappable)."""
    return "".join(
        f"```{piece}```" if code and not LINK.match(piece) else piece
        for piece, code in message.pieces()
    )


def with_links(message: Text, text: str | None = None) -> str:
    """`text` (by default the message's own) followed by its URL buttons as written links."""
    text = message.text if text is None else text
    links = [b for r in message.buttons for b in r if isinstance(b, UrlButton)]
    if not links:
        return text
    lines = "\n".join(f"{link.label}: {link.url}" for link in links)
    return f"{text}\n\n{lines}" if text else lines


def chunks(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at line breaks where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut_at = text.rfind("\n", 0, limit)
        if cut_at <= 0:
            cut_at = limit
        pieces.append(text[:cut_at])
        text = text[cut_at:].lstrip("\n")
    pieces.append(text)
    return pieces


def template_text(message: Outbound, link: tuple[str, datetime] | None = None) -> str | None:
    """The single-line text a template carries for `message` outside the 24-hour window;
    `link` is (URL, expiry) of the file of a document or a picture."""
    if isinstance(message, Text):
        text = with_links(message)
    elif isinstance(message, Document | Image) and link is not None:
        url, until = link
        text = (
            f"{cut(message.caption or message.name, LINK_CAPTION)} — baixe o arquivo "
            f"{cut(message.name, LINK_CAPTION)} em {url} "
            f"(link válido até {until.astimezone(SAO_PAULO):%d/%m/%Y})"
        )
    elif isinstance(message, Document):
        text = (
            f"{message.caption or message.name} — o arquivo {message.name} está pronto; "
            "responda esta mensagem e peça de novo para recebê-lo."
        )
    elif isinstance(message, Image):
        text = (
            f"{message.caption or message.name} — a imagem está pronta; "
            "responda esta mensagem e peça de novo para recebê-la."
        )
    else:
        return None
    # Template parameters may not hold line breaks, tabs or more than 4 spaces in a row.
    flat = re.sub(r"\s*\n\s*", " · ", text.strip())
    flat = re.sub(r"[ \t]+", " ", flat)
    return cut(flat, TEMPLATE_PARAMETER)
