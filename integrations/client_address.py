"""The one rule for a request's client address, used by sign-in throttling, SCIM, provisioning
events and rate limits alike.

Each trusted proxy appends the address it received the connection from to X-Forwarded-For, so
with ``TRUSTED_PROXY_COUNT`` = N the client is the N-th entry from the right. Entries further
left are whatever the client sent and are never read: forging them buys no fresh address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid_address(value: str | None) -> str:
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return ""
    # A zone ("fe80::1%eth0") names an interface of the sender's machine, and PostgreSQL's inet
    # column refuses it.
    if getattr(address, "scope_id", None):
        return ""
    return str(address)


def client_address(request: HttpRequest) -> str:
    """The client's IP address, or "" when the connection has none (a Unix socket).

    A header shorter than the number of trusted proxies (a request that did not come through
    all of them) or an entry that is not an address gives the connection's own address:
    reading further left would trust what the client wrote.
    """
    remote = _valid_address(request.META.get("REMOTE_ADDR"))
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < trusted:
        return remote
    return _valid_address(hops[-trusted]) or remote
