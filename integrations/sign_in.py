"""Sign-in throttling for every way a password is checked (the product sign-in and Django
admin), with OWASP's device cookies so that nobody can lock the real admin out.

The check sits in the authentication backend, so every login form goes through it, and it
refuses before the password is hashed (each hash costs ~0.4 s of CPU). Each attempt is counted
before its password is checked and taken back if it succeeds, so concurrent guesses cannot get
past a limit between check and count. The counts live in the database
(``integrations/ratelimit.py``), so every worker and host shares them:

- an unknown client: per username from this address, per username from anywhere, and per
  address for any username (``SIGN_IN_FAILURE_LIMIT``, ``…_PER_EMAIL``, ``…_PER_ADDRESS``);
- a browser that presents a valid device cookie for the username (issued on each successful
  sign-in): only its own count, ``SIGN_IN_FAILURE_LIMIT``, so an attacker's failures elsewhere
  never lock it out, and a stolen cookie that keeps failing is locked on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from integrations import ratelimit
from integrations.client_address import client_address

DEVICE_COOKIE = "sign_in_device"
_DEVICE_SALT = "integrations.sign_in.device"
# What the backend leaves on the request for the form's message and for the middleware.
_WAIT_ATTRIBUTE = "_sign_in_wait"
_DEVICE_ATTRIBUTE = "_sign_in_device_cookie"


def _username_digest(username: str) -> str:
    # Hashed: people type passwords into the username field, and those must not sit in a table.
    normalized = username.strip().lower().encode()
    return hmac.new(settings.SECRET_KEY.encode(), normalized, hashlib.sha256).hexdigest()[:32]


def _device_id(request: HttpRequest | None, user_digest: str) -> str | None:
    """The device id of a valid, unexpired device cookie issued for this username, else None."""
    raw = request.COOKIES.get(DEVICE_COOKIE) if request is not None else None
    if not raw:
        return None
    try:
        value = signing.loads(
            raw,
            salt=_DEVICE_SALT,
            max_age=timedelta(days=settings.SIGN_IN_DEVICE_COOKIE_DAYS),
        )
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("user") != user_digest:
        return None
    device = value.get("device")
    return device if isinstance(device, str) and device else None


def _device_cookie_value(user_digest: str) -> str:
    return signing.dumps(
        {"user": user_digest, "device": secrets.token_urlsafe(16)}, salt=_DEVICE_SALT
    )


@dataclass(frozen=True)
class SignInAttempt:
    """The counters one sign-in attempt is checked against (scope -> failures allowed); the
    first is the one a success resets."""

    limits: dict[str, int]
    user_digest: str

    @classmethod
    def for_request(cls, request: HttpRequest | None, username: str) -> SignInAttempt:
        user = _username_digest(username)
        device = _device_id(request, user)
        if device:
            return cls({f"sign-in-device:{device}": settings.SIGN_IN_FAILURE_LIMIT}, user)
        address = client_address(request) if request is not None else ""
        return cls(
            {
                f"sign-in-pair:{user}:{address}": settings.SIGN_IN_FAILURE_LIMIT,
                f"sign-in-account:{user}": settings.SIGN_IN_FAILURE_LIMIT_PER_EMAIL,
                f"sign-in-address:{address}": settings.SIGN_IN_FAILURE_LIMIT_PER_ADDRESS,
            },
            user,
        )

    def begin(self) -> int | None:
        """Count this attempt in every scope before the password is checked; seconds to wait
        if that puts any scope over its limit (then nothing stays counted).

        Counting first, in the one upsert per scope, is what keeps concurrent attempts to the
        limit: each worker sees the others' attempts, not only their finished failures.
        """
        window = settings.SIGN_IN_LOCKOUT_SECONDS
        # Already over: refuse with one read, counting nothing.
        wait = ratelimit.wait_if_over(self.limits, window_seconds=window)
        if wait:
            return wait
        waits = [
            ratelimit.hit(scope, limit=limit, window_seconds=window)
            for scope, limit in self.limits.items()
        ]
        wait = max((w for w in waits if w), default=None)
        if wait:
            self._release_all()
        return wait

    def record_success(self) -> None:
        """A success is no failure: forget this client's failures for the username, and take
        the attempt back from the wider counts."""
        first, *others = self.limits
        ratelimit.reset(first)
        for scope in others:
            ratelimit.release(scope, window_seconds=settings.SIGN_IN_LOCKOUT_SECONDS)

    def _release_all(self) -> None:
        for scope in self.limits:
            ratelimit.release(scope, window_seconds=settings.SIGN_IN_LOCKOUT_SECONDS)


class ThrottledModelBackend(ModelBackend):
    """Django's username + password backend behind the sign-in throttle.

    Over a limit it raises PermissionDenied, which makes ``authenticate()`` stop and answer None
    without hashing; the login form then shows ``sign_in_wait(request)``.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        attempt = SignInAttempt.for_request(request, username)
        wait = attempt.begin()
        if wait:
            if request is not None:
                setattr(request, _WAIT_ATTRIBUTE, wait)
            raise PermissionDenied
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            return None  # the attempt counted in begin() stays: a failure
        attempt.record_success()
        if request is not None:
            setattr(request, _DEVICE_ATTRIBUTE, _device_cookie_value(attempt.user_digest))
        return user


def sign_in_wait(request: HttpRequest | None) -> int | None:
    """Seconds this request's sign-in was told to wait, if the throttle refused it."""
    return getattr(request, _WAIT_ATTRIBUTE, None)


class SignInThrottleMiddleware:
    """Answers a throttled sign-in page with 429 and Retry-After, and hands the browser its
    device cookie after a successful sign-in, whichever login form took the password."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        wait = sign_in_wait(request)
        if wait and response.status_code == 200:
            response.status_code = 429
            response.headers["Retry-After"] = str(wait)
        device_cookie = getattr(request, _DEVICE_ATTRIBUTE, None)
        if device_cookie:
            response.set_cookie(
                DEVICE_COOKIE,
                device_cookie,
                max_age=settings.SIGN_IN_DEVICE_COOKIE_DAYS * 24 * 3600,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
