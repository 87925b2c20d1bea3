"""The WhatsApp webhook: verification, signatures, every payload kind, dedupe, raw fallback.

Signed real-shaped payloads (tests/fixtures/whatsapp) are POSTed to the FastAPI app; the Graph
API is a `httpx.MockTransport` stand-in. Inbound mapping is asserted on the neutral events the
channel hands to the conversation engine; dedupe and storage on the database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.channels import whatsapp as whatsapp_channel
from bot.channels.whatsapp_book import CAPABILITIES
from services.messages import ChoiceBody, FileBody, Inbound, TextBody
from storage.models import OutboxMessage, ProcessedEvent, UserIdentity
from storage.models_whatsapp import WhatsAppStatus
from tests.integration.whatsapp_graph import (
    API_VERSION,
    BSUID,
    TOKEN,
    VERIFY_TOKEN,
    WA_ID,
    fixture,
    sign,
)
from tests.integration.whatsapp_support import WEBHOOK_PATH as PATH
from tests.integration.whatsapp_support import Harness
from tests.support import make_office

# -- verification and signatures ----------------------------------------------------------------


async def test_meta_verification_with_our_token_gets_the_challenge_back(
    recorder: Harness,
) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    answer = await recorder.client.get(PATH, params=params)
    assert (answer.status_code, answer.text) == (200, "1158201444")


@pytest.mark.parametrize(
    ("mode", "token"), [("subscribe", "wrong-token"), ("unsubscribe", VERIFY_TOKEN), (None, None)]
)
async def test_verification_with_a_wrong_token_or_mode_is_forbidden(
    recorder: Harness, mode: str | None, token: str | None
) -> None:
    params = {"hub.challenge": "1158201444"}
    if mode is not None:
        params["hub.mode"] = mode
    if token is not None:
        params["hub.verify_token"] = token
    answer = await recorder.client.get(PATH, params=params)
    assert answer.status_code == 403
    assert "1158201444" not in answer.text


@pytest.mark.parametrize(
    "signature",
    [
        sign(fixture("text"), "another-secret"),
        "sha256=" + "0" * 64,
        "",
        "sha1=" + "0" * 40,
    ],
)
async def test_a_bad_signature_is_forbidden_and_nothing_is_processed(
    live: Harness, signature: str
) -> None:
    make_office(live.app.uow_factory, 1, identity_key=f"wa:{BSUID}")
    answer = await live.post(fixture("text"), signature)
    assert answer.status_code == 403
    assert live.count(ProcessedEvent) == 0
    assert live.count(OutboxMessage) == 0


async def test_a_post_without_signature_header_is_forbidden(recorder: Harness) -> None:
    answer = await recorder.client.post(PATH, content=fixture("text"))
    assert answer.status_code == 403
    assert recorder.events == []


async def test_a_body_altered_after_signing_is_forbidden(recorder: Harness) -> None:
    body = fixture("text")
    answer = await recorder.post(body.replace(b"/menu", b"/ajuda"), sign(body))
    assert answer.status_code == 403
    assert recorder.events == []


# -- payload kinds -------------------------------------------------------------------------------


async def test_a_text_message_becomes_a_text_event_keyed_by_the_bsuid(recorder: Harness) -> None:
    assert (await recorder.post(fixture("text"))).status_code == 200
    [event] = recorder.events
    assert event == Inbound(
        channel="whatsapp",
        identity_key=f"wa:{BSUID}",
        event_id="wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFDNBMDFGQTNEMzQ1QTlBRTlGRkQyAA==",
        address=WA_ID,
        body=TextBody("/menu"),
        received_at=datetime.fromtimestamp(1795800000, UTC),
        display_name="Marta Gestora",
        capabilities=CAPABILITIES,
    )
    # the Cloud API cannot delete it: the dialogue asks the person to delete a password
    assert event.capabilities.can_delete_messages is False


async def test_a_reply_button_press_becomes_a_choice(recorder: Harness) -> None:
    await recorder.post(fixture("button_reply"))
    [event] = recorder.events
    assert (event.identity_key, event.body) == (f"wa:{BSUID}", ChoiceBody("nav:menu"))


async def test_a_list_row_pick_becomes_a_choice(recorder: Harness) -> None:
    await recorder.post(fixture("list_reply"))
    [event] = recorder.events
    assert (event.identity_key, event.body) == (f"wa:{BSUID}", ChoiceBody("m:clientes"))


async def test_a_document_is_downloaded_in_memory_with_the_bearer_token(
    recorder: Harness,
) -> None:
    recorder.graph.add_media("1037543291543636", b"PFX-BYTES", "application/x-pkcs12")
    await recorder.post(fixture("document"))
    [event] = recorder.events
    assert event.body == FileBody("1037543291543636", "certificado.pfx", "application/x-pkcs12", 9)
    assert isinstance(event.body, FileBody)
    assert event.body.data == b"PFX-BYTES"
    fetches = [(c.method, c.path, c.authorization) for c in recorder.graph.calls]
    assert fetches == [
        ("GET", f"/v{API_VERSION}/1037543291543636", f"Bearer {TOKEN}"),
        ("GET", "/download/1037543291543636", f"Bearer {TOKEN}"),
    ]


async def test_statuses_are_recorded_once_each_even_when_redelivered(live: Harness) -> None:
    await live.post(fixture("statuses"))
    await live.post(fixture("statuses"))
    uow = live.app.uow_factory()
    with uow:
        rows = uow.session.scalars(select(WhatsAppStatus).order_by(WhatsAppStatus.id)).all()
        stored = [(r.wamid[-12:], r.status, r.recipient, r.error) for r in rows]
    assert stored == [
        ("NjI1QkQ1RQA=", "sent", BSUID, None),
        ("NjI1QkQ1RQA=", "delivered", BSUID, None),
        ("NjI1QkQ1RQA=", "read", WA_ID, None),
        ("NkQ3MDg4MwA=", "failed", WA_ID, "131047: Re-engagement message"),
    ]
    assert live.count(ProcessedEvent) == 0  # statuses are not conversation events


async def test_a_duplicate_delivery_is_acted_on_once(live: Harness) -> None:
    make_office(live.app.uow_factory, 1, identity_key=f"wa:{BSUID}")
    await live.post(fixture("text"))
    replies = live.count(OutboxMessage)
    assert replies > 0
    assert (await live.post(fixture("text"))).status_code == 200
    assert live.count(OutboxMessage) == replies
    assert live.count(ProcessedEvent) == 1


async def test_a_payload_without_user_id_is_keyed_by_the_phone_number_when_no_bsuid_is_known(
    recorder: Harness,
) -> None:
    await recorder.post(fixture("text_without_user_id"))
    [event] = recorder.events
    assert (event.identity_key, event.address, event.body) == (
        f"wa:{WA_ID}",
        WA_ID,
        TextBody("/ajuda"),
    )


async def test_a_payload_without_user_id_reaches_the_bsuid_seen_with_that_phone_number(
    recorder: Harness,
) -> None:
    await recorder.post(fixture("text"))
    await recorder.post(fixture("text_without_user_id"))
    assert [e.identity_key for e in recorder.events] == [f"wa:{BSUID}", f"wa:{BSUID}"]


async def test_the_phone_number_is_kept_among_the_identity_attributes(live: Harness) -> None:
    make_office(live.app.uow_factory, 1, identity_key=f"wa:{BSUID}")
    await live.post(fixture("text"))
    uow = live.app.uow_factory()
    with uow:
        identity = uow.identities.by_key(f"wa:{BSUID}")
        assert identity is not None
        assert (identity.attributes, identity.address) == ({"wa_id": WA_ID}, WA_ID)


async def test_an_unreadable_payload_is_stored_not_dropped(recorder: Harness) -> None:
    answer = await recorder.post(fixture("unreadable"))
    assert answer.status_code == 200
    assert recorder.events == []
    uow = recorder.app.uow_factory()
    with uow:
        [raw] = uow.whatsapp.raw_updates()
        assert "sender" in raw.reason
        message = raw.payload["entry"][0]["changes"][0]["value"]["messages"][0]
        assert message["text"] == {"body": "sem remetente"}


async def test_a_body_that_is_not_json_is_stored_as_well(recorder: Harness) -> None:
    answer = await recorder.post(b"not json")
    assert answer.status_code == 200
    uow = recorder.app.uow_factory()
    with uow:
        [raw] = uow.whatsapp.raw_updates()
        assert (raw.reason, raw.payload) == ("body is not JSON", {"body": "not json"})


async def test_messages_for_another_phone_number_are_ignored(recorder: Harness) -> None:
    await recorder.post(fixture("other_number"))
    assert recorder.events == []


async def test_a_batched_payload_is_handled_message_by_message_in_order(
    recorder: Harness,
) -> None:
    text = json.loads(fixture("text"))
    button = json.loads(fixture("button_reply"))
    value = text["entry"][0]["changes"][0]["value"]
    value["messages"].append(button["entry"][0]["changes"][0]["value"]["messages"][0])
    await recorder.post(json.dumps(text).encode())
    assert [e.body for e in recorder.events] == [TextBody("/menu"), ChoiceBody("nav:menu")]


async def test_binding_by_sending_the_invite_code_works_as_on_telegram(live: Harness) -> None:
    from services import access

    issued = access.create_gestor(
        live.app.uow_factory(),
        cnpj="11222333000181",
        razao_social="Escritório Zap Ltda",
        email="zap@escritorio.com.br",
    )
    body = fixture("text").replace(b'"/menu"', json.dumps(issued.code).encode())
    await live.post(body)
    uow = live.app.uow_factory()
    with uow:
        identity = uow.identities.by_key(f"wa:{BSUID}")
        assert identity is not None
        assert (identity.channel, identity.address, identity.active) == ("whatsapp", WA_ID, True)
        assert uow.session.scalar(
            select(UserIdentity.attributes).where(UserIdentity.key == f"wa:{BSUID}")
        ) == {"wa_id": WA_ID}


@pytest.mark.parametrize(
    ("name", "by_fallback"),
    [
        ("text", False),
        ("button_reply", False),
        ("list_reply", False),
        ("text_without_user_id", True),
    ],
)
async def test_pywa_reads_current_payloads_and_our_parser_the_older_shape(
    recorder: Harness, caplog: pytest.LogCaptureFixture, name: str, by_fallback: bool
) -> None:
    caplog.set_level("INFO", logger="bot.channels.whatsapp")
    await recorder.post(fixture(name))
    assert len(recorder.events) == 1
    assert ("raw fallback" in caplog.text) is by_fallback


def with_timestamp(name: str, when: datetime) -> bytes:
    payload = json.loads(fixture(name))
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(
        int(when.timestamp())
    )
    return json.dumps(payload).encode()


async def test_a_person_without_access_gets_the_free_form_reply_not_a_template(
    live: Harness,
) -> None:
    from services import outbox

    await live.post(with_timestamp("text", datetime.now(UTC)))
    claimed = outbox.claim(live.app.uow_factory, channels=["whatsapp"])
    assert claimed
    for message in claimed:
        await live.channel.deliver(message)
    assert {s["type"] for s in live.graph.sent()} <= {"text", "interactive"}
    assert live.graph.sent()[0]["to"] == WA_ID


async def test_a_document_whose_media_is_gone_arrives_marked_unavailable(
    recorder: Harness,
) -> None:
    recorder.graph.fail_next("/1037543291543636", 404, 100, "Unsupported get request")
    assert (await recorder.post(fixture("document"))).status_code == 200
    [event] = recorder.events
    assert event.body == FileBody(
        "1037543291543636", "certificado.pfx", "application/x-pkcs12", 0, unavailable=True
    )
    assert isinstance(event.body, FileBody)
    assert event.body.data is None
    # an unknown id is not asked again
    assert len([c for c in recorder.graph.calls if c.path.endswith("/1037543291543636")]) == 1


async def test_a_media_server_error_is_tried_again_a_bounded_number_of_times(
    recorder: Harness,
) -> None:
    recorder.channel.media_backoff = 0
    recorder.graph.add_media("1037543291543636", b"PFX", "application/x-pkcs12")
    recorder.graph.fail_next("/1037543291543636", 500, 1, "An unknown error occurred")
    assert (await recorder.post(fixture("document"))).status_code == 200
    [event] = recorder.events
    assert isinstance(event.body, FileBody)
    assert (event.body.data, event.body.unavailable) == (b"PFX", False)

    def asked() -> int:
        return len([c for c in recorder.graph.calls if c.path.endswith("/1037543291543636")])

    for _ in range(whatsapp_channel.MEDIA_ATTEMPTS + 1):  # one more failure than tries
        recorder.graph.fail_next("/1037543291543636", 500, 1, "An unknown error occurred")
    before = asked()
    document = fixture("document").replace(b"wamid.", b"wamid.AGAIN")
    assert (await recorder.post(document)).status_code == 200
    again = recorder.events[-1].body
    assert isinstance(again, FileBody)
    assert again.unavailable
    assert asked() - before == whatsapp_channel.MEDIA_ATTEMPTS
