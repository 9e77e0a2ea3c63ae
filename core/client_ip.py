"""The client's IP address, trusting X-Forwarded-For only from our own proxies.

X-Forwarded-For is honoured only when the direct peer is inside TRUST_PROXY_CIDRS (walking the
header right to left past every trusted address), or for exactly TRUST_PROXY_HOPS hops. A header
sent by anyone else is ignored, so a client cannot choose the IP that rate limits and audits see.

Entries are read from the right, because only the right-hand end was written by proxies we trust:
anything to the left of the first untrusted address was written by the client and can say anything.
An unparseable entry where a trusted proxy's entry should be stops the walk at the last address we
can vouch for. IPv4-mapped IPv6 addresses (``::ffff:10.0.0.1``) count as their IPv4 address, and an
entry with a port (``203.0.113.7:5100``, ``[2001:db8::1]:443``) as its address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse(value: str) -> IPAddress | None:
    value = value.strip()
    if value.startswith("["):  # [v6]:port
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # v4:port (a bare IPv6 address has several colons)
        value = value.partition(":")[0]
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _trusted(addr: IPAddress) -> bool:
    return any(addr in net for net in settings.TRUST_PROXY_CIDRS)


def _forwarded_entries(request) -> list[str]:
    return [e for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if e.strip()]


def _by_cidrs(peer: IPAddress, entries: list[str]) -> IPAddress:
    last = peer
    for entry in reversed(entries):
        if not _trusted(last):
            break
        addr = _parse(entry)
        if addr is None:  # garbage where a trusted proxy's entry should be: stop here
            break
        last = addr
    return last


def _by_hops(peer: IPAddress, entries: list[str], hops: int) -> IPAddress:
    # Each of our `hops` proxies appended one entry; with fewer entries than hops the request came
    # through fewer proxies, and the leftmost entry is still one a proxy of ours wrote.
    entry = entries[-hops] if len(entries) >= hops else entries[0]
    return _parse(entry) or peer


def client_ip(request) -> str | None:
    """The best-known client IP as a string, or None when the peer address is unusable."""
    peer = _parse(request.META.get("REMOTE_ADDR", "") or "")
    if peer is None:
        return None
    entries = _forwarded_entries(request)
    if not entries:
        return str(peer)
    if settings.TRUST_PROXY_CIDRS:
        return str(_by_cidrs(peer, entries))
    if settings.TRUST_PROXY_HOPS > 0:
        return str(_by_hops(peer, entries, settings.TRUST_PROXY_HOPS))
    return str(peer)


def client_ip_for_axes(request) -> str | None:
    """client_ip for django-axes, which also calls it without a request (a test's force_login)."""
    return client_ip(request) if request is not None else None
