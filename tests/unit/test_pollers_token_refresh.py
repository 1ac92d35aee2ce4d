"""Every OAuth / JWT credential is renewed BEFORE it expires, and refused credentials are a clear AuthError."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from multidict import CIMultiDict, CIMultiDictProxy

from services.pollers.adapters.app_store import TOKEN_LIFETIME_SECONDS, AppStoreToken
from services.pollers.adapters.google_play import ServiceAccountToken
from services.pollers.adapters.http import AuthError, HttpResponse, check_status
from services.pollers.adapters.oauth import OAuthToken
from services.simulator.google_play import verify_jwt

Token = OAuthToken | ServiceAccountToken
LIFETIME = 3600  # seconds, as the token endpoints answer in expires_in


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class TokenEndpoint:
    """Answers token requests with a new token each time, or with the scripted error status."""

    status: int = 200
    issued: int = 0
    forms: list[Mapping[str, str]] = field(default_factory=list)

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        self.forms.append(dict(data or {}))
        if self.status != 200:
            body = orjson.dumps({"error": "invalid_grant"})
            response = HttpResponse(self.status, CIMultiDictProxy(CIMultiDict()), body)
            check_status(response, f"POST {url}")  # raises as PlatformClient does
        self.issued += 1
        body = orjson.dumps({"access_token": f"token-{self.issued}", "expires_in": LIFETIME})
        return HttpResponse(200, CIMultiDictProxy(CIMultiDict()), body)


def oauth(clock: Clock) -> OAuthToken:
    """The refresh-token flow of Google Business Profile and eBay (both adapters use OAuthToken)."""
    return OAuthToken(
        "https://token.example/oauth2/token",
        {"grant_type": "refresh_token", "refresh_token": "r"},
        what="google_business source shop/google",
        monotonic=clock,
    )


def service_account(clock: Clock) -> ServiceAccountToken:
    """Google Play's service-account flow (a signed assertion exchanged for a token)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ServiceAccountToken(
        "svc@project.iam", key, "https://token.example/token", what="google_play source shop/play", monotonic=clock
    )


@pytest.mark.parametrize("make", [oauth, service_account], ids=["oauth_refresh_token", "service_account_jwt"])
async def test_the_access_token_is_renewed_before_it_expires(make: Callable[[Clock], Token]) -> None:
    """A token is reused while comfortably valid and exchanged for a new one shortly BEFORE expires_in runs out
    (never after): a poll never starts with a token about to lapse."""
    clock, endpoint = Clock(), TokenEndpoint()
    token = make(clock)
    assert await token.get(endpoint) == "token-1"
    clock.now += LIFETIME * 0.5
    assert await token.get(endpoint) == "token-1"
    clock.now = 1000.0 + LIFETIME - 1  # one second before the platform would expire it
    assert await token.get(endpoint) == "token-2"
    assert endpoint.issued == 2


@pytest.mark.parametrize("status", [400, 401])
@pytest.mark.parametrize("make", [oauth, service_account], ids=["oauth_refresh_token", "service_account_jwt"])
async def test_refused_credentials_are_an_auth_error_naming_the_source(
    make: Callable[[Clock], Token], status: int
) -> None:
    """invalid_grant (400) or invalid_client (401) from the token endpoint is a non-retriable AuthError that names
    the source, so the operator knows which credentials to fix."""
    token = make(Clock())
    with pytest.raises(AuthError, match="source shop/") as caught:
        await token.get(TokenEndpoint(status=status))
    assert not caught.value.retriable


def test_the_app_store_jwt_is_re_signed_before_it_expires() -> None:
    """App Store Connect tokens live 20 minutes: the same JWT is reused for a while, and a new one is signed
    before the old one's exp (every request carries a token valid for minutes more)."""
    clock, wall = Clock(), Clock(1_000_000.0)
    key = ec.generate_private_key(ec.SECP256R1())
    tokens = AppStoreToken("issuer", "KEY", key, monotonic=clock, wall=wall)
    first = tokens.get()
    clock.now += 60
    assert tokens.get() == first
    for _ in range(TOKEN_LIFETIME_SECONDS // 60 * 3):
        clock.now += 60
        wall.now += 60
        claims = verify_jwt(tokens.get(), key.public_key())
        assert claims is not None
        assert claims["exp"] - wall.now >= 60  # never used within a minute of its expiry
    assert tokens.get() != first
