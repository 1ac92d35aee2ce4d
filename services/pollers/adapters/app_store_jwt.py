"""Signed JWTs for API keys: ES256 (App Store Connect .p8 keys) and RS256 (Google service accounts)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import orjson
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_signing_key(pem: str) -> SigningKey:
    """A PEM private key (PKCS#8, as in a .p8 file or a service-account JSON); ValueError if we cannot sign with it."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not a PEM private key ({type(exc).__name__})") from None
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    if isinstance(key, rsa.RSAPrivateKey):
        return key
    raise ValueError("expected a P-256 (ES256) or RSA (RS256) private key")


def sign_jwt(claims: Mapping[str, Any], key: SigningKey, *, kid: str | None = None) -> str:
    """A compact JWS: ES256 for P-256 keys (raw r||s, as JOSE wants, not DER), RS256 for RSA keys."""
    header: dict[str, str] = {"alg": "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    signing_input = f"{b64url(orjson.dumps(header))}.{b64url(orjson.dumps(dict(claims)))}".encode("ascii")
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode('ascii')}.{b64url(signature)}"
