"""core.client_ip: X-Forwarded-For is believed only from our own proxies."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from core.client_ip import client_ip

rf = RequestFactory()


def ip(peer: str, xff: str | None = None) -> str | None:
    extra = {"REMOTE_ADDR": peer}
    if xff is not None:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    return client_ip(rf.get("/", **extra))


@pytest.fixture
def cidrs(settings):
    def use(*ranges: str, hops: int = 0):
        import ipaddress

        settings.TRUST_PROXY_CIDRS = [ipaddress.ip_network(r) for r in ranges]
        settings.TRUST_PROXY_HOPS = hops

    return use


class TestNoProxyConfigured:
    def test_header_is_ignored(self, cidrs):
        cidrs()
        assert ip("198.51.100.7", "1.2.3.4") == "198.51.100.7"

    def test_unusable_peer_is_none(self, cidrs):
        cidrs()
        assert ip("", "1.2.3.4") is None
        assert ip("not-an-ip") is None


class TestTrustedCidrs:
    def test_spoofed_header_from_untrusted_peer_is_ignored(self, cidrs):
        cidrs("127.0.0.1/32")
        assert ip("203.0.113.9", "6.6.6.6") == "203.0.113.9"

    def test_header_from_trusted_proxy_is_honoured(self, cidrs):
        cidrs("127.0.0.1/32")
        assert ip("127.0.0.1", "203.0.113.9") == "203.0.113.9"

    def test_client_prefix_cannot_choose_the_ip(self, cidrs):
        # The client sent "6.6.6.6"; nginx appended the real peer.
        cidrs("127.0.0.1/32")
        assert ip("127.0.0.1", "6.6.6.6, 203.0.113.9") == "203.0.113.9"

    def test_walks_past_several_trusted_proxies(self, cidrs):
        cidrs("10.0.0.0/8", "127.0.0.1/32")
        assert ip("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3, 10.0.0.5") == "203.0.113.9"

    def test_all_trusted_gives_the_leftmost(self, cidrs):
        cidrs("10.0.0.0/8")
        assert ip("10.0.0.1", "10.9.9.9, 10.0.0.2") == "10.9.9.9"

    def test_garbage_where_a_proxy_entry_should_be_stops_at_the_last_trusted(self, cidrs):
        cidrs("10.0.0.0/8")
        assert ip("10.0.0.1", "203.0.113.9, garbage, 10.0.0.2") == "10.0.0.2"

    def test_garbage_left_of_the_client_does_not_matter(self, cidrs):
        cidrs("127.0.0.1/32")
        assert ip("127.0.0.1", "nonsense, , 203.0.113.9") == "203.0.113.9"

    def test_empty_header(self, cidrs):
        cidrs("127.0.0.1/32")
        assert ip("127.0.0.1", "") == "127.0.0.1"

    def test_ipv6_proxy_and_client(self, cidrs):
        cidrs("::1/128", "fd00::/8")
        assert ip("::1", "2001:db8::66, 2001:db8::1, fd00::2") == "2001:db8::1"

    def test_ipv6_untrusted_peer(self, cidrs):
        cidrs("fd00::/8")
        assert ip("2001:db8::9", "2001:db8::66") == "2001:db8::9"

    def test_ipv4_mapped_peer_counts_as_ipv4(self, cidrs):
        cidrs("127.0.0.1/32")
        assert ip("::ffff:127.0.0.1", "203.0.113.9") == "203.0.113.9"

    def test_entries_with_ports(self, cidrs):
        cidrs("127.0.0.1/32")
        assert ip("127.0.0.1", "203.0.113.9:5123") == "203.0.113.9"
        assert ip("127.0.0.1", "[2001:db8::1]:443") == "2001:db8::1"


class TestHops:
    def test_one_hop_takes_the_rightmost(self, cidrs):
        cidrs(hops=1)
        assert ip("192.0.2.1", "6.6.6.6, 203.0.113.9") == "203.0.113.9"

    def test_two_hops(self, cidrs):
        cidrs(hops=2)
        assert ip("192.0.2.1", "6.6.6.6, 203.0.113.9, 192.0.2.50") == "203.0.113.9"

    def test_more_hops_than_entries_takes_the_leftmost(self, cidrs):
        cidrs(hops=3)
        assert ip("192.0.2.1", "203.0.113.9, 192.0.2.50") == "203.0.113.9"

    def test_garbage_at_the_hop_position_falls_back_to_the_peer(self, cidrs):
        cidrs(hops=1)
        assert ip("192.0.2.1", "203.0.113.9, unknown") == "192.0.2.1"

    def test_garbage_left_of_the_hop_position_is_harmless(self, cidrs):
        cidrs(hops=1)
        assert ip("192.0.2.1", "junk, 203.0.113.9") == "203.0.113.9"

    def test_ipv6(self, cidrs):
        cidrs(hops=1)
        assert ip("2001:db8::fe", "2001:db8::1") == "2001:db8::1"

    def test_no_header(self, cidrs):
        cidrs(hops=1)
        assert ip("192.0.2.1") == "192.0.2.1"

    def test_cidrs_win_over_hops(self, cidrs):
        cidrs("127.0.0.1/32", hops=1)
        assert ip("203.0.113.5", "6.6.6.6") == "203.0.113.5"
