"""`watch`: a real watcher (watchdog, and its polling fallback) on a temporary folder, rendering
with eSpeak; the feed read back by feedparser and podcastparser after every change. Also the
catch-up at the next start, and through the command line Ctrl-C, SIGTERM and `serve --watch`.

No test waits a fixed time for an outcome: each polls for the state it expects, with a deadline.
"""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import feedparser
import podcastparser
import pytest
from mutagen.mp3 import MP3

from interview_audio import pipeline
from interview_audio.errors import InputError
from interview_audio.pipeline import RenderOptions
from interview_audio.publish.failures import FAILURES_NAME, read_failures
from interview_audio.publish.feed import FeedOptions
from interview_audio.watch import Watcher
from short_articles import write_article

ROOT = Path(__file__).parents[1]
SHORT = ROOT / "tests" / "fixtures" / "listen_short.txt"
SAMPLE = ROOT / "examples" / "sample.txt"
SHORT_TITLE = "对话开源作者：GPT-4时代怎样维护一个小工具"
SAMPLE_TITLE = "对话独立游戏开发者：两个人、三年时间，做出一款卖出30万份的游戏"
DEADLINE = 120.0
FEED_URL = "http://127.0.0.1/feed.xml"

T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], deadline: float = DEADLINE) -> T:
    """Poll `check` until it returns something truthy; fail after `deadline` seconds."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


def feed_titles(output: Path) -> list[str] | None:
    """The feed's episode titles, read by feedparser and podcastparser, which must agree.
    None while there is no feed."""
    path = output / "feed.xml"
    if not path.is_file():
        return None
    return check_feed(path.read_bytes(), output)


def check_feed(document: bytes, output: Path) -> list[str]:
    """The titles; every episode the feed names has its page and a whole MP3. (Its length may
    be the previous render's while an episode is rendered again: each file is replaced whole.)"""
    parsed = feedparser.parse(document)
    assert not parsed.bozo, parsed.bozo_exception
    podcast = podcastparser.parse(FEED_URL, io.BytesIO(document))
    titles = sorted(entry.title for entry in parsed.entries)
    assert sorted(episode["title"] for episode in podcast["episodes"]) == titles
    for episode in podcast["episodes"]:
        (enclosure,) = episode["enclosures"]
        audio = output / unquote(urlsplit(enclosure["url"]).path.lstrip("/"))
        assert enclosure["file_size"] > 10_000 and MP3(audio).info.length > 1
        assert (audio.parent / "index.html").is_file()
    return titles


def has_title(output: Path, title: str) -> bool:
    return title in (feed_titles(output) or [])


def messages(caplog: pytest.LogCaptureFixture, pattern: str) -> list[str]:
    found = re.compile(pattern)
    return [r.getMessage() for r in caplog.records if found.search(r.getMessage())]


@contextmanager
def watching(
    folder: Path, output: Path, cache: Path, *, poll: bool = False, settle: float = 1.0
) -> Iterator[Watcher]:
    """A watcher running on a thread until the block ends; caught up when the block starts."""
    options = RenderOptions(output=output, engine="espeak", cache_dir=cache, feed=FeedOptions())
    watcher = Watcher(folder, options, poll=poll, settle=settle, poll_interval=0.2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            watcher.run()
        except BaseException as exc:  # the test fails with it below
            errors.append(exc)

    thread = threading.Thread(target=run, name="test-watcher")
    thread.start()
    try:
        wait_for("the catch-up", lambda: watcher.caught_up.is_set() or errors)
        yield watcher
    finally:
        watcher.stop()
        thread.join(DEADLINE)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


def write_in_two_halves(path: Path, text: str, pause: float) -> None:
    """Write half the text, pause (as a slow download or sync would), then the rest."""
    middle = len(text) // 2
    with path.open("wb") as out:
        out.write(text[:middle].encode("utf-8"))
        out.flush()
        os.fsync(out.fileno())
        time.sleep(pause)
        out.write(text[middle:].encode("utf-8"))


@pytest.fixture
def log_info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="interview_audio.watch")
    return caplog


def test_new_changed_deleted_and_broken_articles(
    tmp_path: Path, log_info: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, output = tmp_path / "articles", tmp_path / "out"
    folder.mkdir()
    loads: list[str] = []
    select = pipeline.select_engine
    monkeypatch.setattr(
        pipeline, "select_engine", lambda *args: loads.append(args[0]) or select(*args)
    )
    with watching(folder, output, tmp_path / "cache", settle=1.5):
        assert feed_titles(output) == []

        # A new article: its episode is in the feed, whole.
        article = folder / "a.txt"
        write_article(
            article, "对话：慢跑的意义", "李雷", ["因为跑步让我清醒。", "每天早上跑五公里。"]
        )
        wait_for("the new episode", lambda: has_title(output, "对话：慢跑的意义"))

        # Changed in two writes with a pause shorter than the settling time: rendered once,
        # with the whole text.
        changed = (
            article.read_text(encoding="utf-8")
            + "主持人：下雨天呢？\n\n李雷：下雨天也跑，只是跑得短一些。\n"
        )
        write_in_two_halves(article, changed, pause=0.3)
        script = output / "对话：慢跑的意义" / "script.yaml"
        wait_for("the changed episode", lambda: "跑得短一些" in script.read_text(encoding="utf-8"))
        assert len(messages(log_info, r"^(Rendering a\.txt|✗ a\.txt)")) == 2
        assert has_title(output, "对话：慢跑的意义")

        # Editors' swap and backup files, hidden files and other kinds are not articles.
        (folder / ".a.txt.swp").write_bytes(b"\0swap")
        (folder / "a.txt~").write_text("备份", encoding="utf-8")
        (folder / "notes.pdf").write_bytes(b"%PDF-1.4")

        # A broken article: listed on the library page with the reason, the feed unchanged.
        broken = folder / "broken.md"
        broken.write_text("这只是一段笔记，没有对话。\n", encoding="utf-8")
        failures = wait_for("the failure record", lambda: read_failures(output))
        assert [f.article for f in failures] == ["broken.md"]
        assert "no speaker labels" in failures[0].reason
        page = wait_for(
            "the failure on the library page",
            lambda: "broken.md" in (text := (output / "index.html").read_text("utf-8")) and text,
        )
        assert "no speaker labels" in page and "未能生成" in page
        assert feed_titles(output) == ["对话：慢跑的意义"]

        # Its file's times change but not its content or size: not tried again. (The events
        # are queued in order, so once the next article is in the feed this one was seen.)
        os.utime(broken, ns=(broken.stat().st_atime_ns, broken.stat().st_mtime_ns))
        broken.chmod(0o600)
        write_article(
            folder / "c.md",
            "访谈：一家小书店",
            "韩梅梅",
            ["到今年正好二十年。", "现在有四十个书架。"],
        )
        wait_for("the third episode", lambda: has_title(output, "访谈：一家小书店"))
        assert len(messages(log_info, r"^Rendering broken\.md|broken\.md: no speaker")) == 1
        assert messages(log_info, "^Rendering c.md")
        assert not messages(log_info, r"swp|a\.txt~|notes\.pdf")

        # Fixed: rendered, and gone from the failures and the page.
        write_article(broken, "对话：修好的文章", "王五", ["现在可以读了。", "谢谢提醒。"])
        wait_for("the fixed episode", lambda: has_title(output, "对话：修好的文章"))
        wait_for("the cleared failure", lambda: not (output / FAILURES_NAME).exists())
        assert "未能生成" not in (output / "index.html").read_text(encoding="utf-8")

        # Deleted: the episode stays, and the log says so.
        article.unlink()
        said = wait_for("the deletion", lambda: messages(log_info, r"^a\.txt was deleted"))
        assert "对话：慢跑的意义" in said[0] and "stays in the feed" in said[0]
        assert feed_titles(output) == sorted(
            ["对话：慢跑的意义", "访谈：一家小书店", "对话：修好的文章"]
        )
    assert loads == ["espeak"]  # once, for every article


def test_the_next_start_catches_up_with_what_changed(
    tmp_path: Path, log_info: pytest.LogCaptureFixture
) -> None:
    folder, output, cache = tmp_path / "articles", tmp_path / "out", tmp_path / "cache"
    kept = write_article(
        folder / "kept.txt", "对话：不变的文章", "甲", ["一直都在。", "没有变过。"]
    )
    edited = write_article(
        folder / "edited.txt", "对话：会改的文章", "乙", ["第一版。", "还会再改。"]
    )
    gone = write_article(
        folder / "sub" / "gone.md", "对话：会删的文章", "丙", ["再见。", "后会有期。"]
    )
    broken = folder / "broken.txt"
    broken.write_text("没有对话。\n", encoding="utf-8")
    with watching(folder, output, cache):
        pass
    assert feed_titles(output) == sorted(
        ["对话：不变的文章", "对话：会改的文章", "对话：会删的文章"]
    )
    assert [f.article for f in read_failures(output)] == ["broken.txt"]
    log_info.clear()

    # While stopped: one article edited, one deleted, one added; the broken one untouched.
    write_article(edited, "对话：会改的文章", "乙", ["第二版，改过了。", "还会再改。"])
    gone.unlink()
    write_article(folder / "new.md", "对话：新来的文章", "丁", ["你好。", "刚刚保存的。"])
    with watching(folder, output, cache):
        rendered = messages(log_info, r"^Rendering ")
        assert sorted(m.split(" with ")[0] for m in rendered) == [
            "Rendering edited.txt",
            "Rendering new.md",
        ]
        assert not messages(log_info, r"broken\.txt: ")  # unchanged since it failed
        assert kept.is_file()
    assert "第二版" in (output / "对话：会改的文章" / "script.yaml").read_text(encoding="utf-8")
    assert feed_titles(output) == sorted(
        ["对话：不变的文章", "对话：会改的文章", "对话：会删的文章", "对话：新来的文章"]
    )
    assert [f.article for f in read_failures(output)] == ["broken.txt"]


def test_polling_for_network_drives(tmp_path: Path, log_info: pytest.LogCaptureFixture) -> None:
    folder, output = tmp_path / "articles", tmp_path / "out"
    folder.mkdir()
    with watching(folder, output, tmp_path / "cache", poll=True):
        assert messages(log_info, r"^Watching .* \(polling\)")
        (folder / "short.txt").write_bytes(SHORT.read_bytes())
        wait_for("the episode", lambda: has_title(output, SHORT_TITLE))
        nested = folder / "saved" / "2024"
        nested.mkdir(parents=True)
        write_article(
            nested / "b.md",
            "访谈：一家小书店",
            "韩梅梅",
            ["到今年正好二十年。", "现在有四十个书架。"],
        )
        wait_for("the nested episode", lambda: has_title(output, "访谈：一家小书店"))
        (folder / "short.txt").unlink()
        wait_for("the deletion", lambda: messages(log_info, r"^short\.txt was deleted"))
    assert feed_titles(output) == sorted([SHORT_TITLE, "访谈：一家小书店"])


def start(command: list[str], log: Path, cache: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "INTERVIEW_AUDIO_CACHE_DIR": str(cache)}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "interview_audio", *command],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=log.parent,
        )


def said(log: Path, text: str) -> bool:
    return text in log.read_text(encoding="utf-8", errors="replace")


def stop(process: subprocess.Popen[bytes], how: signal.Signals = signal.SIGINT) -> int:
    process.send_signal(how)
    try:
        return process.wait(DEADLINE)
    finally:
        if process.poll() is None:
            process.kill()


def test_ctrl_c_stops_and_the_next_start_finishes(tmp_path: Path) -> None:
    folder, output, cache = tmp_path / "articles", tmp_path / "out", tmp_path / "cache"
    folder.mkdir()
    command = ["watch", str(folder), "-o", str(output), "--engine", "espeak", "--settle", "0.5"]
    log = tmp_path / "first.log"
    first = start(command, log, cache)
    try:
        wait_for("the first start", lambda: said(log, "Caught up"))
        (folder / "sample.txt").write_bytes(SAMPLE.read_bytes())
        wait_for("the render to start", lambda: said(log, "Rendering sample.txt"))
    finally:
        code = stop(first)
    assert code == 0, log.read_text(encoding="utf-8")
    assert said(log, "Stopped. The next start catches up")
    assert "Traceback" not in log.read_text(encoding="utf-8")
    # Whatever the interrupted render left, the feed (if any) names only whole episodes.
    assert SAMPLE_TITLE not in (feed_titles(output) or [])

    log = tmp_path / "second.log"
    second = start(command, log, cache)
    try:
        wait_for("the caught-up episode", lambda: has_title(output, SAMPLE_TITLE))
        wait_for("the catch-up", lambda: said(log, "Caught up"))
    finally:
        code = stop(second, signal.SIGTERM)
    assert code == 0, log.read_text(encoding="utf-8")


def test_serve_watch_serves_the_feed_while_it_renders(tmp_path: Path) -> None:
    folder, output = tmp_path / "articles", tmp_path / "new" / "out"
    folder.mkdir()
    log = tmp_path / "serve.log"
    command = ["serve", str(output), "--port", "0", "--watch", str(folder), "--engine", "espeak"]
    server = start(command, log, tmp_path / "cache")
    try:
        wait_for("the catch-up", lambda: said(log, "Caught up"))
        url = re.search(r"at (http://\S+/) ", log.read_text(encoding="utf-8"))
        assert url is not None
        (folder / "short.txt").write_bytes(SHORT.read_bytes())

        def served() -> bool:
            with urllib.request.urlopen(url.group(1) + "feed.xml", timeout=10) as response:
                body = response.read()
            return SHORT_TITLE in [e.title for e in feedparser.parse(body).entries]

        wait_for("the episode in the served feed", served)
        assert has_title(output, SHORT_TITLE)
    finally:
        code = stop(server)
    assert code == 0, log.read_text(encoding="utf-8")


def test_a_second_watcher_on_one_output_folder_is_refused_until_the_first_stops(
    tmp_path: Path,
) -> None:
    articles, output = tmp_path / "articles", tmp_path / "out"
    articles.mkdir()
    options = RenderOptions(output=output, engine="espeak", cache_dir=tmp_path / "cache")
    first = Watcher(articles, options, settle=0.1)
    with pytest.raises(InputError, match=rf"process {os.getpid()}.*another -o"):
        Watcher(articles, options, settle=0.1)
    runner = threading.Thread(target=first.run)
    runner.start()
    assert first.caught_up.wait(60)
    first.stop()
    runner.join(60)
    second = Watcher(articles, options, settle=0.1)  # the first has let go
    second.stop()
    second.run()
