"""Sub-flows of Configurações: entered from a screen, they return to it when done.

A sub-flow (sending a certificate, confirming a new key, picking a plan) runs in its own flow
so that, once finished, the person lands back on the screen it started from with that screen's
own Voltar history — never on a step of the finished sub-flow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from handlers.core import FIRST, OFFERED, RETURN, Data, Goto
from services.messages import Outbound

CONFIG = "config"


def open_sub(flow: str, data: Data, back_step: str) -> Goto:
    """Enter `flow`; Voltar from its first step (and `finish`) come back to `back_step`."""
    keep = {k: v for k, v in data.items() if k != OFFERED}
    ret = {"flow": CONFIG, "step": back_step, "data": keep}
    return Goto(FIRST, {"cid": int(data["cid"]), RETURN: ret}, flow=flow)


def finish(
    data: Data, *, before: Sequence[Outbound] = (), update: Mapping[str, Any] | None = None
) -> Goto:
    """Leave the sub-flow for the screen it came from, with `update` merged into its data."""
    ret = data[RETURN]
    back = {**ret["data"], **(update or {})}
    return Goto(ret["step"], back, flow=ret["flow"], before=tuple(before))
