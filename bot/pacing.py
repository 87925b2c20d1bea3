"""Pacing of the outbox sender: per-chat spacing and a global cap, per channel.

Telegram allows about one message per second in a chat and 30 per second overall; WhatsApp
about one message per 6 seconds to a user and 80 per second per number. `RatePacer.wait` is
awaited before each send (bot/sender.py `Pacer`): it reserves the message's slot and sleeps
until then. A chat's messages go out one after the other (the sender keeps each identity in
order), so the chat's slot is taken first and the global one only once the chat is ready: the
global slots are then handed out in time order, exactly 1/rate apart. A chat may get a short
burst (`per_chat_burst`, e.g. a reply and the menu after it) and is then held to its interval.

The clock is injectable: tests use a simulated one, so pacing is checked without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.settings import Settings
from storage.conversation import ClaimedMessage

# Float sums must never squeeze rate + 1 sends into one second, or two into one interval.
SPACING_MARGIN = 1e-9
# Requests reach the platform with a few milliseconds of jitter: spaced exactly 1/rate apart,
# rate + 1 of them can land in one of its seconds. 2.5% of headroom absorbs that.
GLOBAL_HEADROOM = 1.025


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class RateLimit:
    per_chat_interval: float  # seconds between two messages to one chat, in the long run
    global_rate: float  # messages per second over all chats of the channel
    per_chat_burst: int = 1  # messages a quiet chat may get at once (1: always spaced)

    @property
    def global_interval(self) -> float:
        return (1.0 / self.global_rate) * GLOBAL_HEADROOM

    @property
    def chat_interval(self) -> float:
        return self.per_chat_interval * (1 + SPACING_MARGIN)


class RatePacer:
    """Waits until a message may go out; channels without a limit are not paced."""

    def __init__(self, limits: Mapping[str, RateLimit], *, clock: Clock | None = None) -> None:
        self.limits = dict(limits)
        self.clock: Clock = clock or MonotonicClock()
        self._chat_due: dict[tuple[str, str], float] = {}
        self._global_next: dict[str, float] = {}

    async def wait(self, message: ClaimedMessage) -> None:
        limit = self.limits.get(message.channel)
        if limit is None:
            return
        chat = (message.channel, message.identity_key)
        now = self.clock.now()
        # GCRA: `due` is when the chat's bucket is empty again; a burst may run ahead of it.
        due = self._chat_due.get(chat, now)
        ready = due - (limit.per_chat_burst - 1) * limit.chat_interval
        if ready > now:
            await self.clock.sleep(ready - now)
        now = self.clock.now()
        slot = max(now, self._global_next.get(message.channel, now))
        self._global_next[message.channel] = slot + limit.global_interval
        self._chat_due[chat] = max(due, slot) + limit.chat_interval
        if slot > now:
            await self.clock.sleep(slot - now)
        self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        """Drop chats whose spacing has passed, so the table does not grow forever."""
        if len(self._chat_due) > 10_000:
            self._chat_due = {k: v for k, v in self._chat_due.items() if v > now}


def pacer_from_settings(settings: Settings, *, clock: Clock | None = None) -> RatePacer:
    """Telegram and WhatsApp limits from TELEGRAM_RATE_* and WHATSAPP_* settings."""
    return RatePacer(
        {
            "telegram": RateLimit(
                1.0 / settings.telegram_rate_per_chat,
                settings.telegram_rate_global,
                settings.telegram_burst_per_chat,
            ),
            "whatsapp": RateLimit(
                settings.whatsapp_seconds_per_user,
                settings.whatsapp_rate_global,
                settings.whatsapp_burst_per_user,
            ),
        },
        clock=clock,
    )
