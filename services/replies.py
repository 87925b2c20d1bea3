"""One message where several would do: the texts a step answers with, merged for channels
that count every message (Capabilities.merge_replies: WhatsApp paces each person).

"✅ Salvo." followed by the next screen becomes one message: the confirmation on top, the
screen's buttons under it. Only a text without buttons joins the text after it, and only when
the whole still fits the channel's limit (an interactive body is shorter than a plain text);
documents and pictures are never merged. The merged text keeps both texts' code spans, is
sensitive if either was, and is the prompt if the second was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from services.capabilities import Capabilities
from services.messages import Outbound, Text, UrlButton

SEPARATOR = "\n\n"
CODE_MARKS = 6  # a code span is shown between ``` and ```


def merge_replies(replies: Sequence[Outbound], capabilities: Capabilities) -> list[Outbound]:
    """`replies` with each text without buttons joined to the text after it, where it fits."""
    if not capabilities.merge_replies:
        return list(replies)
    merged: list[Outbound] = []
    for reply in replies:
        previous = merged[-1] if merged else None
        if isinstance(previous, Text) and isinstance(reply, Text):
            joined = _join(previous, reply, capabilities)
            if joined is not None:
                merged[-1] = joined
                continue
        merged.append(reply)
    return merged


def _join(first: Text, second: Text, capabilities: Capabilities) -> Text | None:
    if first.buttons:
        return None
    text = f"{first.text}{SEPARATOR}{second.text}" if first.text else second.text
    code = (*first.code, *second.code)
    joined = replace(
        second,
        text=text,
        code=code,
        edit=first.edit or second.edit,
        prompt=second.prompt,
        sensitive=first.sensitive or second.sensitive,
    )
    limit = capabilities.choice_text_limit if joined.choices else capabilities.text_limit
    return joined if _shown_length(joined) <= limit else None


def _shown_length(message: Text) -> int:
    """About how long the text is once shown: code marks and written links included."""
    links = sum(
        len(b.label) + len(b.url) + 3
        for row in message.buttons
        for b in row
        if isinstance(b, UrlButton)
    )
    return len(message.text) + CODE_MARKS * len(message.code) + links
