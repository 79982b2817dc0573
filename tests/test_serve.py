"""`serve` over real HTTP on loopback: byte ranges, MIME types, the feed's absolute links,
nothing outside the folder, a busy port, Ctrl-C."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from conftest import Rendered
from interview_audio.cli import app
from interview_audio.errors import ServeError
from interview_audio.publish.serve import Server, make_server

SECRET = "top secret, outside the served folder"


@pytest.fixture(scope="module")
def served(
    listening_output: Rendered, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Path]]:
    root = listening_output.output
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    link = root / "escape"
    if not link.exists():
        link.symlink_to(outside, target_is_directory=True)
    (root / "secret-link.txt").unlink(missing_ok=True)
    (root / "secret-link.txt").symlink_to(outside / "secret.txt")
    server = make_server(root, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, root
    server.shutdown()
    server.server_close()
    link.unlink()
    (root / "secret-link.txt").unlink()


def get(
    server: Server, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def episode_path(listening_output: Rendered, name: str) -> str:
    return "/" + quote(listening_output.sample.folder.name) + "/" + name


def test_byte_ranges_return_exactly_the_bytes_asked_for(
    served: tuple[Server, Path], listening_output: Rendered
) -> None:
    server, _ = served
    path = episode_path(listening_output, "episode.mp3")
    data = (listening_output.sample.folder / "episode.mp3").read_bytes()
    size = len(data)
    status, headers, body = get(server, path)
    assert status == 200 and body == data
    assert headers["accept-ranges"] == "bytes"
    assert headers["content-type"] == "audio/mpeg"
    middle = size // 2
    for asked, start, end in (
        ("bytes=0-99", 0, 99),
        (f"bytes={middle}-{middle + 4095}", middle, middle + 4095),
        ("bytes=-100", size - 100, size - 1),
        (f"bytes={size - 10}-", size - 10, size - 1),
        (f"bytes={size - 5}-{size + 1000}", size - 5, size - 1),
    ):
        status, headers, body = get(server, path, {"Range": asked})
        assert status == 206, asked
        assert headers["content-range"] == f"bytes {start}-{end}/{size}"
        assert int(headers["content-length"]) == end - start + 1
        assert body == data[start : end + 1]


@pytest.mark.parametrize(
    "asked", ["bytes={size}-", "bytes={size}-{later}", "bytes=9-2", "items=0-1", "bytes=abc"]
)
def test_unsatisfiable_ranges_get_416(
    served: tuple[Server, Path], listening_output: Rendered, asked: str
) -> None:
    server, _ = served
    size = (listening_output.sample.folder / "episode.mp3").stat().st_size
    status, headers, _ = get(
        server,
        episode_path(listening_output, "episode.mp3"),
        {"Range": asked.format(size=size, later=size + 10)},
    )
    assert status == 416
    assert headers.get("content-range") == f"bytes */{size}"


def test_head_and_conditional_requests(
    served: tuple[Server, Path], listening_output: Rendered
) -> None:
    server, _ = served
    path = episode_path(listening_output, "episode.mp3")
    status, headers, body = get(server, path, method="HEAD")
    assert status == 200 and body == b""
    assert (
        int(headers["content-length"])
        == (listening_output.sample.folder / "episode.mp3").stat().st_size
    )
    status, _, body = get(server, path, {"If-None-Match": headers["etag"]})
    assert status == 304 and body == b""


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("episode.vtt", "text/vtt; charset=utf-8"),
        ("episode.srt", "application/x-subrip; charset=utf-8"),
        ("chapters.json", "application/json+chapters"),
        ("index.html", "text/html; charset=utf-8"),
        ("", "text/html; charset=utf-8"),
    ],
)
def test_mime_types(
    served: tuple[Server, Path], listening_output: Rendered, name: str, mime: str
) -> None:
    server, _ = served
    status, headers, _ = get(server, episode_path(listening_output, name))
    assert status == 200
    assert headers["content-type"] == mime


def test_a_folder_without_its_slash_is_redirected(
    served: tuple[Server, Path], listening_output: Rendered
) -> None:
    server, _ = served
    path = "/" + quote(listening_output.sample.folder.name)
    status, headers, _ = get(server, path)
    assert status == 301 and headers["location"] == path + "/"
    status, headers, body = get(server, "/")
    assert status == 200 and "text/html" in headers["content-type"]
    assert listening_output.sample.title in body.decode("utf-8")


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2e%2e/secret.txt",
        "/{episode}/../../secret.txt",
        "/{episode}/%2e%2e/%2e%2e/secret.txt",
        "/{episode}%2f..%2f..%2fsecret.txt",
        "/..%2fsecret.txt",
        "/..%5csecret.txt",
        "/%2fetc%2fpasswd",
        "//etc/passwd",
        "/escape/secret.txt",
        "/secret-link.txt",
        "/{episode}/.hidden",
        "/%00",
        "/%ff%fe",
        "/missing.mp3",
    ],
)
def test_nothing_outside_the_folder_is_served(
    served: tuple[Server, Path], listening_output: Rendered, path: str
) -> None:
    server, _ = served
    status, _, body = get(server, path.format(episode=quote(listening_output.sample.folder.name)))
    assert status == 404
    assert SECRET.encode() not in body


def test_read_only(served: tuple[Server, Path], listening_output: Rendered) -> None:
    server, root = served
    for method in ("POST", "PUT", "DELETE"):
        status, headers, _ = get(server, "/index.html", method=method)
        assert status == 405 and headers["allow"] == "GET, HEAD"
    assert (root / "index.html").is_file()


def test_a_busy_port_is_one_line_naming_port(
    served: tuple[Server, Path], listening_output: Rendered
) -> None:
    server, root = served
    with pytest.raises(ServeError, match="--port"):
        make_server(root, "127.0.0.1", server.server_port)
    result = CliRunner().invoke(app, ["serve", str(root), "--port", str(server.server_port)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Port") and "--port" in lines[0]


@contextlib.contextmanager
def serve_process(root: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`interview-audio serve` started fresh in its own process, and its port once it accepts
    connections (found with a bare TCP connect: an HTTP request would warm it up)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "interview_audio", "serve", str(root), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # A shell that started the suite in the background may have left SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Serving") and "127.0.0.1" in first, first
        port = int(first.split("http://127.0.0.1:")[1].split("/")[0])
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Ctrl-C, then what the server printed: (stdout, stderr)."""
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "Stopped." in out
    assert "Traceback" not in err
    return out, err


def test_serve_stops_cleanly_on_ctrl_c_and_q_silences_the_request_lines(
    listening_output: Rendered,
) -> None:
    with serve_process(listening_output.output, "-q") as (process, port):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/feed.xml")
        assert connection.getresponse().status == 200
        connection.close()
        _, err = stop(process)
    assert err == ""


def ranges(size: int, count: int) -> list[tuple[int, int]]:
    """`count` byte ranges spread over a file of `size` bytes, of varied lengths."""
    spans = [(index * 7919) % (size - 70_000) for index in range(count)]
    return [(start, start + 1 + (index * 4099) % 65_536) for index, start in enumerate(spans)]


def test_a_fresh_server_answers_a_burst_of_parallel_range_requests(
    listening_output: Rendered,
) -> None:
    """What a page with several players or a podcast app does, 50 connections at a time, the
    moment the server is up: every answer a 206 with exactly the bytes asked for, and one log
    line each (client, method, path, status, bytes)."""
    path = episode_path(listening_output, "episode.mp3")
    data = (listening_output.sample.folder / "episode.mp3").read_bytes()
    asked = ranges(len(data), 240)
    with serve_process(listening_output.output) as (process, port):

        def fetch(span: tuple[int, int]) -> tuple[int, str, bytes]:
            start, end = span
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}", headers={"Range": f"bytes={start}-{end}"}
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, response.headers["Content-Range"], response.read()
            except urllib.error.HTTPError as exc:
                return exc.code, "", b""

        with ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(fetch, asked))
        assert Counter(status for status, _, _ in answers) == {206: len(asked)}
        _, err = stop(process)
    for (start, end), (_, content_range, body) in zip(asked, answers, strict=True):
        assert content_range == f"bytes {start}-{end}/{len(data)}"
        assert body == data[start : end + 1]
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == len(asked)
    episode = "/" + listening_output.sample.folder.name + "/episode.mp3"
    logged = Counter(tuple(line.split(" ")[1:]) for line in lines)
    assert logged == Counter(("GET", episode, "206", str(end - start + 1)) for start, end in asked)


def test_players_keep_their_connection_open_across_requests(
    served: tuple[Server, Path], listening_output: Rendered
) -> None:
    """HTTP/1.1 keep-alive, which Safari and iOS podcast apps expect: several players, each
    fetching range after range over one connection, in parallel."""
    server, _ = served
    path = episode_path(listening_output, "episode.mp3")
    data = (listening_output.sample.folder / "episode.mp3").read_bytes()

    def player(spans: list[tuple[int, int]]) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
        try:
            connection.connect()
            first = connection.sock
            for start, end in spans:
                connection.request("GET", path, headers={"Range": f"bytes={start}-{end}"})
                response = connection.getresponse()
                body = response.read()
                assert response.status == 206 and body == data[start : end + 1]
                assert not response.will_close
                assert connection.sock is first
            return len(spans)
        finally:
            connection.close()

    asked = ranges(len(data), 96)
    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(player, [asked[index::8] for index in range(8)]))
    assert sum(done) == len(asked)


def test_answering_imports_nothing(listening_output: Rendered) -> None:
    """An import on the request path races between the server's threads (a module half
    initialized in one thread fails in another): every module an answer needs is loaded when
    the server starts. Checked in a process of its own, whose modules nothing else loaded."""
    program = f"""
import http.client, sys, threading
from pathlib import Path
from interview_audio.publish.serve import make_server

server = make_server(Path({str(listening_output.output)!r}), "127.0.0.1", 0)
threading.Thread(target=server.serve_forever, daemon=True).start()
before = set(sys.modules)
episode = {episode_path(listening_output, "")!r}
for path, headers in [
    ("/feed.xml", {{}}),
    ("/", {{}}),
    (episode + "episode.mp3", {{"Range": "bytes=0-99"}}),
    (episode + "episode.mp3", {{"Range": "bytes=999999999-"}}),
    (episode + "episode.mp3", {{"If-None-Match": '"nothing"'}}),
    (episode + "chapters.json", {{}}),
    (episode + "episode.vtt", {{}}),
    (episode[:-1], {{}}),
    ("/missing.mp3", {{}}),
    ("/%2e%2e/secret", {{}}),
]:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    assert response.status < 500, (path, response.status)
    connection.close()
server.shutdown()
server.server_close()
print(" ".join(sorted(set(sys.modules) - before)))
"""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_shared_on_all_addresses_the_feed_points_where_the_phone_asked(
    listening_output: Rendered,
) -> None:
    """`--host 0.0.0.0`: a phone reaches the computer by its LAN address, and every link in the
    feed must use that address (the Host header), never 0.0.0.0. Requests go to loopback; the
    LAN address is only a header (192.0.2.x is reserved for documentation)."""
    server = make_server(listening_output.output, "0.0.0.0", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert server.url.startswith("http://0.0.0.0:")
        lan = f"192.0.2.10:{server.server_port}"
        status, _, body = get(server, "/feed.xml", {"Host": lan})
        assert status == 200
        feed = body.decode("utf-8")
        links = [part.split('"')[0] for part in feed.split('url="')[1:]]
        assert links and all(link.startswith(f"http://{lan}/") for link in links)
        assert "0.0.0.0" not in feed and "127.0.0.1" not in feed
        enclosure = links[0].removeprefix(f"http://{lan}")
        status, headers, _ = get(server, enclosure, {"Host": lan, "Range": "bytes=0-99"})
        assert status == 206 and headers["content-length"] == "100"
    finally:
        server.shutdown()
        server.server_close()
