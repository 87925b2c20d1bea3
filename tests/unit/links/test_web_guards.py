"""The sign-up page's guards, without a server: the sliding-window limiter, the CSRF signer,
and the settings that build them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from bot.gateways.email import SmtpEmailGateway
from bot.settings import Settings
from bot.signup import link_options
from web.csrf import CsrfSigner
from web.ratelimit import SlidingWindowLimiter


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_limiter_allows_the_limit_in_a_window_then_says_how_long_to_wait() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(limit=2, window=60, clock=clock)

    assert limiter.hit("ip:1") is None
    clock.now = 10
    assert limiter.hit("ip:1") is None
    clock.now = 20
    assert limiter.hit("ip:1") == 40  # the first hit leaves the window at t=60
    assert limiter.hit("ip:2") is None  # keys are counted apart
    clock.now = 60
    assert limiter.hit("ip:1") is None
    assert limiter.hit("ip:1") == 10


def test_the_limiter_forgets_idle_keys_when_full() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(limit=1, window=10, clock=clock, max_keys=2)
    limiter.hit("a")
    limiter.hit("b")
    clock.now = 11

    assert limiter.hit("c") is None
    assert limiter.hit("a") is None  # "a" was forgotten with its old hit


def test_a_csrf_token_is_valid_for_its_session_and_scope_only() -> None:
    clock = Clock(1_000_000)
    signer = CsrfSigner("chave", max_age=3600, clock=clock)
    token = signer.issue("sessao-1", "c:abc")

    assert signer.valid(token, "sessao-1", "c:abc")
    assert not signer.valid(token, "sessao-2", "c:abc")
    assert not signer.valid(token, "sessao-1", "cadastro")
    assert not signer.valid(token, None, "c:abc")
    assert not signer.valid(None, "sessao-1", "c:abc")
    assert not CsrfSigner("outra-chave", clock=clock).valid(token, "sessao-1", "c:abc")
    assert signer.issue("sessao-1", "c:abc") != token  # one per render


def test_a_csrf_token_expires_and_cannot_be_altered() -> None:
    clock = Clock(1_000_000)
    signer = CsrfSigner("chave", max_age=3600, clock=clock)
    token = signer.issue("s", "cadastro")
    issued, nonce, mac = token.split(".")

    assert not signer.valid(f"{int(issued) + 100}.{nonce}.{mac}", "s", "cadastro")
    assert not signer.valid(f"{issued}.{nonce}x.{mac}", "s", "cadastro")
    clock.now += 3601
    assert not signer.valid(token, "s", "cadastro")


def test_production_refuses_the_placeholder_signup_secret() -> None:
    with pytest.raises(ValidationError, match="SIGNUP_SECRET"):
        Settings(
            environment="production",
            encryption_keys="k",
            link_signing_key="k",
            _env_file=None,
        )


def test_links_point_at_public_base_url_or_at_this_host_and_port() -> None:
    local = Settings(environment="test", host="192.168.0.10", port=9000, _env_file=None)
    public = Settings(
        environment="test", public_base_url="https://revenda.example/", _env_file=None
    )

    assert link_options(local).url("t") == "http://192.168.0.10:9000/c/t"
    assert link_options(public).url("t") == "https://revenda.example/c/t"
    assert link_options(public).ttl.days == 7


def test_email_is_configured_only_with_an_smtp_host() -> None:
    off = Settings(environment="test", _env_file=None)
    on = Settings(environment="test", smtp_host="smtp.exemplo.com.br", _env_file=None)

    assert link_options(off).email is None
    assert isinstance(link_options(on).email, SmtpEmailGateway)
    assert not link_options(on).sms_configured
