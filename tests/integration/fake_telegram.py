"""A Bot API that answers python-telegram-bot from memory: no sockets.

`FakeBotApi` is a `telegram.request.BaseRequest`: every call is recorded with its parameters,
answered with canned JSON (or with an error queued by the test), and getUpdates serves updates
the test pushes. The `*_update` helpers build updates as Telegram sends them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_ID = 999
TOKEN = f"{BOT_ID}:fake-token-for-tests"


@dataclass(frozen=True)
class ApiCall:
    method: str
    params: dict[str, Any]
    files: dict[str, Any] = field(default_factory=dict)


class FakeBotApi(BaseRequest):
    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self._errors: defaultdict[str, deque[tuple[int, dict[str, Any]]]] = defaultdict(deque)
        self._message_ids = itertools.count(500)
        self._updates: list[dict[str, Any]] = []
        self._arrived = asyncio.Condition()
        self._recorded = asyncio.Condition()
        self.files: dict[str, bytes] = {}  # file_id (also its file_path) -> content
        # The chat as the person sees it now: message_id -> message, the last touched last.
        self.chat: dict[int, dict[str, Any]] = {}

    # -- what the test controls -------------------------------------------------------------

    def fail_next(
        self, method: str, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        """Answer the next call of `method` with an error, as Telegram would."""
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        self._errors[method].append((code, body))

    async def push_update(self, update: dict[str, Any]) -> None:
        """Make an update available to getUpdates (wakes a pending long poll)."""
        async with self._arrived:
            self._updates.append(update)
            self._arrived.notify_all()

    def called(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    async def wait_for_calls(self, method: str, count: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until `method` has been called `count` times."""
        async with self._recorded:
            await asyncio.wait_for(
                self._recorded.wait_for(lambda: len(self.called(method)) >= count), timeout
            )

    async def wait_for_text(self, part: str, timeout: float = 5.0) -> ApiCall:  # noqa: ASYNC109
        """Wait until a sendMessage whose text holds `part` was made; that call."""

        def found() -> list[ApiCall]:
            return [c for c in self.called("sendMessage") if part in str(c.params.get("text"))]

        async with self._recorded:
            await asyncio.wait_for(self._recorded.wait_for(lambda: bool(found())), timeout)
        return found()[0]

    # -- BaseRequest ------------------------------------------------------------------------

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:  # a download from base_file_url
            return 200, self.files[url.rsplit("/", 1)[-1]]
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = {}
        if request_data is not None and request_data.contains_files:
            # a file handle is read here, as the HTTP client streams it into the request
            files = {
                name: (part[0], part[1].read(), *part[2:]) if hasattr(part[1], "read") else part
                for name, part in request_data.multipart_data.items()
            }
        if api_method != "getUpdates":
            async with self._recorded:
                self.calls.append(ApiCall(api_method, params, files))
                self._recorded.notify_all()
        if self._errors[api_method]:
            code, body = self._errors[api_method].popleft()
            return code, json.dumps(body).encode()
        result = await self._result(api_method, params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    async def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "RevendaBot",
                "username": "RevendaTestBot",
            }
        if method == "getUpdates":
            return await self._get_updates(params)
        if method in ("sendMessage", "editMessageText"):
            message_id = params.get("message_id") or next(self._message_ids)
            return self._show(self._message(params, message_id, text=params["text"]))
        if method == "editMessageReplyMarkup":
            shown = self.chat.get(int(params["message_id"]))
            if shown is not None:
                shown.pop("reply_markup", None)
                if "reply_markup" in params:
                    shown["reply_markup"] = params["reply_markup"]
            return True
        if method == "getFile":
            file_id = params["file_id"]
            size = len(self.files[file_id])
            return {
                "file_id": file_id,
                "file_unique_id": "u",
                "file_size": size,
                "file_path": file_id,
            }
        if method == "sendDocument":
            document = {"file_id": "DOC1", "file_unique_id": "U1", "file_name": "x"}
            return self._show(self._message(params, next(self._message_ids), document=document))
        if method == "sendPhoto":
            photo = [{"file_id": "PHOTO1", "file_unique_id": "P1", "width": 1200, "height": 800}]
            return self._show(self._message(params, next(self._message_ids), photo=photo))
        return True  # answerCallbackQuery, setMyCommands, deleteMessage, webhooks, chat action

    def _message(self, params: dict[str, Any], message_id: int, **content: Any) -> dict[str, Any]:
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            **content,
        }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        return message

    def _show(self, message: dict[str, Any]) -> dict[str, Any]:
        self.chat.pop(message["message_id"], None)
        self.chat[message["message_id"]] = message
        return message

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        async with self._arrived:
            if not self._updates:
                timeout = float(params.get("timeout") or 0)
                try:
                    await asyncio.wait_for(self._arrived.wait(), timeout)
                except TimeoutError:
                    return []
            return list(self._updates)


# -- updates as Telegram sends them -------------------------------------------------------------


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Ana", "last_name": "Souza"}


def _chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": "Ana"}


def message_update(
    update_id: int, user_id: int, text: str, *, message_id: int = 10
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "from": _user(user_id),
        "chat": _chat(user_id),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": message}


def callback_update(update_id: int, user_id: int, data: str, *, message_id: int) -> dict[str, Any]:
    pressed = {
        "message_id": message_id,
        "date": int(time.time()),
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "RevendaBot"},
        "chat": _chat(user_id),
        "text": "menu",
    }
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cq{update_id}",
            "from": _user(user_id),
            "chat_instance": "ci-1",
            "message": pressed,
            "data": data,
        },
    }


def document_update(
    update_id: int, user_id: int, *, name: str, mime: str, size: int
) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 11,
            "date": int(time.time()),
            "from": _user(user_id),
            "chat": _chat(user_id),
            "document": {
                "file_id": "FILE-abc",
                "file_unique_id": "uniq-abc",
                "file_name": name,
                "mime_type": mime,
                "file_size": size,
            },
        },
    }
