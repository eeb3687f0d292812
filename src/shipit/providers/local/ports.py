"""Blue/green ports: the two ports each service owns, and whether a port is free or answering.

Service number ``i`` (its position in the environment's services) owns ``base + 2*i`` and
``base + 2*i + 1``; a new release starts on the one the live release does not use.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def slot_ports(base: int, index: int) -> tuple[int, int]:
    """The two ports of service number ``index``."""
    first = base + 2 * index
    return first, first + 1


def reach_host(host: str) -> str:
    """The address to connect to for a service bound to ``host`` (a wildcard means loopback)."""
    return WILDCARD_HOSTS.get(host, host)


def url_host(host: str) -> str:
    """``host`` as written in a URL (IPv6 addresses in brackets)."""
    reachable = reach_host(host)
    return f"[{reachable}]" if ":" in reachable else reachable


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def port_free(host: str, port: int) -> bool:
    """Whether a server could bind ``host:port`` now (nobody listens there)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def wait_free(host: str, port: int, *, timeout: float = 5.0) -> bool:
    """Wait until ``port`` can be bound again (a stopped process may need a moment)."""
    deadline = time.monotonic() + timeout
    while not port_free(host, port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


@dataclass(frozen=True)
class PortChoice:
    """Where a new release goes; ``stop_live_first`` when only the live one's port can be used."""

    port: int | None
    stop_live_first: bool = False


def choose_port(
    slots: tuple[int, int], live_port: int | None, is_free: Callable[[int], bool]
) -> PortChoice:
    """A free slot the live release does not use; else the live one's (stopping it first)."""
    for port in slots:
        if port != live_port and is_free(port):
            return PortChoice(port)
    if live_port in slots:
        return PortChoice(live_port, stop_live_first=True)
    return PortChoice(None)


def accepts_tcp(host: str, port: int, *, timeout: float = 2.0) -> bool:
    """Whether something accepts a TCP connection on ``host:port``."""
    try:
        with socket.create_connection((reach_host(host), port), timeout=timeout):
            return True
    except OSError:
        return False
