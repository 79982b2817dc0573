"""The episode page: `index.html` in the episode folder, a player with chapters and a transcript
that follows the audio.

One self-contained file: the template, stylesheet and script (package data under `data/`) are
inlined when it is written, and the transcript and chapters are in the HTML itself, so the page
works from disk (file://) as well as served, with no network. The script only adds behaviour.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from interview_audio.display import clock
from interview_audio.files import write_text
from interview_audio.publish.captions import Paragraph
from interview_audio.publish.manifest import Manifest

log = logging.getLogger(__name__)

PAGE_NAME = "index.html"
ROLE_NAMES = {"host": "主持人", "guest": "嘉宾", "narrator": "旁白"}
# Speaker colours (light theme, dark theme), chosen to read well as text and as a tint.
NARRATOR_COLOURS = ("#5b6b7f", "#9fb0c4")
SPEAKER_COLOURS = (
    ("#0f766e", "#2dd4bf"),
    ("#c2410c", "#fb923c"),
    ("#7c3aed", "#b49cff"),
    ("#be185d", "#f472b6"),
    ("#1d4ed8", "#7fb0ff"),
    ("#4d7c0f", "#a3e635"),
)


@dataclass(frozen=True)
class PageSpeaker:
    """A speaker as the page shows them: name, role in Chinese, CSS class and colours."""

    name: str
    role: str
    css: str
    light: str
    dark: str

    @property
    def shown(self) -> str:
        """The name on the tag, without a leading role word its label says (主持人林晓: 林晓)."""
        rest = self.name.removeprefix(self.role).lstrip(" ·:：")
        return rest or self.name

    @property
    def label(self) -> str:
        """The role beside the name, for every speaker alike; none when the name is only the
        role word (主持人, 旁白)."""
        return "" if self.name == self.role else self.role


@dataclass(frozen=True)
class PageTurn:
    """Consecutive paragraphs of one speaker, shown under one name."""

    speaker: PageSpeaker
    start: float
    paragraphs: tuple[Paragraph, ...]


def chinese_date(date: str) -> str:
    """2025-03-18 → 2025年3月18日."""
    if not date:
        return ""
    year, month, day = (int(part) for part in date.split("-"))
    return f"{year}年{month}月{day}日"


def file_size(size: int | None) -> str:
    if size is None:
        return ""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{max(1, round(size / 1000))} KB"


def speakers(manifest: Manifest, paragraphs: Sequence[Paragraph]) -> dict[str, PageSpeaker]:
    """Every voice of the transcript with its colour, in order of first appearance; the
    narrator is grey."""
    roles = {person.name: person.role for person in manifest.speakers}
    found: dict[str, PageSpeaker] = {}
    for paragraph in paragraphs:
        name = paragraph.speaker
        if name in found:
            continue
        role = roles.get(name, paragraph.role.value)
        if role == "narrator":
            light, dark = NARRATOR_COLOURS
        else:
            voices = sum(1 for s in found.values() if s.role != ROLE_NAMES["narrator"])
            light, dark = SPEAKER_COLOURS[voices % len(SPEAKER_COLOURS)]
        found[name] = PageSpeaker(
            name, ROLE_NAMES.get(role, role), f"spk-{len(found)}", light, dark
        )
    return found


def turns(paragraphs: Sequence[Paragraph], voices: dict[str, PageSpeaker]) -> list[PageTurn]:
    grouped: list[PageTurn] = []
    for paragraph in paragraphs:
        if not paragraph.sentences:
            continue
        if grouped and not paragraph.opens_turn and grouped[-1].speaker.name == paragraph.speaker:
            last = grouped[-1]
            grouped[-1] = PageTurn(last.speaker, last.start, (*last.paragraphs, paragraph))
        else:
            grouped.append(PageTurn(voices[paragraph.speaker], paragraph.start, (paragraph,)))
    return grouped


def render_page(manifest: Manifest, paragraphs: Sequence[Paragraph]) -> str:
    """The page's HTML."""
    voices = speakers(manifest, paragraphs)
    data = {
        "guid": manifest.guid,
        "duration": manifest.duration,
        "chapters": [{"title": c.title, "start": c.start, "end": c.end} for c in manifest.chapters],
    }
    html: str = template("episode.html").render(
        m=manifest,
        date=chinese_date(manifest.date),
        length=clock(manifest.duration),
        speakers=list(voices.values()),
        people=[voices[p.name] for p in manifest.speakers if p.name in voices],
        turns=turns(paragraphs, voices),
        chapters=[(c, clock(c.start), file_size(c.bytes)) for c in manifest.chapters],
        audio_size=file_size(manifest.audio_bytes),
        data=script_json(data),
        css=_data("episode.css"),
        js=_data("episode.js"),
        clock=clock,
    )
    return html


def write_episode_page(folder: Path, manifest: Manifest, paragraphs: Sequence[Paragraph]) -> Path:
    """Write `index.html` into the episode folder."""
    path = folder / PAGE_NAME
    write_text(path, render_page(manifest, paragraphs))
    log.info("Wrote the episode page %s", path)
    return path


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element (no `</script>` or `<!--` can appear in it)."""
    from markupsafe import Markup

    text = json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text.replace("&", "\\u0026"))


def _data(name: str) -> str:
    from markupsafe import Markup

    return Markup(resources.files("interview_audio").joinpath("data", name).read_text("utf-8"))


@functools.cache
def template(name: str) -> Any:
    """A Jinja2 template from the package data, HTML-escaped by default."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("interview_audio", "data"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template(name)
