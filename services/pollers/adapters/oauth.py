"""OAuth2 access tokens for adapters: fetched with a grant, cached, renewed before they expire."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from services.pollers.adapters.http import AuthError, PlatformError, Requester
from services.shared.errors import Reason, StormwatchError


class OAuthToken:
    """A bearer token from `token_url` with a fixed form (refresh_token or client_credentials grant).

    Renewed a little early (10 % of its lifetime, at most 5 minutes) so that it never expires mid-poll; a 400 or 401
    from the token endpoint (invalid_grant, invalid_client) is an AuthError naming the source's credentials.
    """

    def __init__(
        self,
        token_url: str,
        form: Mapping[str, str],
        *,
        what: str,
        headers: Mapping[str, str] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = token_url
        self._form = dict(form)
        self._headers = dict(headers or {})
        self._what = what
        self._monotonic = monotonic
        self._token: str | None = None
        self._expires_at = 0.0

    def invalidate(self) -> None:
        self._token = None

    async def get(self, client: Requester) -> str:
        if self._token is not None and self._monotonic() < self._expires_at:
            return self._token
        asked_at = self._monotonic()
        try:
            response = await client.request("POST", self._url, headers=self._headers, data=self._form)
        except AuthError as exc:
            raise AuthError(
                f"{self._what}: token endpoint refused the credentials (HTTP {exc.status})", status=exc.status
            ) from exc
        except StormwatchError as exc:
            if exc.reason is Reason.CLIENT_ERROR:  # OAuth2 answers 400 invalid_grant for a revoked refresh token
                raise AuthError(f"{self._what}: token endpoint refused the grant ({exc})", status=400) from exc
            raise
        token, lifetime = token_fields(response.json(f"{self._what} access token"), self._what)
        self._token = token
        self._expires_at = asked_at + lifetime - min(300.0, lifetime * 0.1)
        return token


def token_fields(payload: Any, what: str) -> tuple[str, float]:
    """access_token and expires_in (a number, or a numeric string as some gateways send it)."""
    token = payload.get("access_token") if isinstance(payload, dict) else None
    lifetime = payload.get("expires_in") if isinstance(payload, dict) else None
    try:
        seconds = float(lifetime) if isinstance(lifetime, int | float | str) and not isinstance(lifetime, bool) else -1
    except ValueError:
        seconds = -1
    if not isinstance(token, str) or not token or seconds <= 0:
        raise PlatformError(f"{what} token response lacks access_token/expires_in", reason=Reason.SERVER_ERROR)
    return token, seconds
