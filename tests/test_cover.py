"""The article's cover link: downloaded from a loopback HTTP server, kept, converted, or a note
in the summary when it cannot be used (this suite resolves no names: offline, as in CI)."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from typer.testing import CliRunner

from interview_audio.cli import app
from interview_audio.errors import RenderError
from interview_audio.ffmpeg import ffmpeg_exe
from interview_audio.pipeline import RenderOptions, render
from interview_audio.publish.cover import COVER_DIR, episode_cover

pytestmark = pytest.mark.audio

ARTICLE = """# 测试封面

封面图链接: {url}

林晓：你好，欢迎收听。

陈默：谢谢邀请。

林晓：我们开始吧。

陈默：好的。
"""


def image(tmp_path: Path, suffix: str, *options: str) -> bytes:
    path = tmp_path / f"image{suffix}"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=orange:s=32x24"]
        + ["-frames:v", "1", *options, str(path)],
        check=True,
        timeout=60,
    )
    return path.read_bytes()


@dataclass
class Site:
    """A loopback HTTP server: path -> (status, body); counts what it served."""

    pages: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            served.hits.append(self.path)
            status, body = served.pages.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, message: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_a_jpeg_is_downloaded_once_and_kept(site: Site, tmp_path: Path) -> None:
    jpeg = image(tmp_path, ".jpg")
    site.pages["/mmbiz/cover?wx_fmt=jpeg"] = (200, jpeg)
    url = site.url("/mmbiz/cover?wx_fmt=jpeg")
    cover = episode_cover(None, url, tmp_path / "cache")
    assert cover.note == ""
    assert cover.path is not None and cover.path.read_bytes() == jpeg
    assert cover.path.parent == tmp_path / "cache" / COVER_DIR
    again = episode_cover(None, url, tmp_path / "cache")
    assert again.path == cover.path and len(site.hits) == 1  # a re-render works offline


@pytest.mark.parametrize(
    ("suffix", "options", "kept_as"),
    [(".png", (), ".png"), (".bmp", (), ".jpg"), (".webp", ("-c:v", "libwebp"), ".jpg")],
)
def test_other_formats(
    site: Site, tmp_path: Path, suffix: str, options: tuple[str, ...], kept_as: str
) -> None:
    site.pages["/c"] = (200, image(tmp_path, suffix, *options))
    cover = episode_cover(None, site.url("/c"), tmp_path / "cache")
    assert cover.note == "" and cover.path is not None
    assert cover.path.suffix == kept_as
    assert cover.path.read_bytes()[:3] in (b"\xff\xd8\xff", b"\x89PN")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("where", "note"),
    [
        ("missing", "could not be downloaded (the server answered HTTP 404)"),
        ("html", "is not an image (JPEG, PNG, WebP, GIF or BMP)"),
        ("closed", "could not be downloaded (connection refused)"),
        ("offline", "could not be downloaded (no network or DNS)"),
        ("not-web", "is not a web address"),
    ],
)
def test_a_cover_that_cannot_be_used_is_a_note(
    site: Site, tmp_path: Path, where: str, note: str
) -> None:
    site.pages["/page.html"] = (200, b"<html><body>hello</body></html>")
    url = {
        "missing": site.url("/nothing.jpg"),
        "html": site.url("/page.html"),
        "closed": f"http://127.0.0.1:{_closed_port()}/c.jpg",
        "offline": "https://mmbiz.qpic.cn/sz_mmbiz_jpg/abc/300",
        "not-web": "images/cover.jpg",
    }[where]
    cover = episode_cover(None, url, tmp_path / "cache")
    assert cover.path is None
    assert note in cover.note and "--cover IMAGE" in cover.note
    assert not list((tmp_path / "cache").rglob("*.*"))


def test_given_cover_wins_and_is_checked_first(site: Site, tmp_path: Path) -> None:
    given = tmp_path / "mine.png"
    given.write_bytes(image(tmp_path, ".png"))
    cover = episode_cover(given, site.url("/c.jpg"), tmp_path / "cache")
    assert cover == episode_cover(given, "", tmp_path / "cache")
    assert cover.path == given and not site.hits
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image", encoding="utf-8")
    with pytest.raises(RenderError, match="neither JPEG nor PNG"):
        episode_cover(bad, "", tmp_path / "cache")


def write_article(tmp_path: Path, url: str) -> Path:
    article = tmp_path / "article.txt"
    article.write_text(ARTICLE.format(url=url), encoding="utf-8")
    return article


def test_render_tags_the_episode_with_the_article_cover(site: Site, tmp_path: Path) -> None:
    jpeg = image(tmp_path, ".jpg")
    site.pages["/cover.jpg"] = (200, jpeg)
    article = write_article(tmp_path, site.url("/cover.jpg"))
    options = RenderOptions(
        output=tmp_path / "out", engine="espeak", cache_dir=tmp_path / "cache", split=False
    )
    report = render(article, options)
    assert report.notes == ()
    (picture,) = ID3(report.folder / "episode.mp3").getall("APIC")
    assert picture.data == jpeg and picture.mime == "image/jpeg"


def test_offline_render_says_so_once_and_draws_a_cover(tmp_path: Path) -> None:
    article = write_article(tmp_path, "https://mmbiz.qpic.cn/sz_mmbiz_jpg/abc/300")
    result = CliRunner().invoke(
        app,
        ["render", str(article), "--engine", "espeak", "--no-split"]
        + ["-o", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")],
    )
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if "cover" in line]
    assert notes == [
        "Note: The article's cover image could not be downloaded (no network or DNS); "
        "the episode has a drawn cover instead (pass --cover IMAGE to give it yours)."
    ]
    (folder,) = [path for path in (tmp_path / "out").iterdir() if path.is_dir()]
    (picture,) = ID3(folder / "episode.mp3").getall("APIC")
    assert picture.data == (folder / "cover.jpg").read_bytes()
