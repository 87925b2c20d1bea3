"""`revendabot serve`: one process with the web app, the outbox sender and the channels.

    uvicorn (web app: /healthz, Telegram webhook)  ·  outbox sender  ·  Telegram polling
    ·  job workers (ZIPs, reports, DANFEs)  ·  console in this terminal (no Telegram token
    and a terminal attached)

SIGTERM/SIGINT stop it cleanly: polling stops, the web server finishes its requests, the
sender records the sends in flight, the Bot's HTTP clients close, the engine is disposed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
import threading
from collections.abc import Callable, Coroutine, Generator
from pathlib import Path
from typing import Any, TextIO

import httpx
import uvicorn
from telegram.error import TelegramError
from telegram.request import BaseRequest

from bot.app import App, build_runtime
from bot.channels import telegram as telegram_channel
from bot.channels.console import ConsoleChannel
from bot.demo import CONSOLE_GESTOR, DEMO_NAME, seed_demo

log = logging.getLogger(__name__)

DOWNLOADS = Path("downloads")
STARTUP_TICK = 0.02


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handling: `serve` owns SIGTERM/SIGINT (and exits 0)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class ServeError(RuntimeError):
    """A part of the process could not start, or stopped on its own."""


def run_server(
    app: App, host: str | None = None, port: int | None = None, *, stdin: TextIO | None = None
) -> None:
    """Run everything until SIGTERM/SIGINT (or the end of the console); then clean up.

    Exits 0 after a requested stop, 1 when a part failed (the reason is logged).
    """
    # Bot API URLs carry the token: request logs must stay off whatever the log level.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    settle_heap()
    try:
        with asyncio.Runner(loop_factory=loop_factory(app.settings.event_loop)) as runner:
            runner.run(
                serve(
                    app,
                    host=host or app.settings.host,
                    port=port if port is not None else app.settings.port,
                    stdin=sys.stdin if stdin is None else stdin,
                )
            )
    except ServeError as exc:
        log.error("%s", exc)
        raise SystemExit(1) from None
    finally:
        app.close()


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop for `auto` where it is installed; None (asyncio's own) otherwise."""
    if choice == "auto":
        try:
            import uvloop
        except ImportError:  # not built for this platform (Windows)
            return None
        return uvloop.new_event_loop
    return None


def settle_heap() -> None:
    """Take what start-up built (≈300,000 objects: modules, classes, the app) out of the
    garbage collector's sight. Otherwise each full collection walks all of it — 100–270 ms
    with every thread stopped, a pause that lands on whatever events are in flight."""
    gc.collect()
    gc.freeze()


async def serve(
    app: App,
    *,
    host: str,
    port: int,
    stdin: TextIO | None = None,
    stop: asyncio.Event | None = None,
    telegram_request: BaseRequest | None = None,
    whatsapp_session: httpx.AsyncClient | None = None,
    handle_signals: bool = True,
    ready: asyncio.Event | None = None,
) -> None:
    """The whole process as a coroutine; tests pass `stop`, a fake request, no signals, and
    `ready` (set once the web server listens and Telegram is set up)."""
    settings = app.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    runtime = build_runtime(
        app, telegram_request=telegram_request, whatsapp_session=whatsapp_session
    )
    telegram, whatsapp = runtime.telegram, runtime.whatsapp
    sender, scheduler, notice_loop = runtime.sender, runtime.scheduler, runtime.notice_loop
    server = _Server(
        uvicorn.Config(runtime.web, host=host, port=port, log_config=None, access_log=False)
    )
    stop_waking = app.wakeup.subscribe(sender.wake)
    stop_handing = app.handoff.attach(sender)
    workers = runtime.job_workers
    stop_waking_workers = app.job_wakeup.subscribe(workers.wake) if workers else None
    tasks: list[asyncio.Task[None]] = []
    try:
        tasks.append(_task(server.serve(), "web"))
        await _started(server, tasks[0])
        if telegram is not None:
            await _start_telegram(telegram)
            if not telegram.webhook_mode:
                tasks.append(_task(telegram.poll(stop), "telegram-polling"))
        tasks.append(_task(sender.run(), "sender"))
        tasks.append(_task(notice_loop.run(), "notices"))
        if workers is not None:
            workers.start()
        if scheduler is not None:
            scheduler.start()
        console = not settings.telegram_enabled and stdin is not None and stdin.isatty()
        _log_summary(app, host, port, telegram, console)
        if console and stdin is not None:
            _open_console(app, stdin, loop, stop, host, port)
        if ready is not None:
            ready.set()
        failed = await _until(stop, tasks)
        if failed:
            raise ServeError(f"parou sozinho: {', '.join(failed)}; encerrando")
    finally:
        stop.set()
        server.should_exit = True
        if scheduler is not None:
            scheduler.shutdown()
        if workers is not None:
            # a running job gives itself back at its next tick; what it sent so far goes
            # out (the sender is still on), another worker finishes it
            await asyncio.to_thread(workers.stop)
        sender.stop()
        notice_loop.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        if telegram is not None:
            await telegram.stop()
        if whatsapp is not None:
            await whatsapp.stop()
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        stop_waking()
        stop_handing()
        if stop_waking_workers is not None:
            stop_waking_workers()
        log.info("RevendaBot parado.")


def _task(coroutine: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    return asyncio.create_task(coroutine, name=name)


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    """Wait until uvicorn listens (so a webhook set next can be answered at once)."""
    while not server.started:
        if task.done():
            task.result()  # re-raise why it stopped
            raise RuntimeError("the web server stopped during start-up")
        await asyncio.sleep(STARTUP_TICK)


async def _start_telegram(telegram: telegram_channel.TelegramChannel) -> None:
    try:
        await telegram.start()
    except TelegramError as exc:
        reason = f"{type(exc).__name__}: {telegram.scrub(exc)}"
        raise ServeError(f"Telegram não iniciou ({reason}). Confira TELEGRAM_*.") from None


async def _until(stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> list[str]:
    """Wait for a stop request; return the parts that stopped on their own before it."""
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({stopper, *tasks}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    failed = []
    for task in done - {stopper}:
        error = None if task.cancelled() else task.exception()
        log.error("%s stopped unexpectedly", task.get_name(), exc_info=error)
        failed.append(task.get_name())
    return failed


def _log_summary(
    app: App,
    host: str,
    port: int,
    telegram: telegram_channel.TelegramChannel | None,
    console: bool,
) -> None:
    if telegram is None:
        mode = "desligado (sem TELEGRAM_BOT_TOKEN)"
    elif telegram.webhook_mode:
        mode = f"webhook em {telegram.webhook_url}"
    else:
        mode = "polling"
    if telegram is not None and telegram.bot.username:
        mode += f" como @{telegram.bot.username}"
    log.info(
        "RevendaBot no ar: web em http://%s:%s · Telegram: %s · console: %s · banco: %s · "
        "laço: %s",
        host,
        port,
        mode,
        "aberto" if console else "fechado",
        app.db.url.get_backend_name(),
        type(asyncio.get_running_loop()).__module__.split(".")[0],
    )


def _open_console(
    app: App,
    stdin: TextIO,
    loop: asyncio.AbstractEventLoop,
    stop: asyncio.Event,
    host: str,
    port: int,
) -> None:
    """Talk to the bot in this terminal as the demo gestor; its end stops the process."""
    uow = app.uow_factory()
    with uow:
        empty = uow.gestores.count() == 0
    if empty:
        seed_demo(app)
    print(
        f"Sem TELEGRAM_BOT_TOKEN: converse aqui como o gestor de demonstração ({DEMO_NAME}). "
        f"Web em http://{host}:{port}. Ctrl+D ou Ctrl+C encerra.",
        flush=True,
    )
    name = CONSOLE_GESTOR.split(":", 1)[1]
    channel = ConsoleChannel(
        name, app.conversation.handle, app.uow_factory, DOWNLOADS, files=app.files
    )

    def talk() -> None:
        try:
            channel.run(stdin, interactive=True)
        except Exception:
            log.exception("console stopped")
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(stop.set)

    # A daemon: reading a terminal cannot be interrupted, and must not keep the process alive.
    threading.Thread(target=talk, name="console", daemon=True).start()
