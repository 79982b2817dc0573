"""`serve`: the output folder over HTTP, for a browser and for podcast apps on the network.

A read-only WSGI app on waitress: a pool of threads behind one event loop, HTTP/1.1 keep-alive
(Safari and iOS podcast apps fetch several ranges over one connection) and a listen backlog,
so bursts of parallel range requests are queued, not refused. Files are sent by Werkzeug's
`send_file`, which does byte ranges (206, Accept-Ranges, If-Range, 416), ETags and conditional
requests: seeking in Safari, iOS and podcast apps needs ranges, and a well-kept implementation
beats a hand-written one. `feed.xml` is built on each request with links made absolute from the
address the client used (its Host header), so a phone on the same network gets links it can
reach.

Everything a request needs is imported when this module loads, and the feed is built once
before the port opens (feedgen loads its extensions on first use): an import on the request
path races between the pool's threads and fails with a half-initialized module.

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
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import waitress
import waitress.wasyncore
from werkzeug.exceptions import HTTPException
from werkzeug.utils import send_file
from werkzeug.wrappers import Response

from interview_audio.errors import InputError, ServeError
from interview_audio.publish.feed import FEED_NAME, FeedOptions, build_feed
from interview_audio.publish.page import PAGE_NAME

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Threads answering requests: a browser opens about six connections to a page, a podcast app
# downloads several episodes at once, and a slow client holds a thread while its answer is
# larger than waitress's output buffer. Connections waiting for a thread cost none.
THREADS = 16
BACKLOG = 1024
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
    """The WSGI application: GET and HEAD of files under `root`, and the feed; one log line
    per request (client, method, path, status, bytes sent) at INFO."""

    def __init__(self, root: Path, feed: FeedOptions) -> None:
        self.root = root
        self.feed = feed

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        raw_path = _raw_path(environ)
        status = ["-"]

        def respond(code: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, *exc_info)

        def logged(sent: int) -> None:
            method = environ.get("REQUEST_METHOD", "-")
            log.info(
                "%s %s %s %s %d",
                environ.get("REMOTE_ADDR", "-"),
                method,
                unquote(raw_path, errors="replace"),
                status[0],
                0 if method == "HEAD" else sent,  # the server sends no body to a HEAD
            )

        try:
            body = self._respond(environ, respond, raw_path)
        except Exception:
            log.exception("Error while answering %s", raw_path)
            body = _plain(respond, "500 Internal Server Error", "Server error.\n")
        return _Counted(body, logged)

    def _respond(
        self, environ: Environ, start_response: StartResponse, raw_path: str
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return _plain(
                start_response, "405 Method Not Allowed", "Read only.\n", [("Allow", "GET, HEAD")]
            )
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
                found.path,
                environ,
                mimetype=content_type(found.path),
                conditional=True,
                response_class=Response,
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


def _raw_path(environ: Environ) -> str:
    """The request path as the client sent it, still percent-encoded (PATH_INFO is decoded,
    so an encoded slash could not be told from a real one)."""
    uri = environ.get("REQUEST_URI")
    if not isinstance(uri, str):
        return quote(environ.get("PATH_INFO", "/"))
    if not uri.startswith("/"):
        return urlsplit(uri).path  # an absolute URI (a proxy's request form) or `*`
    return uri.split("?", 1)[0].split("#", 1)[0]


class _Counted:
    """A response body that counts the bytes it yields and reports them when the server
    closes it (after the last byte went out, or when the client went away)."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]) -> None:
        self._body = body
        self._done = done
        self._sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done(self._sent)


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


class Server:
    """A WSGI app served by waitress on a socket that is already listening.

    `serve_forever` runs the server in the calling thread until `shutdown` (from another
    thread) or Ctrl-C; `server_close` then frees the port and the pool's threads.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], sock: socket.socket) -> None:
        host, port = sock.getsockname()[:2]
        self.server_name = str(host)
        self.server_port = int(port)
        self._map: dict[int, Any] = {}
        self._server = waitress.create_server(
            app,
            map=self._map,
            sockets=[sock],
            threads=THREADS,
            server_name=self.server_name,
            # The app's errors are logged and answered with a plain 500 by the app itself.
            expose_tracebacks=False,
        )
        self._stopped = threading.Event()
        self._stopped.set()

    @property
    def url(self) -> str:
        host, port = self.server_name, self.server_port
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def serve_forever(self) -> None:
        """Answer requests until `shutdown` or Ctrl-C (which returns, not raises)."""
        self._stopped.clear()
        try:
            self._server.run()
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop `serve_forever` from another thread and wait until it has returned."""
        # The loop's own thread closes its sockets, so the loop ends with nothing to watch.
        self._server.trigger.pull_trigger(self._close_sockets)
        self._stopped.wait()

    def server_close(self) -> None:
        """Close the listening socket and connections, and stop the pool's threads."""
        self._close_sockets()
        self._server.task_dispatcher.shutdown()

    def _close_sockets(self) -> None:
        waitress.wasyncore.close_all(self._map)


def make_server(
    root: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    feed: FeedOptions | None = None,
) -> Server:
    """A server for `root`, listening and ready for `serve_forever` (port 0 picks a free one)."""
    if not root.is_dir():
        raise InputError(
            f"{root} is not a folder: render an episode first, or give the output folder."
        )
    options = feed or FeedOptions()
    # What requests use lazily otherwise, before any thread answers one: the MIME table and
    # the feed's modules (feedgen imports its extensions when a feed is first built).
    mimetypes.init()
    build_feed(root, options.with_base_url(f"http://{DEFAULT_HOST}/"))
    return Server(App(root, options), listen(host, port))


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port; ServeError, naming the option to change, when not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=BACKLOG)
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
        raise ServeError(
            f"Cannot listen on {host}:{port} ({exc.strerror or exc}): check --host."
        ) from exc


def lan_addresses() -> list[str]:
    """This computer's non-loopback IPv4 addresses, as far as the host name tells (no network
    traffic); empty when it does not."""
    try:
        _, _, addresses = socket.gethostbyname_ex(socket.gethostname())
    except OSError:
        return []
    return sorted({a for a in addresses if not a.startswith("127.")})
