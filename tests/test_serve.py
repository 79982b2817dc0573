"""`serve` over real HTTP on loopback: byte ranges, MIME types, the feed's absolute links,
nothing outside the folder, a busy port, Ctrl-C."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
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
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
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


def test_serve_stops_cleanly_on_ctrl_c(listening_output: Rendered) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "interview_audio",
            "serve",
            str(listening_output.output),
            "--port",
            "0",
        ],
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
        assert first.startswith("Serving") and "127.0.0.1" in first
        port = int(first.split("http://127.0.0.1:")[1].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/feed.xml")
        assert connection.getresponse().status == 200
        connection.close()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "Stopped." in out
    assert "Traceback" not in err


def test_shared_on_all_addresses_the_feed_points_where_the_phone_asked(
    listening_output: Rendered,
) -> None:
    """`--host 0.0.0.0`: a phone reaches the computer by its LAN address, and every link in the
    feed must use that address (the Host header), never 0.0.0.0. Requests go to loopback; the
    LAN address is only a header (192.0.2.x is reserved for documentation)."""
    server = make_server(listening_output.output, "0.0.0.0", 0)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
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
