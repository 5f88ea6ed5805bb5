"""Password hashing (argon2), access tokens (JWT with pinned algorithm, issuer and audience),
e-mail verification tokens (JWT for another audience) and refresh tokens (opaque, random,
stored as a hash)."""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Self
from uuid import UUID

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from starlette.concurrency import run_in_threadpool

from .config import Settings

# Access tokens remembered once verified (about 1 KB each): enough for the clients that are
# active at once on one process; the least recently used is forgotten first.
VERIFIED_TOKENS_KEPT = 4096


@lru_cache(maxsize=4)
def _password_hashing(
    memory_kib: int, time_cost: int, parallelism: int
) -> tuple[PasswordHash, str]:
    """argon2id at the settings' cost, and a hash of a password no account has: verified when
    the e-mail is unknown, so that sign-in takes as long either way and response times do not
    reveal which e-mails have accounts. Made on first use, whichever the path."""
    hashing = PasswordHash(
        (Argon2Hasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism),)
    )
    return hashing, hashing.hash("dummy password that matches no account")


def _hashing_for(settings: Settings) -> tuple[PasswordHash, str]:
    return _password_hashing(
        settings.password_hash_memory_kib,
        settings.password_hash_time_cost,
        settings.password_hash_parallelism,
    )


def _hash(password: str, settings: Settings) -> str:
    hashing, _ = _hashing_for(settings)
    return hashing.hash(password)


def _verify(password: str, password_hash: str | None, settings: Settings) -> bool:
    hashing, dummy_hash = _hashing_for(settings)
    # A hash is checked at the cost it records: hashes made before the settings changed
    # keep working.
    matches = hashing.verify(password, password_hash or dummy_hash)
    return matches and password_hash is not None


# argon2 is CPU-bound by design; it releases the GIL, so a thread keeps the loop free.
async def hash_password(password: str, settings: Settings) -> str:
    return await run_in_threadpool(_hash, password, settings)


async def verify_password(password: str, password_hash: str | None, settings: Settings) -> bool:
    return await run_in_threadpool(_verify, password, password_hash, settings)


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """Whom a valid access token names, and the session (sign-in) it was issued to."""

    user_id: UUID
    session_id: UUID


def create_access_token(
    subject: UUID | str, settings: Settings, *, session_id: UUID | str, now: datetime | None = None
) -> str:
    issued_at = now or datetime.now(UTC)
    claims = {
        "sub": str(subject),
        "sid": str(session_id),
        "iat": issued_at,
        "exp": issued_at + timedelta(minutes=settings.access_token_expire_minutes),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    return jwt.encode(
        claims, settings.jwt_secret.get_secret_value(), algorithm=settings.jwt_algorithm
    )


def decode_access_token(token: str, settings: Settings) -> AccessClaims | None:
    """The user and session of a valid token, or None for any invalid, expired or foreign
    token, or one issued before sessions existed (no `sid`)."""
    # One exception per `except`: `except (A, B):` would be written without parentheses by
    # ruff's formatter for Python 3.14 only, and this text must be clean for every target.
    try:
        claims, expires_at = _verified_access_claims(
            token,
            settings.jwt_secret.get_secret_value(),
            settings.jwt_algorithm,
            settings.jwt_issuer,
            settings.jwt_audience,
        )
    except jwt.PyJWTError:
        return None
    except ValueError:
        return None
    # Checked on every use, as jwt.decode does: a token remembered below still expires.
    return claims if expires_at > time.time() else None


@lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _verified_access_claims(
    token: str, key: str, algorithm: str, issuer: str, audience: str
) -> tuple[AccessClaims, int]:
    """The claims of a token whose signature, issuer and audience were verified, and when
    it expires. Remembered per token and key: a client sends its token on every request,
    and verifying it again costs more than the rest of a small read (PyJWT checks the
    base64 alphabet one character at a time). Only valid tokens are remembered (a refused
    one raises), so nothing refused is ever accepted from here."""
    claims = _decode(token, key, algorithm, issuer, audience, required="sid")
    verified = AccessClaims(user_id=UUID(str(claims["sub"])), session_id=UUID(str(claims["sid"])))
    return verified, int(claims["exp"])


def _decode(
    token: str, key: str, algorithm: str, issuer: str, audience: str, *, required: str
) -> dict[str, Any]:
    """The claims of a token signed with `key` by the pinned algorithm, for this issuer and
    audience, unexpired, with the standard claims and the `required` one of its kind;
    PyJWTError otherwise."""
    return jwt.decode(
        token,
        key,
        algorithms=[algorithm],
        issuer=issuer,
        audience=audience,
        options={"require": ["exp", "iat", "iss", "aud", "sub", required]},
    )


@dataclass(frozen=True, slots=True)
class VerificationClaims:
    """Whom a valid e-mail verification token names, and the address (its identity key) it
    was sent to: verifying holds only while the account still has that address."""

    user_id: UUID
    email_key: str


def _verification_audience(settings: Settings) -> str:
    # Another audience than access tokens': neither kind of token is accepted as the other.
    return f"{settings.jwt_audience}:verify-email"


def create_verification_token(
    user_id: UUID, email_key: str, settings: Settings, *, now: datetime | None = None
) -> str:
    """The token of an e-mail verification link. Stateless: verifying twice does no harm,
    so nothing needs to be stored to spend it."""
    issued_at = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "email": email_key,
        "iat": issued_at,
        "exp": issued_at + timedelta(hours=settings.email_verification_expire_hours),
        "iss": settings.jwt_issuer,
        "aud": _verification_audience(settings),
    }
    return jwt.encode(
        claims, settings.jwt_secret.get_secret_value(), algorithm=settings.jwt_algorithm
    )


def decode_verification_token(token: str, settings: Settings) -> VerificationClaims | None:
    """The account and address of a valid verification token; None for any invalid, expired
    or foreign token (an access token included)."""
    try:
        claims = _decode(
            token,
            settings.jwt_secret.get_secret_value(),
            settings.jwt_algorithm,
            settings.jwt_issuer,
            _verification_audience(settings),
            required="email",
        )
    except jwt.PyJWTError:
        return None
    try:
        return VerificationClaims(user_id=UUID(str(claims["sub"])), email_key=str(claims["email"]))
    except ValueError:
        return None


def access_token_expiry(token: str) -> datetime:
    """When a token expires; only for a token `decode_access_token` has accepted."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return datetime.fromtimestamp(claims["exp"], UTC)


@dataclass(frozen=True, slots=True)
class OpaqueToken:
    """A refresh token or a password reset token, `<record id>.<secret>`: the session (or
    reset) is found by its id, and the secret compared (in constant time) with the digest
    the record stores."""

    record_id: UUID
    secret: str

    def __str__(self) -> str:
        return f"{self.record_id}.{self.secret}"

    @classmethod
    def parse(cls, token: str) -> Self | None:
        record_id, _, secret = token.partition(".")
        try:
            return cls(record_id=UUID(record_id), secret=secret) if secret else None
        except ValueError:
            return None


def new_token_secret() -> str:
    """The secret of an opaque token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_digest(secret: str) -> str:
    """What is stored of an opaque token's secret: its SHA-256. The secret is 256 random
    bits, so a fast hash is enough (nothing to guess), and a stolen table holds no token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(stored: str, presented: str) -> bool:
    """Compare digests in constant time: the time taken does not tell how much matched."""
    return hmac.compare_digest(stored, presented)
