"""pytest-socket keeps every test on loopback (pyproject: --allow-hosts)."""

from __future__ import annotations

import socket

import pytest
import pytest_socket


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_connections_off_loopback_are_refused_before_any_packet() -> None:
    # The guard must be in place first, so this test never sends a packet.
    assert socket.socket.connect is not pytest_socket._true_connect
    assert socket.socket.connect.__module__ == "pytest_socket"
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe,
        pytest.raises(pytest_socket.SocketConnectBlockedError),
    ):
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1, documentation only


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
