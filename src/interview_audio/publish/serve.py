"""`serve`: the output folder over HTTP, for a browser and for podcast apps on the network.

A read-only WSGI app on the standard library's threaded WSGI server. Files are sent by
Werkzeug's `send_file`, which does byte ranges (206, Accept-Ranges, If-Range, 416), ETags and
conditional requests: seeking in Safari, iOS and podcast apps needs ranges, and a well-kept
implementation beats a hand-written one. `feed.xml` is built on each request with links made
absolute from the address the client used (its Host header), so a phone on the same network
gets links it can reach.

Only files inside the folder are served: each path segment is decoded on its own, and segments
that are `..`, `.`, hidden, or hold an encoded slash or backslash are refused; the resolved
path (symlinks followed) must stay inside the folder. Everything refused is a plain 404.
"""

from __future__ import annotations

import errno
import logging
import mimetypes
import re
import socket
import socketserver
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from interview_audio.errors import InputError, ServeError
from interview_audio.publish.feed import FEED_NAME, FeedOptions, build_feed
from interview_audio.publish.page import PAGE_NAME

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Werkzeug adds "; charset=utf-8" to text/* and XML types itself.
_TYPES = {
    ".mp3": "audio/mpeg",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html",
    ".xml": "application/xml",
    ".yaml": "text/yaml",
    ".txt": "text/plain",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}
_NAMED_TYPES = {"chapters.json": "application/json+chapters"}
_HOST_HEADER = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(:\d{1,5})?$")

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


def content_type(path: Path) -> str:
    """The MIME type a podcast app or browser expects for one of our files."""
    if path.name in _NAMED_TYPES:
        return _NAMED_TYPES[path.name]
    suffix = path.suffix.lower()
    if suffix in _TYPES:
        return _TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


@dataclass(frozen=True)
class Resolved:
    """A request path checked against the folder: the file, or a redirect to add a slash."""

    path: Path | None
    redirect: str | None = None


def resolve(root: Path, raw_path: str) -> Resolved:
    """The file a raw (still percent-encoded) request path names inside `root`, or nothing."""
    nothing = Resolved(None)
    segments = _segments(raw_path)
    if segments is None:
        return nothing
    base = root.resolve()
    target = base.joinpath(*segments)
    try:
        real = target.resolve(strict=True)
    except (OSError, RuntimeError):
        return nothing
    if real != base and base not in real.parents:
        return nothing
    if real.is_dir():
        if not raw_path.endswith("/"):
            return Resolved(None, redirect=raw_path + "/")
        real = real / PAGE_NAME
    if not real.is_file():
        return nothing
    return Resolved(real)


def _segments(raw_path: str) -> list[str] | None:
    """The decoded segments of a request path (each decoded on its own, so `%2F` never makes
    a separator), or None when one is empty inside the path, hidden, `..`, or undecodable."""
    if not raw_path.startswith("/"):
        return None
    segments: list[str] = []
    parts = raw_path.split("/")[1:]
    for index, part in enumerate(parts):
        if not part:
            if index != len(parts) - 1:
                return None  # an empty segment inside the path ("//")
            continue
        try:
            segment = unquote(part, errors="strict")
        except UnicodeDecodeError:
            return None
        if segment in (".", "..") or segment.startswith(".") or any(c in segment for c in "/\\\0"):
            return None
        segments.append(segment)
    return segments


class App:
    """The WSGI application: GET and HEAD of files under `root`, and the feed."""

    def __init__(self, root: Path, feed: FeedOptions) -> None:
        self.root = root
        self.feed = feed

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self._respond(environ, start_response)
        except Exception:
            log.exception("Error while answering %s", environ.get("RAW_PATH"))
            return _plain(start_response, "500 Internal Server Error", "Server error.\n")

    def _respond(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        from werkzeug.exceptions import HTTPException
        from werkzeug.utils import send_file

        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return _plain(
                start_response, "405 Method Not Allowed", "Read only.\n", [("Allow", "GET, HEAD")]
            )
        raw_path = environ.get("RAW_PATH") or quote(environ.get("PATH_INFO", "/"))
        if raw_path == "/" + FEED_NAME:
            return self._feed(environ, start_response, method)
        found = resolve(self.root, raw_path)
        if found.redirect is not None:
            query = environ.get("QUERY_STRING")
            location = found.redirect + (f"?{query}" if query else "")
            return _plain(start_response, "301 Moved Permanently", "", [("Location", location)])
        if found.path is None:
            return _plain(start_response, "404 Not Found", "Not found.\n")
        try:
            response = send_file(
                found.path, environ, mimetype=content_type(found.path), conditional=True
            )
            response.headers["Cache-Control"] = "no-cache"
            response.headers["Access-Control-Allow-Origin"] = "*"
        except HTTPException as exc:  # 416 for a range outside the file
            response = exc.get_response(environ)
            response.headers["Accept-Ranges"] = "bytes"
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _feed(self, environ: Environ, start_response: StartResponse, method: str) -> list[bytes]:
        host = environ.get("HTTP_HOST", "")
        if not _HOST_HEADER.match(host):
            host = f"{environ.get('SERVER_NAME', DEFAULT_HOST)}:{environ.get('SERVER_PORT')}"
        body = build_feed(self.root, self.feed.with_base_url(f"http://{host}/"))
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/rss+xml; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-cache"),
                ("Access-Control-Allow-Origin", "*"),
            ],
        )
        return [] if method == "HEAD" else [body]


def _plain(
    start_response: StartResponse,
    status: str,
    text: str,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = text.encode("utf-8")
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *(headers or []),
        ],
    )
    return [body]


class _Handler(WSGIRequestHandler):
    """Passes the raw request path on (the WSGI PATH_INFO is already decoded, so an encoded
    slash could not be told from a real one) and logs through `logging`, not stderr."""

    def get_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environ()
        environ["RAW_PATH"] = self.path.split("?", 1)[0].split("#", 1)[0]
        return environ

    def log_message(self, message: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), message % args)


class Server(socketserver.ThreadingMixIn, WSGIServer):
    """The standard library's WSGI server, one thread per connection (players open several)."""

    daemon_threads = True
    block_on_close = False

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (getfqdn), which can hang offline.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host.decode() if isinstance(host, bytes) else str(host)
        self.server_port = int(port)
        self.setup_environ()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("Connection from %s ended with an error", client_address, exc_info=True)

    @property
    def url(self) -> str:
        host, port = self.server_name, self.server_port
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"


class _Server6(Server):
    address_family = socket.AF_INET6


def make_server(
    root: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    feed: FeedOptions | None = None,
) -> Server:
    """A server for `root`, bound and ready for `serve_forever` (port 0 picks a free port)."""
    if not root.is_dir():
        raise InputError(
            f"{root} is not a folder: render an episode first, or give the output folder."
        )
    server_class = _Server6 if ":" in host else Server
    try:
        server = server_class((host, port), _Handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(
                f"Port {port} is already in use on {host}: choose another with --port "
                f"(for example --port {port + 1})."
            ) from exc
        if exc.errno == errno.EACCES:
            raise ServeError(
                f"Not allowed to listen on port {port}: choose one above 1023 with --port."
            ) from exc
        raise ServeError(f"Cannot listen on {host}:{port} ({exc.strerror}): check --host.") from exc
    server.set_app(App(root, feed or FeedOptions()))
    return server


def lan_addresses() -> list[str]:
    """This computer's non-loopback IPv4 addresses, as far as the host name tells (no network
    traffic); empty when it does not."""
    try:
        _, _, addresses = socket.gethostbyname_ex(socket.gethostname())
    except OSError:
        return []
    return sorted({a for a in addresses if not a.startswith("127.")})
