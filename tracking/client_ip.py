"""The client's IP address, trusting X-Forwarded-For only from our own proxies.

X-Forwarded-For is honoured only when the direct peer is inside TRUST_PROXY_CIDRS (walking the
header right to left past every trusted address), or for exactly TRUST_PROXY_HOPS hops. A header
sent by anyone else is ignored, so a client cannot choose the IP that rate limits and audits see.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(addr) -> bool:
    return any(addr in net for net in settings.TRUST_PROXY_CIDRS)


def client_ip(request) -> str | None:
    """The best-known client IP as a string, or None when the peer address is unusable."""
    peer = _parse(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return None
    forwarded = [a for a in (_parse(p) for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")) if a]
    if settings.TRUST_PROXY_CIDRS:
        if not _trusted(peer):
            return str(peer)
        chain = [peer, *reversed(forwarded)]
        for addr in chain:
            if not _trusted(addr):
                return str(addr)
        return str(chain[-1])
    hops = settings.TRUST_PROXY_HOPS
    if hops > 0 and forwarded:
        return str(forwarded[-hops] if len(forwarded) >= hops else forwarded[0])
    return str(peer)
