"""GET /arquivo/{token}: a file from the file store through a signed, expiring link
(services/download_links.py). Forged → 404, expired or already swept → 410.

No `from __future__ import annotations` here: FastAPI reads the route annotations at run time.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from services.download_links import DownloadExpired, DownloadLinks, DownloadRefused
from services.files import CHUNK, FileMissing, FileStore

EXPIRED = "Este link expirou. Peça o arquivo de novo pelo chat."
UNKNOWN = "Link não encontrado."


def downloads_router(links: DownloadLinks, files: FileStore) -> APIRouter:
    router = APIRouter()

    @router.get("/arquivo/{token}", include_in_schema=False)
    def download(token: str) -> Response:
        try:
            found = links.read(token, datetime.now(UTC))
            stream = files.open(found.key)
        except DownloadRefused:
            return PlainTextResponse(UNKNOWN, status_code=404)
        except (DownloadExpired, FileMissing):
            return PlainTextResponse(EXPIRED, status_code=410)
        headers = {
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.name)}",
            "Cache-Control": "private, no-store",
        }
        return StreamingResponse(_read(stream), media_type=found.mime, headers=headers)

    return router


def _read(stream: IO[bytes]) -> Iterator[bytes]:
    with stream:
        while block := stream.read(CHUNK):
            yield block
