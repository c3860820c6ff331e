"""The one custom authorizer of the API, and the group checks of the routes.

The authorizer verifies a Cognito JWT: RS256 signature against the pool's
JWKS, issuer, expiry, ``token_use`` and audience (``aud`` of an ID token,
``client_id`` of an access token, both the app client id). A request without
an ``Authorization`` header is refused by the gateway itself (401). A token
that fails verification is marked ``auth_error`` in the authorizer context
instead of raising, because ``chalice local`` and the test client turn an
authorizer exception into a crash rather than a 401; every protected route
is declared with :func:`chalicelib.http.api_route`, whose guard answers 401
in the API's error shape before any business code runs. The JWKS URL can be
overridden (``JWKS_URL``) only in the ``local`` stage.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalice import AuthResponse, Blueprint
from chalice.app import AuthRequest

from . import config
from .errors import Forbidden, Unauthorized
from .logs import log_event

__all__ = ["GROUPS", "Identity", "TokenError", "auth_bp", "identity_from_context", "jwt_auth", "verify_token"]

GROUPS = ("owners", "brokers", "staff")
JWKS_TTL_SECONDS = 3600
JWKS_REFRESH_MIN_SECONDS = 30
LEEWAY_SECONDS = 5

auth_bp = Blueprint(__name__)


class TokenError(Exception):
    """Why a token was refused (a stable code, logged, never the token)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Identity:
    """Who calls: the Cognito ``sub``, its groups, and when the token expires."""

    sub: str
    groups: frozenset[str]
    expires_at: int

    def in_any(self, groups: tuple[str, ...]) -> bool:
        """Whether the caller belongs to one of ``groups``."""
        return bool(self.groups.intersection(groups))


class _JwksCache:
    """Signing keys by ``kid``, fetched at most every 30 s and kept an hour."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.url = ""
        self.keys: dict[str, Any] = {}
        self.fetched_at = 0.0

    def key(self, url: str, kid: str) -> Any:
        with self.lock:
            now = time.monotonic()
            stale = url != self.url or now - self.fetched_at > JWKS_TTL_SECONDS
            unknown = kid not in self.keys and now - self.fetched_at > JWKS_REFRESH_MIN_SECONDS
            if stale or unknown:
                self.keys = _fetch_keys(url)
                self.url, self.fetched_at = url, now
            return self.keys.get(kid)

    def clear(self) -> None:
        with self.lock:
            self.url, self.keys, self.fetched_at = "", {}, 0.0


_jwks = _JwksCache()


def _fetch_keys(url: str) -> dict[str, Any]:
    """RSA public keys of the JWKS at ``url`` (https, or a local file/http URL in the local stage)."""
    import urllib.request

    import jwt

    with urllib.request.urlopen(url, timeout=3) as response:
        document = json.load(response)
    keys = {}
    for entry in document.get("keys", []):
        if entry.get("kty") == "RSA" and entry.get("kid") and entry.get("use", "sig") == "sig":
            keys[entry["kid"]] = jwt.PyJWK.from_dict(entry, algorithm="RS256").key
    return keys


def clear_jwks_cache() -> None:
    """Forget fetched keys (tests rotate keys)."""
    _jwks.clear()


def verify_token(token: str) -> Identity:
    """The identity in a valid Cognito token, or :class:`TokenError`."""
    import jwt

    settings = config.settings()
    if not settings.user_pool_id or not settings.user_pool_client_id:
        raise TokenError("not_configured")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise TokenError("malformed") from None
    if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
        raise TokenError("bad_header")
    try:
        key = _jwks.key(settings.jwks_url, header["kid"])
    except (OSError, ValueError, jwt.PyJWKError):
        raise TokenError("jwks_unavailable") from None
    if key is None:
        raise TokenError("unknown_key")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            issuer=settings.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("expired") from None
    except jwt.InvalidTokenError:
        raise TokenError("invalid") from None
    use = claims.get("token_use")
    audience = claims.get("aud") if use == "id" else claims.get("client_id") if use == "access" else None
    if use not in ("id", "access"):
        raise TokenError("bad_token_use")
    if audience != settings.user_pool_client_id:
        raise TokenError("bad_audience")
    groups = claims.get("cognito:groups") or []
    if not isinstance(groups, list):
        raise TokenError("bad_groups")
    return Identity(
        sub=str(claims["sub"]),
        groups=frozenset(str(g) for g in groups if g in GROUPS),
        expires_at=int(claims["exp"]),
    )


def _bearer(value: str) -> str:
    scheme, _, rest = value.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else value.strip()


@auth_bp.authorizer(ttl_seconds=300)
def jwt_auth(auth_request: AuthRequest) -> AuthResponse:
    """Custom authorizer: verified claims into the context, or an ``auth_error`` the route guard answers 401."""
    try:
        identity = verify_token(_bearer(auth_request.token or ""))
    except TokenError as exc:
        log_event("token_refused", reason=exc.code)
        return AuthResponse(routes=["*"], principal_id="anonymous", context={"auth_error": exc.code})
    context = {"sub": identity.sub, "groups": " ".join(sorted(identity.groups)), "exp": identity.expires_at}
    return AuthResponse(routes=["*"], principal_id=identity.sub, context=context)


def identity_from_context(context: Mapping[str, Any] | None, groups: tuple[str, ...]) -> Identity:
    """The verified identity of a request, checked against ``groups`` (empty: any signed-in user)."""
    authorizer = (context or {}).get("authorizer") or {}
    sub = authorizer.get("sub")
    if authorizer.get("auth_error") or not sub:
        raise Unauthorized("unauthorized", "Authentification requise : jeton absent, invalide ou expiré.")
    expires_at = int(authorizer.get("exp") or 0)
    if expires_at + LEEWAY_SECONDS < time.time():
        # The gateway may cache an authorizer answer past the token's expiry.
        raise Unauthorized("unauthorized", "Authentification requise : jeton absent, invalide ou expiré.")
    identity = Identity(
        sub=str(sub), groups=frozenset(str(authorizer.get("groups", "")).split()), expires_at=expires_at
    )
    if groups and not identity.in_any(groups):
        raise Forbidden("forbidden", "Accès refusé : votre profil ne permet pas cette action.")
    return identity
