"""WhatsApp rendering rules (pure): limits, cuts that keep the meaning, pages, templates."""

from __future__ import annotations

from bot.channels.whatsapp_render import (
    CAPTION,
    CHOOSE,
    ImagePart,
    PlainText,
    ReplyButtons,
    Row,
    RowList,
    cut,
    parse_more_id,
    render,
    template_text,
)
from services.messages import Choice, DeleteMessage, Document, Image, Text, UrlButton


def test_a_label_within_the_limit_is_kept_as_is() -> None:
    assert cut("XMLs emitidos", 20) == "XMLs emitidos"


def test_a_long_label_is_cut_to_the_limit_with_an_ellipsis() -> None:
    assert cut("Responsável pelo pagamento da mensalidade", 24) == "Responsável pelo pagame…"
    assert len(cut("Responsável pelo pagamento da mensalidade", 24)) == 24


def test_a_text_over_4096_characters_goes_in_pieces_cut_at_line_breaks() -> None:
    lines = [f"Cliente {i:04d} Ltda — CNPJ 00.000.000/0001-00" for i in range(200)]
    parts = render(Text("\n".join(lines)))
    assert all(isinstance(p, PlainText) and len(p.body) <= 4096 for p in parts)
    assert len(parts) == 3
    assert "\n".join(p.body for p in parts if isinstance(p, PlainText)) == "\n".join(lines)


def test_a_long_text_with_choices_goes_first_and_the_buttons_follow() -> None:
    long = "x" * 1500
    parts = render(Text(long, ((Choice("nav:menu", "Menu"),),)))
    assert parts == [PlainText(long), ReplyButtons(CHOOSE, (("nav:menu", "Menu"),))]


def test_the_second_page_of_a_long_list_has_no_more_row_when_it_is_the_last() -> None:
    message = Text("Escolha", tuple((Choice(f"c:{i}", f"Opção {i}"),) for i in range(20)))
    first, second, third = (render(message, message_id=5, page=p) for p in (0, 1, 2))
    assert isinstance(first[0], RowList)
    assert first[0].rows[-1].id == "~mais:5:1"
    assert isinstance(second[0], RowList)
    assert second[0].rows[-1] == Row("~mais:5:2", "Mais opções", "Página 3 de 3")
    assert isinstance(third[0], RowList)
    assert [r.id for r in third[0].rows] == ["c:18", "c:19"]


def test_only_our_more_ids_are_recognised() -> None:
    assert parse_more_id("~mais:12:3") == (12, 3)
    assert parse_more_id("m:clientes") is None
    assert parse_more_id("~mais:12:x") is None


def test_a_code_span_goes_in_triple_backticks_for_monospace() -> None:
    key = "rb_live_9F2kQ"
    parts = render(Text(f"🔑 Nova chave de Loja *Azul*:\n{key}", code=(key,)))

    assert parts == [PlainText(f"🔑 Nova chave de Loja *Azul*:\n```{key}```")]


def test_a_code_span_that_is_a_link_stays_a_plain_tappable_link() -> None:
    url = "https://revendabot.com.br/c/tok123"
    message = Text(f"✅ Link criado.\n\n{url}", ((Choice("nav:menu", "Menu"),),), code=(url,))

    assert render(message) == [
        ReplyButtons(f"✅ Link criado.\n\n{url}", (("nav:menu", "Menu"),)),
    ]


def test_code_spans_are_marked_in_the_body_that_carries_buttons_and_links() -> None:
    message = Text(
        "Chave: abc123",
        ((Choice("nav:menu", "Menu"),), (UrlButton("Site", "https://x.com.br"),)),
        code=("abc123",),
    )

    assert render(message) == [
        ReplyButtons("Chave: ```abc123```\n\nSite: https://x.com.br", (("nav:menu", "Menu"),)),
    ]


def test_a_template_carries_code_spans_as_plain_text() -> None:
    assert template_text(Text("Chave: abc123", code=("abc123",))) == "Chave: abc123"


def test_a_deletion_renders_nothing() -> None:
    assert render(DeleteMessage("wamid.1")) == []


def test_template_text_is_one_line_without_tabs_or_runs_of_spaces() -> None:
    text = template_text(Text("Fatura de outubro\n\n  Total:\tR$ 1.234,56     vence 10/11"))
    assert text == "Fatura de outubro · Total: R$ 1.234,56 vence 10/11"


def test_template_text_for_a_document_tells_how_to_get_it() -> None:
    text = template_text(Document("xmls.zip", "application/zip", b"", "XMLs de outubro"))
    assert text is not None
    assert text.startswith("XMLs de outubro — o arquivo xmls.zip está pronto")


def test_an_image_renders_as_an_image_part_with_its_caption() -> None:
    image = Image("grafico.png", "image/png", b"\x89PNG", "Outubro em barras")
    assert render(image) == [ImagePart(image.name, image.mime, image.data, image.caption)]


def test_an_image_caption_over_the_limit_follows_as_text() -> None:
    caption = "x" * (CAPTION + 1)
    assert render(Image("g.png", "image/png", b"png", caption)) == [
        ImagePart("g.png", "image/png", b"png", None),
        PlainText(caption),
    ]


def test_template_text_for_an_image_tells_how_to_get_it() -> None:
    text = template_text(Image("g.png", "image/png", b"", "Outubro em barras"))
    assert text is not None
    assert text.startswith("Outubro em barras — a imagem está pronta")
