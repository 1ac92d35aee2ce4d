"""The TOP (Taobao Open Platform) gateway protocol: signed calls and `error_response` as Stormwatch errors."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from services.pollers.adapters.http import AuthError, PlatformError
from services.shared.errors import Reason, StormwatchError

SIGN_METHODS = ("md5", "hmac", "hmac-sha256")
# TOP error codes that mean "these credentials cannot make this call": signature, app key, session, permission.
_AUTH_CODES = frozenset({11, 12, 25, 26, 27, 28, 29, 53})
# Gateway-side throttles: 7 App Call Limited, 8 API (session) call limited.
_LIMIT_CODES = frozenset({7, 8})
_BAN_SECONDS = re.compile(r"(\d+)\s*more\s*seconds?")


def sign(params: Mapping[str, str], secret: str, method: str) -> str:
    """TOP's request signature: every parameter but `sign`, sorted by name, concatenated as name+value.

    md5: MD5 over secret + that + secret; hmac: HMAC-MD5 keyed with the secret; hmac-sha256 likewise. Upper hex.
    """
    joined = "".join(f"{key}{params[key]}" for key in sorted(params) if key != "sign")
    if method == "md5":
        return hashlib.md5((secret + joined + secret).encode(), usedforsecurity=False).hexdigest().upper()
    digest = hashlib.md5 if method == "hmac" else hashlib.sha256
    return hmac.new(secret.encode(), joined.encode(), digest).hexdigest().upper()


def raise_for_error(payload: Any, what: str, where: str) -> None:
    """Map an `error_response` onto Stormwatch errors (TOP answers HTTP 200 with the error in the body).

    Signature, app key and session errors are AuthError (someone must renew the session key); call limits are
    rate limits with the ban's length as Retry-After; isp.* (platform side) failures are retriable server errors;
    anything else (isv.invalid-parameter, ...) is a client error a retry cannot fix.
    """
    if not isinstance(payload, dict) or "error_response" not in payload:
        return
    error = payload["error_response"]
    if not isinstance(error, dict):
        raise PlatformError(f"{what}: malformed error_response", reason=Reason.SERVER_ERROR)
    code = error.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    raw_sub_code = error.get("sub_code")
    sub_code = raw_sub_code if isinstance(raw_sub_code, str) else ""
    msg = str(error.get("msg", ""))[:120]
    described = f"{what}: TOP error {code} {msg} {sub_code}".rstrip()
    if (
        code in _LIMIT_CODES
        or sub_code.startswith("accesscontrol.")
        or (sub_code.startswith("isv.") and "limit" in sub_code)
    ):
        match = _BAN_SECONDS.search(str(error.get("sub_msg", "")))
        retry_after = float(match.group(1)) if match else 1.0
        raise PlatformError(described, reason=Reason.RATE_LIMITED, retry_after=retry_after)
    if code in _AUTH_CODES or "session" in sub_code or "signature" in sub_code:
        raise AuthError(f"{described}; check {where}.credentials (app_key, app_secret, session)", status=401)
    if sub_code.startswith("isp.") or (code == 15 and not sub_code):
        raise PlatformError(described, reason=Reason.SERVER_ERROR)
    raise StormwatchError(described, retriable=False, reason=Reason.CLIENT_ERROR)
