"""What a channel can do with what the bot sends. Each channel declares its own once
(bot/channels/*) and the composition root hands them down, so the dialogue and the services
ask the capability, never the channel's name."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Capabilities:
    # A sent message's text can be replaced in place (a job's "Gerando…" notice is edited
    # with its progress instead of piling up new messages).
    edit: bool = False
    # "enviando documento…" can be shown while the bot works.
    chat_actions: bool = False
    # A message the person sent can be removed (DeleteMessage), e.g. one carrying a password.
    can_delete_messages: bool = False
    # The largest document the channel takes (DESIGN.md "Files in and out"); bigger ZIPs go
    # in numbered parts below it.
    upload_limit: int = 50 * MB


# Each channel declares its own; the defaults promise nothing. EVERYTHING is for callers that
# have no channel at hand (a job built without options).
EVERYTHING = Capabilities(edit=True, chat_actions=True, can_delete_messages=True)
