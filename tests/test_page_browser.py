"""The episode page in a real headless Chromium (Debian's /usr/bin/chromium driven by
Playwright), loaded through `serve` and from file://."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conftest import HalfSeconds, Rendered
from interview_audio.publish.serve import Server, make_server

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() or shutil.which("chromium") is None,
    reason="needs Debian's chromium (apt-get install chromium; .ci/run installs it)",
)
ARGS = ["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--mute-audio"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(listening_output: Rendered) -> Iterator[Server]:
    served = make_server(listening_output.output, "127.0.0.1", 0)
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    yield served
    served.shutdown()
    served.server_close()


class Page:
    """A page in a fresh browser context that records console errors and page errors."""

    def __init__(self, browser: Any, **context: Any) -> None:
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, url: str) -> Page:
        self.page.goto(url)
        self.page.wait_for_function("document.getElementById('audio').readyState >= 1")
        return self

    def js(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def time(self) -> float:
        return float(self.js("document.getElementById('audio').currentTime"))


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    opened = Page(browser, viewport={"width": 1280, "height": 800})
    yield opened
    assert opened.errors == [], "console errors"
    opened.context.close()


def url_of(server: Server, listening_output: Rendered, fragment: str = "") -> str:
    return server.url + quote(listening_output.sample.folder.name) + "/" + fragment


def chapters(listening_output: Rendered) -> list[tuple[str, float]]:
    return [(c.title, c.start) for c in listening_output.sample.chapters]


def test_clicking_a_chapter_moves_current_time_to_its_start(
    page: Page, server: Server, listening_output: Rendered
) -> None:
    page.open(url_of(server, listening_output))
    title, start = chapters(listening_output)[2]
    page.page.get_by_role("navigation", name="章节").get_by_text(title).click()
    page.page.wait_for_function("!document.getElementById('audio').paused")
    assert start - 0.05 <= page.time() < start + 1.0
    assert page.js("document.querySelector('#chapters .current .title').textContent") == title
    assert page.js("document.getElementById('chapter-now').textContent") == title


def test_playing_moves_the_highlight_to_the_sentence_at_that_time(
    page: Page, server: Server, listening_output: Rendered
) -> None:
    page.open(url_of(server, listening_output))
    page.js(
        "(() => { const a = document.getElementById('audio'); a.currentTime = 100; a.play(); })()"
    )
    page.page.wait_for_function("document.getElementById('audio').currentTime > 101")
    state = page.js(
        """(() => {
        const a = document.getElementById('audio');
        const all = [...document.querySelectorAll('#transcript .s')];
        const cur = document.querySelector('#transcript .s.current');
        const i = all.indexOf(cur);
        const box = cur.getBoundingClientRect();
        return {t: a.currentTime, start: +cur.dataset.start, next: i + 1 < all.length ? +all[i + 1].dataset.start : 1e9,
                count: document.querySelectorAll('#transcript .s.current').length, top: box.top, bottom: box.bottom, h: innerHeight};
    })()"""
    )
    assert state["count"] == 1
    assert state["start"] <= state["t"] + 0.3 and state["t"] < state["next"] + 0.3
    # Kept in view while playing.
    assert state["top"] >= 0 and state["bottom"] <= state["h"]


def test_search_finds_a_phrase_and_scrolls_to_it(
    page: Page, server: Server, listening_output: Rendered
) -> None:
    page.open(url_of(server, listening_output))
    search = page.page.get_by_placeholder("搜索文字稿")
    search.fill("生活费")
    search.press("Enter")
    page.page.wait_for_function("document.querySelector('#transcript mark.active') !== null")
    count = page.js("document.getElementById('search-count').textContent")
    assert count.startswith("1 / ") and int(count.split("/")[1]) >= 1
    page.page.wait_for_function(
        "(() => { const b = document.querySelector('#transcript mark.active').getBoundingClientRect();"
        " return b.top >= 0 && b.bottom <= innerHeight; })()"
    )
    assert page.js("document.querySelector('#transcript mark.active').textContent") == "生活费"
    search.fill("没有这句话的内容")
    search.press("Enter")
    assert page.js("document.getElementById('search-count').textContent") == "没有找到"


def test_a_time_in_the_link_starts_there(
    page: Page, server: Server, listening_output: Rendered
) -> None:
    title, start = chapters(listening_output)[3]
    at = start + 3
    minutes, seconds = divmod(int(at), 60)
    page.open(url_of(server, listening_output, f"#t={minutes}:{seconds:02d}"))
    page.page.wait_for_function(
        f"Math.abs(document.getElementById('audio').currentTime - {int(at)}) < 0.5"
    )
    assert page.js("document.getElementById('chapter-now').textContent") == title


def test_copy_link_and_the_remembered_position(
    page: Page, server: Server, listening_output: Rendered
) -> None:
    page.open(url_of(server, listening_output))
    page.js("(() => { const a = document.getElementById('audio'); a.currentTime = 61.5; })()")
    page.page.wait_for_function(
        "Math.abs(document.getElementById('audio').currentTime - 61.5) < 0.1"
    )
    page.page.get_by_role("button", name="复制此刻链接").click()
    assert page.js("location.hash") == "#t=1:01"
    page.page.keyboard.press("Space")
    page.page.wait_for_function("!document.getElementById('audio').paused")
    page.page.keyboard.press("Space")
    page.page.wait_for_function("document.getElementById('audio').paused")
    before = page.time()
    page.page.keyboard.press("ArrowRight")
    assert page.time() == pytest.approx(before + 30, abs=0.2)
    page.page.keyboard.press("ArrowLeft")
    assert page.time() == pytest.approx(before + 15, abs=0.2)
    page.js("document.getElementById('audio').pause()")
    # A new visit without a time in the link resumes where the listener stopped.
    page.page.goto(url_of(server, listening_output))
    page.page.wait_for_function(
        f"Math.abs(document.getElementById('audio').currentTime - {before + 15}) < 0.5"
    )


def test_clicking_a_sentence_plays_from_it(
    page: Page, server: Server, listening_output: Rendered
) -> None:
    page.open(url_of(server, listening_output))
    sentence = page.page.locator("#transcript .s").nth(20)
    start = float(sentence.get_attribute("data-start"))
    sentence.click()
    page.page.wait_for_function("!document.getElementById('audio').paused")
    assert start - 0.05 <= page.time() < start + 1.0
    # Space on the focused play button toggles once, not twice.
    page.page.get_by_role("button", name="暂停").focus()
    page.page.keyboard.press("Space")
    page.page.wait_for_timeout(300)
    assert page.js("document.getElementById('audio').paused") is True


def test_the_page_from_disk_shows_chapters_and_the_written_transcript(
    page: Page, listening_output: Rendered
) -> None:
    page.open((listening_output.sample.folder / "index.html").as_uri())
    titles = page.js("[...document.querySelectorAll('#chapters .title')].map(e => e.textContent)")
    assert titles == [title for title, _ in chapters(listening_output)]
    text = page.js("document.getElementById('transcript').textContent")
    assert "30万份" in text and "三十万" not in text
    assert page.js("document.querySelectorAll('#transcript .s').length") > 30
    assert page.js("document.getElementById('audio').duration") == pytest.approx(
        listening_output.sample.duration, abs=0.2
    )


def test_on_a_phone_the_player_sits_at_the_bottom(
    browser: Any, server: Server, listening_output: Rendered
) -> None:
    phone = Page(
        browser,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        phone.open(url_of(server, listening_output))
        box = phone.js(
            "(() => { const b = document.getElementById('player').getBoundingClientRect(); return [b.top, b.bottom, b.width]; })()"
        )
        assert box[1] == pytest.approx(844, abs=1) and box[2] == pytest.approx(390, abs=1)
        assert phone.js("document.documentElement.scrollWidth") <= 390
        assert phone.errors == []
    finally:
        phone.context.close()


def test_the_player_clock_says_what_the_chapter_list_says(
    page: Page, half_seconds: HalfSeconds
) -> None:
    """At each chapter's start the player's clock (episode.js) shows the time the list (and
    render, and inspect: test_clock_times.py) gives it, one of them past the middle of a second."""
    page.open((half_seconds.folder / "index.html").as_uri())
    shown = page.js(
        """(async () => {
        const audio = document.getElementById('audio');
        const found = [];
        for (const link of document.querySelectorAll('#chapters a')) {
            const seeked = new Promise(done => audio.addEventListener('seeked', done, {once: true}));
            audio.currentTime = +link.dataset.start;
            await seeked;
            found.push([link.querySelector('.time').textContent,
                        document.getElementById('elapsed').textContent]);
        }
        return found;
    })()"""
    )
    assert len(shown) == len(half_seconds.starts) > 2
    assert [listed for listed, _ in shown] == [clock for _, clock in shown]


def test_every_speaker_tag_says_the_role(
    page: Page, server: Server, listening_output: Rendered
) -> None:
    """The host's tag has its label as the guests' have theirs (主持人林晓: 林晓 主持人)."""
    page.open(url_of(server, listening_output))
    tags = page.js(
        """[...document.querySelectorAll('#transcript .who, .people li')].map(tag => [
            (tag.querySelector('a') || tag).childNodes[tag.matches('li') ? 1 : 0].textContent,
            (tag.querySelector('small') || {textContent: ''}).textContent])"""
    )
    seen = {tuple(tag) for tag in tags}
    assert ("林晓", "主持人") in seen and ("陈默", "嘉宾") in seen and ("周一鸣", "嘉宾") in seen
    assert all(label for name, label in seen if name != "旁白"), seen
