"""Fixtures for the data tests: local HTTP servers for the download tests (a live one on
127.0.0.1, and an address where nothing listens).

Helpers are fixtures, not imports, as in the root ``conftest.py`` (which also hands out
``offline_mnist``, the offline MNIST subset).
"""

from __future__ import annotations

import socket
import threading
from http.server import ThreadingHTTPServer

import pytest


@pytest.fixture
def start_server():
    """``start_server(handler_class, **attributes)``: a ``ThreadingHTTPServer`` on
    127.0.0.1 (on a free port) serving from a background thread, shut down after the
    test. It has ``.url`` (``http://127.0.0.1:<port>``), ``.hits`` (a list for the
    handler to record the requested paths in) and the ``attributes`` given (what the
    handler serves), all set before the first request can come in."""
    running = []

    def start(handler: type, **attributes) -> ThreadingHTTPServer:
        srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        srv.daemon_threads = True
        srv.hits = []
        srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
        for name, value in attributes.items():
            setattr(srv, name, value)
        thread = threading.Thread(
            target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        running.append((srv, thread))
        return srv

    yield start
    for srv, thread in running:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture
def dead_url():
    """``dead_url()``: ``http://127.0.0.1:<port>/`` on a port that was free a moment
    ago, so nothing listens there and a request is refused at once."""

    def url() -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return f"http://127.0.0.1:{s.getsockname()[1]}/"

    return url
