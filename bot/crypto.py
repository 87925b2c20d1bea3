"""Builds the secrets of Configurações from settings: the certificate box and the link signer.

Outside production a placeholder gets a fixed development key (production refuses
placeholders in bot/settings.py), so a fresh checkout works without configuration.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from bot.settings import PLACEHOLDER, Settings
from services.crypto import FernetBox, development_key
from services.download_links import DownloadLinks
from services.software_access import LinkSigner


def secret_box(settings: Settings) -> FernetBox:
    """MultiFernet over ENCRYPTION_KEYS (comma-separated, newest first)."""
    value = settings.encryption_keys.get_secret_value().strip()
    if value in ("", PLACEHOLDER) and settings.environment != "production":
        value = development_key("encryption")
    return FernetBox.from_setting(value)


def link_signer(settings: Settings) -> LinkSigner:
    """The HMAC key of software access links; links go to PUBLIC_BASE_URL without a base URL."""
    value = settings.link_signing_key.get_secret_value()
    if value in ("", PLACEHOLDER) and settings.environment != "production":
        value = development_key("links")
    key = hashlib.sha256(b"revendabot-access-links:" + value.encode()).digest()
    fallback = settings.public_base_url or f"http://{settings.host}:{settings.port}"
    return LinkSigner(key, fallback.rstrip("/"))


def download_links(settings: Settings) -> DownloadLinks:
    """Signed links to generated files (a document WhatsApp may not send outside its window);
    they last as long as the file store keeps the file (FILE_TTL_DAYS)."""
    value = settings.link_signing_key.get_secret_value()
    if value in ("", PLACEHOLDER) and settings.environment != "production":
        value = development_key("links")
    key = hashlib.sha256(b"revendabot-download-links:" + value.encode()).digest()
    return DownloadLinks(key, settings.web_base_url, timedelta(days=settings.file_ttl_days))
