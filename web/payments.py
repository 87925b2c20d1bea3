"""The payment gateway's callback: a fatura was paid.

`POST /payments/callback` with a JSON body `{"fatura_id": 42}` or `{"nosso_numero": "00000042"}`
(optionally `"valor": "149.70"`, which must be the fatura's total), signed with
`X-Signature: sha256=<hex HMAC-SHA256 of the raw body with PAYMENTS_CALLBACK_SECRET>`.
Without a configured secret every call is refused. Paying twice is harmless (200, unchanged).

No `from __future__ import annotations` here: FastAPI reads the route annotations at run time.
"""

import hashlib
import hmac
import json
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from services import billing
from services.errors import Conflict, NotFound
from services.types import UnitOfWorkFactory

BAD_SIGNATURE = "Assinatura ausente ou inválida."
BAD_BODY = "Corpo inválido: envie JSON com fatura_id ou nosso_numero (e, opcional, valor)."


class PaymentOut(BaseModel):
    fatura_id: int
    competencia: str
    status: str
    newly_paid: bool


def signature(secret: str, body: bytes) -> str:
    """What the gateway sends in X-Signature for this body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _read(body: bytes) -> tuple[int | None, str | None, Decimal | None]:
    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        raise HTTPException(400, BAD_BODY) from exc
    if not isinstance(data, dict):
        raise HTTPException(400, BAD_BODY)
    fatura_id, nosso, valor = data.get("fatura_id"), data.get("nosso_numero"), data.get("valor")
    if not (isinstance(fatura_id, int) and not isinstance(fatura_id, bool)):
        fatura_id = None
    if not isinstance(nosso, str) or not nosso.isdigit():
        nosso = None
    if fatura_id is None and nosso is None:
        raise HTTPException(400, BAD_BODY)
    amount = None
    if valor is not None:
        try:
            amount = Decimal(str(valor))
        except InvalidOperation as exc:
            raise HTTPException(400, BAD_BODY) from exc
    return fatura_id, nosso, amount


def payments_router(uow_factory: UnitOfWorkFactory, secret: str | None) -> APIRouter:
    router = APIRouter(prefix="/payments", tags=["pagamentos"])

    @router.post("/callback", response_model=PaymentOut, summary="Fatura paga (gateway)")
    async def callback(
        request: Request, x_signature: Annotated[str | None, Header()] = None
    ) -> PaymentOut:
        body = await request.body()
        if not secret or not x_signature:
            raise HTTPException(401, BAD_SIGNATURE)
        if not hmac.compare_digest(signature(secret, body), x_signature):
            raise HTTPException(401, BAD_SIGNATURE)
        fatura_id, nosso, amount = _read(body)
        try:
            paid = await run_in_threadpool(
                billing.mark_paid,
                uow_factory(),
                fatura_id=fatura_id,
                nosso_numero=nosso,
                amount=amount,
                via="gateway",
            )
        except NotFound as exc:
            raise HTTPException(404, exc.message) from exc
        except Conflict as exc:
            raise HTTPException(409, exc.message) from exc
        return PaymentOut(
            fatura_id=paid.fatura_id,
            competencia=paid.competencia,
            status="paga",
            newly_paid=paid.newly_paid,
        )

    return router
