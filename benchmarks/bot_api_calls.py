"""Benchmark: the CPU of one Bot API call as the outbox sender makes them, against PTB's own.

    .venv/bin/python benchmarks/bot_api_calls.py [--calls N] [--in-flight 1,16,64] [--smoke]

N `sendMessage` calls of python-telegram-bot (`Bot.send_message`, answer parsed) to the Bot
API stand-in of load.py, running in a process of its own so only the caller's CPU is counted;
at most K in flight at once (the sender's concurrency is SENDER_CONCURRENCY, 64 by default),
on `serve`'s event loop (EVENT_LOOP). Four requests, each a step from PTB's own to ours:
  - PTB's default `HTTPXRequest` (one httpx connection pool, httpcore on AnyIO): the baseline;
  - the same on the lanes (bot/channels/http_lanes.py, one-connection pools), through httpx's
    client, on AnyIO: what `build_bot` gave the sender before the two steps below, the
    second baseline;
  - the lanes on AnyIO, with calls without files straight to them (bot/channels/
    bot_api_request.py);
  - ours, the request `build_bot` gives the sender: straight to the lanes, whose connections run
    on asyncio's own streams (bot/channels/asyncio_network.py).
Printed per K: CPU per call of each (ms) and calls/s, and ours against both baselines. The
stand-in speaks plain HTTP: against Telegram, TLS is AnyIO's (Python, through an
`ssl.MemoryBIO`) under the first three and the event loop's under ours, which this script
does not count. `--smoke` (`./dev test` runs it so the script cannot rot) makes 50 calls:
figures mean nothing.

Why lanes (py-spy of `serve` at saturation, 7 Dec 2026): httpcore's
`AsyncConnectionPool._assign_requests_to_connections` was in 70% of the samples of the sender's
Bot API calls; it runs at every request and response, asks every connection of the pool
whether it expired (an anyio attribute lookup that builds a dict per connection) and, for
every idle one, counts the idle ones again. With 16 to 64 calls in flight the pool holds as
many connections; a lane's pool holds one.

Why straight to the lanes, on asyncio (py-spy --gil of `serve` under load.py's open loop, 8 Dec
2026): sendMessage and editMessageText were half of the samples holding the GIL; httpx's
client layers above the transport a third of those, AnyIO's streams and cancel scopes a fifth.
Runs of 3,000 calls, uvloop, a calm VM, the second baseline → ours: five runs before each
method's URL was kept parsed, 1 in flight 0.78–0.83 → 0.59–0.68 ms of CPU a call, 16 in
flight 0.59–0.67 → 0.51–0.59, 64 in flight 0.67–0.75 → 0.50–0.62; two after, 0.88 and 0.73 →
0.68 and 0.54, 0.73 and 0.58 → 0.49 and 0.46, 0.70 and 0.67 → 0.50 and 0.43 (0.65–0.79×).
At 16 and 64 in flight most of it is the asyncio backend: straight to AnyIO lanes was within
the noise of the client path there.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
from multiprocessing.queues import Queue

from pydantic import SecretStr
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.channels.bot_api_request import LaneRequest
from bot.channels.http_lanes import EXTRA_LANES, LaneTransport
from bot.channels.telegram import build_bot
from bot.serve import loop_factory
from bot.settings import Settings

TOKEN = "123456:CALLS"  # noqa: S105 (the stand-in accepts any token)
CHATS = 64
WARM_UP = 200
PTBS = "PTB's HTTPXRequest"
BEFORE = "PTB's HTTPXRequest on AnyIO lanes"
STRAIGHT = "straight to AnyIO lanes"
OURS = "ours (straight to asyncio lanes)"
NAMES = (PTBS, BEFORE, STRAIGHT, OURS)


def _stand_in(ports: Queue[int]) -> None:
    from _bot_api import BotApiStandIn

    async def main() -> None:
        stand_in = BotApiStandIn()
        ports.put(await stand_in.start())
        await asyncio.Event().wait()

    asyncio.run(main())


async def _calls(bot: Bot, in_flight: int, calls: int) -> tuple[float, float]:
    """CPU seconds per call and calls per second, after a warm-up."""
    slots = asyncio.Semaphore(in_flight)

    async def one(number: int) -> None:
        async with slots:
            await bot.send_message(chat_id=1000 + number % CHATS, text="Olá! Escolha:")

    async with bot:
        await asyncio.gather(*(one(n) for n in range(min(WARM_UP, calls))))
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(calls)))
        return (time.process_time() - cpu) / calls, calls / (time.perf_counter() - wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--in-flight", default="1,16,64", help="comma-separated")
    parser.add_argument("--smoke", action="store_true", help="50 calls, seconds")
    args = parser.parse_args(argv)
    calls = 50 if args.smoke else args.calls
    levels = [int(k) for k in args.in_flight.split(",")]
    ports: Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(target=_stand_in, args=(ports,), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=30)}/p0/bot"
    settings = Settings(
        environment="test",
        telegram_bot_token=SecretStr(TOKEN),
        telegram_base_url=base,
        _env_file=None,
    )
    factory = loop_factory(settings.event_loop)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {calls} sendMessage calls "
        f"per run; loop: {'uvloop' if factory else 'asyncio'}; load average before: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    try:
        for in_flight in levels:
            figures = {}
            for name in NAMES:
                with asyncio.Runner(loop_factory=factory) as runner:
                    if name == OURS:
                        bot = build_bot(settings)
                    elif name == PTBS:
                        bot = Bot(TOKEN, base_url=base, request=HTTPXRequest())
                    else:
                        lanes = LaneTransport(settings.sender_concurrency + EXTRA_LANES, None)
                        request = (
                            LaneRequest(lanes)
                            if name == STRAIGHT
                            else HTTPXRequest(httpx_kwargs={"transport": lanes})
                        )
                        bot = Bot(TOKEN, base_url=base, request=request)
                    figures[name] = runner.run(_calls(bot, in_flight, calls))
                cpu, rate = figures[name]
                print(
                    f"{in_flight:>3} in flight, {name + ':':<42} {1000 * cpu:5.2f} ms of CPU "
                    f"per call, {rate:7.0f} calls/s"
                )
            for baseline in (PTBS, BEFORE):
                ratio = figures[OURS][0] / figures[baseline][0]
                print(
                    f"{in_flight:>3} in flight: ours / {baseline} = {ratio:.2f}× the CPU per call"
                )
    finally:
        server.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
