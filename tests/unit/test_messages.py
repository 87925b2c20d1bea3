"""The neutral message model: code spans and what survives the outbox."""

from __future__ import annotations

from services.messages import DeleteMessage, Text, from_payload, to_payload


def test_every_occurrence_of_a_code_span_is_code_and_the_rest_is_not() -> None:
    message = Text("chave abc, de novo abc.", code=("abc",))

    assert message.pieces() == [
        ("chave ", False),
        ("abc", True),
        (", de novo ", False),
        ("abc", True),
        (".", False),
    ]


def test_the_longer_of_two_overlapping_spans_wins() -> None:
    message = Text("https://x.com.br/c/tok", code=("tok", "https://x.com.br/c/tok"))

    assert message.pieces() == [("https://x.com.br/c/tok", True)]


def test_a_text_without_code_is_one_plain_piece() -> None:
    assert Text("oi").pieces() == [("oi", False)]
    assert Text("oi", code=("",)).pieces() == [("oi", False)]


def test_code_spans_and_the_words_for_a_refused_deletion_survive_the_outbox() -> None:
    for message in (
        Text("chave abc", code=("abc",)),
        DeleteMessage("7", if_kept="apague a mensagem com a senha"),
    ):
        assert from_payload(*to_payload(message)) == (message, None)


def test_a_text_without_code_is_stored_as_before() -> None:
    payload, _ = to_payload(Text("oi"))

    assert payload == {"type": "text", "text": "oi", "buttons": []}
