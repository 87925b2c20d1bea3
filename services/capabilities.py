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
    # Each message costs the person's pacing (WhatsApp: ≈ 1 per 6 s after a burst): a step's
    # texts go as one message wherever the whole fits (a confirmation joins the next screen).
    merge_replies: bool = False
    # The longest text a message with choices may carry once merged (WhatsApp: the 1024 of an
    # interactive body); a text without choices may take `text_limit`.
    choice_text_limit: int = 4096
    text_limit: int = 4096
    # Choices shown as buttons under one message (None: no limit); more go as a list of at most
    # `list_rows` rows (None: no limit), so a page of choices must fit there with its navigation.
    max_buttons: int | None = None
    list_rows: int | None = None
    # What the person taps to open such a list (the dialogue's words name it).
    list_label: str = "Ver opções"

    def shows_as_list(self, choices: int) -> bool:
        """Whether `choices` choices show as a list ("Ver opções") rather than buttons."""
        return self.max_buttons is not None and choices > self.max_buttons

    def page_size(self, wanted: int, extra: int) -> int:
        """Items per page so that the items plus `extra` navigation choices fit a list."""
        if self.list_rows is None:
            return wanted
        return max(1, min(wanted, self.list_rows - extra))


# Each channel declares its own; the defaults promise nothing. EVERYTHING is for callers that
# have no channel at hand (a job built without options).
EVERYTHING = Capabilities(edit=True, chat_actions=True, can_delete_messages=True)
