"""Suite-wide: no test reaches beyond this machine.

Names other than localhost do not resolve (as on an offline machine, so code that downloads
something sees "no network or DNS"), and a connect to a non-loopback address fails the test.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest


class NonLoopbackConnect(AssertionError):
    """A test tried to reach beyond 127.0.0.1 / ::1."""


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%")[0].strip("[]"))
    except ValueError:
        return None


def _is_loopback(host: str) -> bool:
    address = _address(host)
    if address is None:
        return host.casefold() in ("localhost", "localhost.")
    return address.is_loopback


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail any socket connect to a non-loopback address, from any thread; resolve no names."""
    attempts: list[str] = []
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_getaddrinfo = socket.getaddrinfo

    def check(address: Any) -> None:
        host = address[0] if isinstance(address, tuple) and address else None
        if isinstance(host, str) and not _is_loopback(host):
            attempts.append(host)
            raise NonLoopbackConnect(f"test tried to connect to {host}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return original_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and _address(name) is None and not _is_loopback(name):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return original_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert not attempts, f"non-loopback connections attempted: {attempts}"
