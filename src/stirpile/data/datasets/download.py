"""Download a file safely, and find where datasets are cached.

:func:`download` streams a URL into a temporary file next to the destination,
checks its length and sha256, and only then moves it into place with an atomic
``os.replace``. Whatever goes wrong, the destination is left as it was (no
partial file) and the temporary file is removed.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["ChecksumError", "DownloadError", "cache_dir", "download", "sha256sum"]

CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A download failed; the message names the URL and the reason."""


class ChecksumError(ValueError):
    """A local dataset file is not the published one: the message names the file, the
    expected and actual sha256, and how to accept it anyway."""


def cache_dir() -> Path:
    """The directory where datasets are stored (not created here).

    ``$STIRPILE_DATA`` if set; otherwise the platform cache directory:
    ``$XDG_CACHE_HOME/stirpile`` or ``~/.cache/stirpile`` on Linux and other
    Unix, ``~/Library/Caches/stirpile`` on macOS and
    ``%LOCALAPPDATA%\\stirpile\\Cache`` on Windows.
    """
    env = os.environ.get("STIRPILE_DATA")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "stirpile" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "stirpile"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "stirpile" if xdg else Path.home() / ".cache" / "stirpile"


def sha256sum(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _progress_bar(total: int | None, desc: str, enabled: bool):
    """A tqdm bar, or a stand-in with ``update``/``close`` when tqdm is absent."""
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional: just no bar
        enabled = False
    if not enabled:

        class _Null:
            def update(self, n: int) -> None:
                pass

            def close(self) -> None:
                pass

        return _Null()
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, leave=False)


def _describe(e: BaseException, timeout: float) -> str:
    """A short human reason for a network exception."""
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        if not isinstance(e.reason, BaseException):
            return str(e.reason)
        e = e.reason
    if isinstance(e, (socket.timeout, TimeoutError)):
        return f"timed out after {timeout:g} s"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, http.client.IncompleteRead):
        return f"connection closed early ({len(e.partial)} bytes in the last read)"
    return f"{type(e).__name__}: {e}"


def download(
    url: str,
    dest_path: str | os.PathLike,
    sha256: str | None,
    *,
    timeout: float = 5.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest_path``, verifying its sha256.

    The body is streamed to a temporary file in the destination's directory
    (so the final ``os.replace`` is atomic), its length is compared with the
    ``Content-Length`` header and its sha256 with ``sha256``; only then is it
    moved to ``dest_path``. Parent directories are created.

    Args:
        url: ``http``, ``https`` or ``file`` URL.
        dest_path: where the file should end up.
        sha256: expected hex digest (case-insensitive); ``None`` skips the check.
        timeout: seconds allowed for connecting and for each read; a stalled
            or unreachable server fails after about this long.
        progress: show a tqdm bar (only when stderr is a terminal).

    Returns:
        ``dest_path`` as a :class:`~pathlib.Path`.

    Raises:
        DownloadError: HTTP error, timeout, refused connection, transfer cut
            short, or checksum mismatch. No file is left at ``dest_path``
            (an existing one is untouched) and the temporary file is deleted.
    """
    dest = Path(dest_path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        received = 0
        with os.fdopen(fd, "wb") as out:
            try:
                req = urllib.request.Request(url, headers={"User-Agent": "stirpile"})
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    length = resp.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    show = progress and sys.stderr.isatty()
                    bar = _progress_bar(total, dest.name, show)
                    try:
                        # read(n) returns b"" when the server closes early
                        # (http.client does not raise), hence the length check.
                        while chunk := resp.read(CHUNK):
                            out.write(chunk)
                            h.update(chunk)
                            received += len(chunk)
                            bar.update(len(chunk))
                    finally:
                        bar.close()
            except (OSError, http.client.HTTPException, ValueError) as e:
                # OSError covers URLError, HTTPError, timeouts, resets;
                # ValueError an unknown URL scheme.
                raise DownloadError(f"download of {url} failed: {_describe(e, timeout)}") from e
            if total is not None and received != total:
                raise DownloadError(
                    f"download of {url} failed: transfer interrupted, got {received} "
                    f"of {total} bytes (Content-Length)"
                )
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if sha256 is not None and digest != sha256.lower():
            raise DownloadError(
                f"download of {url} failed: sha256 mismatch, expected {sha256.lower()}, "
                f"got {digest} ({received} bytes)"
            )
        os.replace(tmp, dest)
    except BaseException:
        # Also on KeyboardInterrupt: never leave the temp file behind.
        tmp.unlink(missing_ok=True)
        raise
    return dest
