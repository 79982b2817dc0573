"""The podcast feed, read back by feedparser (and ElementTree for the Podcasting 2.0 tags), and
the library page; settings from interview-audio.toml and flags."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import feedparser
import pytest
from typer.testing import CliRunner

from conftest import SAMPLE, SHORT, Rendered
from interview_audio import files
from interview_audio.article.parse import read_article
from interview_audio.cli import app
from interview_audio.errors import InputError
from interview_audio.pipeline import RenderOptions, render
from interview_audio.publish.feed import PODCAST_NS, FeedOptions, build_feed, load_feed_options
from interview_audio.publish.library import rebuild_library
from interview_audio.publish.manifest import read_manifest
from interview_audio.publish.serve import Server, make_server

BASE = "https://example.com/podcast/"
P = f"{{{PODCAST_NS}}}"


def test_render_leaves_the_page_the_feed_and_the_library(listening_output: Rendered) -> None:
    assert (listening_output.sample.folder / "index.html").is_file()
    assert (listening_output.sample.folder / "episode.json").is_file()
    assert (listening_output.output / "feed.xml").is_file()
    library = (listening_output.output / "index.html").read_text(encoding="utf-8")
    # Newest first: the sample (2025) before the short interview (2024).
    assert library.index(listening_output.sample.title) < library.index(
        listening_output.short.title
    )
    assert 'href="feed.xml"' in library


def test_captions_and_page_show_the_written_text(listening_output: Rendered) -> None:
    vtt = (listening_output.short.folder / "episode.vtt").read_text(encoding="utf-8")
    page = (listening_output.short.folder / "index.html").read_text(encoding="utf-8")
    for written in ("1.2万人", "30%", "GPT-4", "2.0版本"):
        assert written in vtt and written in page
    for spoken in ("一点二万", "百分之三十", "GPT四"):
        assert spoken not in vtt and spoken not in page


def parsed(output: Path, options: FeedOptions) -> tuple[feedparser.FeedParserDict, ET.Element]:
    document = build_feed(output, options)
    return feedparser.parse(document), ET.fromstring(document)


def test_feed_has_every_tag_podcast_apps_need(listening_output: Rendered) -> None:
    output = listening_output.output
    feed, root = parsed(output, FeedOptions(title="测试播客", author="编辑部").with_base_url(BASE))
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    channel = feed.feed
    assert channel.title == "测试播客"
    assert channel.language == "zh-cn"
    assert channel.author == "编辑部"
    assert channel.link == BASE + "index.html"
    assert root.findtext("channel/{http://www.itunes.com/dtds/podcast-1.0.dtd}explicit") == "no"
    assert root.find(f"channel/{P}guid") is not None
    assert [entry.title for entry in feed.entries] == [
        listening_output.sample.title,
        listening_output.short.title,
    ]
    for entry, report in zip(
        feed.entries, (listening_output.sample, listening_output.short), strict=True
    ):
        manifest = read_manifest(report.folder)
        (enclosure,) = entry.enclosures
        assert enclosure.type == "audio/mpeg"
        assert enclosure.href.startswith(BASE)
        assert int(enclosure.length) == (report.folder / "episode.mp3").stat().st_size
        assert entry.id == manifest.guid and entry.guidislink is False
        # The article's day and time (the sample says 20:30, the short one 09:00), in this
        # machine's zone since neither names one.
        script = read_article(SAMPLE if report is listening_output.sample else SHORT)
        assert script.meta.time in ("20:30", "09:00")
        wanted = datetime.fromisoformat(f"{script.meta.date}T{script.meta.time}").astimezone()
        assert parsedate_to_datetime(entry.published) == wanted
        hours, minutes, seconds = (int(x) for x in entry.itunes_duration.split(":"))
        assert abs(hours * 3600 + minutes * 60 + seconds - report.duration) <= 1
        assert entry.summary
        assert entry.link == enclosure.href.replace("episode.mp3", "index.html")
    sample_item = root.findall("channel/item")[0]
    chapters = sample_item.find(f"{P}chapters")
    assert chapters is not None and chapters.get("type") == "application/json+chapters"
    transcripts = {t.get("type"): t for t in sample_item.findall(f"{P}transcript")}
    assert set(transcripts) == {"text/vtt", "application/x-subrip"}
    assert transcripts["text/vtt"].get("language") == "zh-cn"
    persons = {(p.text, p.get("role")) for p in sample_item.findall(f"{P}person")}
    assert persons == {("林晓", "host"), ("陈默", "guest"), ("周一鸣", "guest")}
    assert "发行、定价与销量" in feed.entries[0].summary


def test_guids_are_stable_across_rebuilds(listening_output: Rendered) -> None:
    output = listening_output.output
    first, _ = parsed(output, FeedOptions())
    rebuild_library(output, FeedOptions())
    second, _ = parsed(output, FeedOptions(title="另一个名字").with_base_url(BASE))
    assert [e.id for e in first.entries] == [e.id for e in second.entries]
    assert len({e.id for e in first.entries}) == 2


@pytest.fixture(scope="module")
def served(listening_output: Rendered) -> Iterator[Server]:
    server = make_server(listening_output.output, "127.0.0.1", 0, FeedOptions(title="本地播客"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def fetch(url: str, host: str | None = None) -> tuple[int, str, bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", parts.path, headers={"Host": host} if host else {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def test_served_feed_links_are_absolute_and_fetchable(
    served: Server, listening_output: Rendered
) -> None:
    status, kind, body = fetch(served.url + "feed.xml")
    assert status == 200 and kind.startswith("application/rss+xml")
    feed = feedparser.parse(body)
    assert not feed.bozo and feed.feed.title == "本地播客"
    root = ET.fromstring(body)
    for item, entry in zip(root.findall("channel/item"), feed.entries, strict=True):
        enclosure = entry.enclosures[0]
        assert enclosure.href.startswith(served.url)
        status, kind, audio = fetch(enclosure.href)
        assert status == 200 and kind == "audio/mpeg" and len(audio) == int(enclosure.length)
        chapters_url = item.find(f"{P}chapters").get("url")
        status, kind, chapters = fetch(chapters_url)
        assert status == 200 and kind == "application/json+chapters"
        assert json.loads(chapters)["version"] == "1.2.0"
        for transcript in item.findall(f"{P}transcript"):
            status, kind, text = fetch(transcript.get("url"))
            assert status == 200 and kind.startswith(transcript.get("type"))
            assert text.decode("utf-8").strip()
        status, kind, page = fetch(entry.link)
        assert status == 200 and entry.title in page.decode("utf-8")


def test_served_feed_uses_the_address_the_client_used(served: Server) -> None:
    _, _, body = fetch(served.url + "feed.xml", host=f"192.0.2.7:{served.server_port}")
    feed = feedparser.parse(body)
    assert feed.entries[0].enclosures[0].href.startswith(f"http://192.0.2.7:{served.server_port}/")
    _, _, body = fetch(served.url + "feed.xml", host='evil"><x')
    assert feedparser.parse(body).entries[0].enclosures[0].href.startswith(served.url)


def test_settings_come_from_the_config_file_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "interview-audio.toml"
    config.write_text(
        '[feed]\ntitle = "我的播客"\nauthor = "小王"\nexplicit = true\nbase_url = "https://x.org/pod"\n',
        encoding="utf-8",
    )
    options = load_feed_options(config, {"author": "小李", "title": None})
    assert (options.title, options.author, options.explicit) == ("我的播客", "小李", True)
    assert options.base_url == "https://x.org/pod/"
    config.write_text('[feed]\ntitel = "typo"\n', encoding="utf-8")
    with pytest.raises(InputError, match="titel.*title"):
        load_feed_options(config)
    config.write_text('[feed]\nexplicit = "no"\n', encoding="utf-8")
    with pytest.raises(InputError, match="true or false"):
        load_feed_options(config)
    with pytest.raises(InputError, match="http"):
        load_feed_options(None, {"base_url": "example.com"})


def test_feed_command(listening_output: Rendered) -> None:
    output = listening_output.output
    result = CliRunner().invoke(
        app, ["feed", str(output), "--base-url", BASE, "--title", "命令行播客"]
    )
    assert result.exit_code == 0, result.output
    assert "2 episodes" in result.output
    feed = feedparser.parse((output / "feed.xml").read_bytes())
    assert feed.feed.title == "命令行播客"
    assert feed.entries[0].enclosures[0].href.startswith(BASE)
    result = CliRunner().invoke(app, ["feed", str(output)])
    assert "--base-url" in result.output


def test_the_library_writes_every_date_one_way(listening_output: Rendered, tmp_path: Path) -> None:
    """An episode whose article gave no date shows the day it was first rendered, written as
    the others are (2025年3月18日, never 2026-12-01)."""
    output = tmp_path / "output"
    for report in (listening_output.sample, listening_output.short):
        shutil.copytree(report.folder, output / report.folder.name)
    manifest = output / listening_output.short.folder.name / "episode.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["date"] = ""
    data["published"] = "2026-12-01T09:15:00+00:00"
    manifest.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    rebuild_library(output, FeedOptions())
    page = (output / "index.html").read_text(encoding="utf-8")
    dates = re.findall(r'<p class="meta">([^ ]+) ·', page)
    assert dates == ["2026年12月1日", "2025年3月18日"], dates  # newest first


def test_a_feed_built_at_any_moment_names_only_files_that_are_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` builds the feed on every request, and `watch` renders while it serves: each time
    a file of the episode lands, the feed built right then names only files already in place
    (episode.json, which puts the folder in the feed, lands after everything it names)."""
    output = tmp_path / "out"
    landed: list[str] = []
    original = os.replace

    def replace(source: Any, target: Any) -> None:
        original(source, target)
        if output not in Path(target).parents:
            return
        landed.append(Path(target).name)
        document = build_feed(output, FeedOptions())
        named = [
            url
            for e in feedparser.parse(document).entries
            for url in (e.link, e.enclosures[0].href)
        ]
        named += [
            element.attrib["url"]
            for element in ET.fromstring(document).iter()
            if element.tag in (f"{P}chapters", f"{P}transcript")
        ]
        for url in named:
            assert (output / unquote(url)).is_file(), (url, landed)

    monkeypatch.setattr(files.os, "replace", replace)
    render(SHORT, RenderOptions(output=output, engine="espeak", cache_dir=tmp_path / "cache"))
    assert "episode.json" in landed and landed.index("episode.json") > landed.index("index.html")
