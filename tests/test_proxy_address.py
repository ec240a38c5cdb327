"""Behind a reverse proxy the per-address limits count the shopper's address, not the proxy's: the API reads
X-Forwarded-For as Reflex does for the widget (REFLEX_TRUSTED_PROXY_HOPS), and ignores it when no proxy is
trusted, since a client can send any header."""

from starlette.requests import Request

from rxchat.api.deps import client_address
from rxchat.settings import settings


def request(forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return Request({"type": "http", "headers": headers, "client": ("10.0.0.9", 5000)})


def test_without_trusted_proxies_the_peer_counts(monkeypatch):
    monkeypatch.setattr(settings, "trusted_proxy_hops", 0)
    assert client_address(request("203.0.113.7")) == "10.0.0.9"


def test_behind_one_proxy_the_address_it_saw_counts(monkeypatch):
    monkeypatch.setattr(settings, "trusted_proxy_hops", 1)
    # nginx appends the address it saw; what the client wrote in front of it is not trusted
    assert client_address(request("198.51.100.1, 203.0.113.7")) == "203.0.113.7"
    assert client_address(request(None)) == "10.0.0.9"  # straight to the instance: the peer


def test_the_setting_is_reflexs_own_name(monkeypatch):
    monkeypatch.setenv("REFLEX_TRUSTED_PROXY_HOPS", "1")
    assert type(settings)().trusted_proxy_hops == 1
