"""When a reminder is due: the certificate thresholds and the fatura and link windows."""

from __future__ import annotations

# Days before the last day of validity on which the gestor is told, and once after it.
CERTIFICATE_THRESHOLDS = (30, 15, 7, 1, 0)
EXPIRED = "vencido"
FATURA_SOON_DAYS = 3
LINK_IDLE_DAYS = 3


def certificate_threshold(days_left: int) -> str | None:
    """The threshold a certificate with `days_left` is in ("30" … "0", "vencido"), or None.

    Each threshold covers the days down to the next one, so a sweep missed on the day itself
    (the server was down) still sends it the day after, and a certificate uploaded with 5 days
    left gets the 7-day reminder only, not 30 and 15 as well.
    """
    if days_left < 0:
        return EXPIRED
    for threshold in reversed(CERTIFICATE_THRESHOLDS):
        if days_left <= threshold:
            return str(threshold)
    return None


def fatura_threshold(days_to_due: int) -> str | None:
    """ "vence" within FATURA_SOON_DAYS of the due date, "vencida" after it, else None."""
    if days_to_due < 0:
        return "vencida"
    if days_to_due <= FATURA_SOON_DAYS:
        return "vence"
    return None
