"""The neutral message model: code spans and what survives the outbox."""

from __future__ import annotations

from services.files import FileRef
from services.messages import DeleteMessage, Document, Image, Text, from_payload, to_payload


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


REF = FileRef("3f/3f" + "a" * 46, 1234, "b" * 64)


def test_a_stored_document_goes_in_the_outbox_as_its_reference_without_bytes() -> None:
    message = Document("ACME_2026-10_NFe.zip", "application/zip", caption="O mês", file=REF)

    payload, blob = to_payload(message)

    assert blob is None
    assert payload == {
        "type": "document",
        "name": "ACME_2026-10_NFe.zip",
        "mime": "application/zip",
        "caption": "O mês",
        "file": {"key": REF.key, "size": 1234, "sha256": "b" * 64},
    }
    assert from_payload(payload, blob) == (message, None)
    assert message.size == 1234


def test_a_stored_image_survives_the_outbox_as_a_reference() -> None:
    message = Image("grafico.png", "image/png", file=REF)

    assert from_payload(*to_payload(message)) == (message, None)


def test_a_row_written_before_the_file_store_reads_as_the_bytes_it_carries() -> None:
    payload = {"type": "document", "name": "a.csv", "mime": "text/csv", "caption": None}

    message, _ = from_payload(payload, b"a;b\n")

    assert message == Document("a.csv", "text/csv", b"a;b\n")
    assert isinstance(message, Document)
    assert (message.file, message.size) == (None, 4)
