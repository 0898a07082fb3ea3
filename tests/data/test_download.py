"""download() against a local HTTP server on 127.0.0.1, and cache_dir()."""

from __future__ import annotations

import hashlib
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from stirpile.data.datasets import DownloadError, cache_dir, download

BODY = bytes(range(256)) * 64  # 16 KiB
SHA = hashlib.sha256(BODY).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.routes[path]``: ('ok', body) | ('short', body, claimed)
    | ('stall', seconds) | ('status', code)."""

    def do_GET(self):
        self.server.hits.append(self.path)
        kind, *args = self.server.routes.get(self.path, ("status", 404))
        try:
            if kind == "status":
                self.send_error(args[0])
            elif kind == "stall":
                time.sleep(args[0])
                self.send_error(503)
            else:
                body = args[0]
                claimed = args[1] if kind == "short" else len(body)
                self.send_response(200)
                self.send_header("Content-Length", str(claimed))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True  # 'short': close before the promised end
        except OSError:
            pass  # the client gave up first (timeout test)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(start_server):
    """A local server answering from ``server.routes`` (see ``_Handler``)."""
    return start_server(_Handler, routes={})


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # A proxy from the environment would intercept requests to 127.0.0.1.
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


def _assert_nothing_left(directory: Path, keep: tuple[str, ...] = ()):
    assert sorted(p.name for p in directory.iterdir()) == sorted(keep)


def test_good_file_lands(server, tmp_path):
    server.routes["/good.bin"] = ("ok", BODY)
    dest = tmp_path / "sub" / "dir" / "good.bin"
    out = download(server.url + "/good.bin", dest, SHA.upper(), progress=False)
    assert out == dest and dest.read_bytes() == BODY
    _assert_nothing_left(dest.parent, keep=("good.bin",))


def test_good_file_with_progress_bar(server, tmp_path):
    server.routes["/good.bin"] = ("ok", BODY)
    download(server.url + "/good.bin", tmp_path / "g", SHA, progress=True)
    assert (tmp_path / "g").read_bytes() == BODY


def test_no_checksum_means_no_check(server, tmp_path):
    server.routes["/x"] = ("ok", b"anything")
    download(server.url + "/x", tmp_path / "x", None, progress=False)
    assert (tmp_path / "x").read_bytes() == b"anything"


def test_checksum_mismatch_rejected(server, tmp_path):
    server.routes["/corrupt.bin"] = ("ok", BODY[:-1] + b"\x00")
    url = server.url + "/corrupt.bin"
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "corrupt.bin", SHA, progress=False)
    msg = str(info.value)
    assert url in msg and "sha256 mismatch" in msg and SHA in msg
    _assert_nothing_left(tmp_path)


def test_existing_file_untouched_on_failure(server, tmp_path):
    server.routes["/corrupt.bin"] = ("ok", b"bad")
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"old")
    with pytest.raises(DownloadError):
        download(server.url + "/corrupt.bin", dest, SHA, progress=False)
    assert dest.read_bytes() == b"old"
    _assert_nothing_left(tmp_path, keep=("f.bin",))


def test_interrupted_transfer_rejected(server, tmp_path):
    server.routes["/short.bin"] = ("short", BODY[:1000], len(BODY))
    url = server.url + "/short.bin"
    with pytest.raises(DownloadError) as info:
        # no sha: the length check alone must catch it
        download(url, tmp_path / "short.bin", None, progress=False)
    msg = str(info.value)
    assert url in msg and "interrupted" in msg and f"1000 of {len(BODY)} bytes" in msg
    _assert_nothing_left(tmp_path)


def test_http_404(server, tmp_path):
    url = server.url + "/missing.bin"
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "missing.bin", SHA, progress=False)
    assert url in str(info.value) and "HTTP 404" in str(info.value)
    _assert_nothing_left(tmp_path)


def test_unreachable_fails_fast(tmp_path, dead_url):
    url = dead_url() + "x.bin"
    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "x.bin", SHA, timeout=5.0, progress=False)
    assert time.monotonic() - start < 2.0
    assert url in str(info.value) and "refused" in str(info.value)
    _assert_nothing_left(tmp_path)


def test_stalled_server_times_out(server, tmp_path):
    server.routes["/slow"] = ("stall", 2.0)
    url = server.url + "/slow"
    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "slow", SHA, timeout=0.3, progress=False)
    assert time.monotonic() - start < 1.5
    assert url in str(info.value) and "timed out" in str(info.value)
    _assert_nothing_left(tmp_path)


def test_bad_scheme(tmp_path):
    with pytest.raises(DownloadError, match="nope://x"):
        download("nope://x", tmp_path / "x", None, progress=False)
    _assert_nothing_left(tmp_path)


# -- cache_dir ----------------------------------------------------------------


def test_cache_dir_env_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("STIRPILE_DATA", str(tmp_path))
    assert cache_dir() == tmp_path


def test_cache_dir_linux(monkeypatch, tmp_path):
    monkeypatch.delenv("STIRPILE_DATA", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "stirpile"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "stirpile"


def test_cache_dir_macos_and_windows(monkeypatch, tmp_path):
    monkeypatch.delenv("STIRPILE_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "darwin")
    assert cache_dir() == tmp_path / "Library" / "Caches" / "stirpile"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    assert cache_dir() == tmp_path / "Local" / "stirpile" / "Cache"
