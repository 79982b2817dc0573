"""The real-article corpus: every exporter's interview parses to its hand-checked expectation,
and articles composed from real-world fragments never hand a voice anything unspeakable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interview_audio.article.parse import parse, read_source
from interview_audio.article.speakable import check_script
from interview_audio.errors import ParseError

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
EXPECTED: dict[str, Any] = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))[
    "files"
]

# What must never reach a voice.
UNSPEAKABLE = re.compile(
    r"https?:|www\.|imageUrl|filters:|!\[|\]\(|\*\*|__|<[A-Za-z/!]|&[a-z]+;|\{\{|"
    r"(?:%[0-9A-Fa-f]{2}){2,}|[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\ufeff]"
)
FOOTERS = re.compile(
    r"对此文亦有贡献|题图来源|头图来源|FIN|原创内容|公众号|钛媒体App|本文首发|跳转到|See all posts|"
    r"Toggle theme|译文作者|版权归|点击关注|点击「在看」|点个在看|"
    # news archives, WeChat backups, clippers and speech-recognition exports (issue 20)
    r"月費訂戶|支持我們的工作|投稿或其他事宜|商业合作|采写：|本文刊载于|本文选自|题图为|仅供参考|"
    r"结束语|以上内容由AI生成|赞助商|赞助播出|前段部分談|小懒自动备份|返回列表页"
)


def test_the_corpus_has_every_file_and_four_sources() -> None:
    files = {path.name for path in CORPUS.glob("*.md") if path.name != "README.md"}
    assert files == set(EXPECTED)
    assert len(files) >= 30
    repositories = {entry["source"].split(":")[0] for entry in EXPECTED.values()}
    # Cubox, a transcript site, a Hugo blog; a news archive, a WeChat backup site, a web
    # clipper, an Obsidian vault, a notes repository
    assert len(repositories) >= 8
    assert all(path.stat().st_size < 20_000 for path in CORPUS.glob("*.md"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_parses_to_its_expectation(name: str) -> None:
    expected = EXPECTED[name]
    article = read_source(CORPUS / name)
    script = article.script
    assert script.title == expected["title"]
    found = [
        (s.name, s.role.value, script.turn_count(s.name), s.gender and s.gender.value)
        for s in script.speakers
    ]
    assert found == [(s["name"], s["role"], s["turns"], s["gender"]) for s in expected["speakers"]]
    for speaker in script.speakers:  # every decision says why
        assert speaker.role_evidence and speaker.gender_evidence, speaker.name
    kinds = sorted({item.what.split(" (")[0] for item in article.left_out})
    assert kinds == expected["left_out"]
    labels = {alias for s in script.speakers for alias in (s.name, *s.aliases)}
    inside = re.compile(
        "(?:^|[？?”。！!])(?:" + "|".join(map(re.escape, labels)) + ")[：:]"
    )  # a label left inside a turn is a turn spoken in the wrong voice
    for index, turn in enumerate(script.turns):
        assert turn.paragraphs, index
        assert not any(inside.search(p) for p in turn.paragraphs), (index, turn.text[:80])
        for paragraph in turn.paragraphs:
            assert not UNSPEAKABLE.search(paragraph), (index, paragraph)
            assert not FOOTERS.search(paragraph), (index, paragraph)
            assert paragraph == paragraph.strip() and paragraph
    assert check_script(script) == ()


def test_speakers_come_with_roles_and_evidenced_genders() -> None:
    for name, entry in EXPECTED.items():
        roles = {speaker["role"] for speaker in entry["speakers"]}
        assert {"host", "guest"} <= roles, name
        for speaker in entry["speakers"]:
            assert speaker["gender"] in (None, "male", "female"), name
            if speaker["gender"]:
                assert speaker["evidence"], (name, speaker["name"])


def test_a_trailing_translation_is_left_out_or_voiced_by_the_same_speakers() -> None:
    path = CORPUS / "bilingual_trailing_english.md"
    default = read_source(path).script
    assert [t.speaker for t in default.turns] == ["尼古拉", "蔡崇信"] * 3
    assert not any(re.search(r"[A-Za-z]{4} [a-z]{2,} [a-z]{2,}", t.text) for t in default.turns)
    kept = read_source(path, keep_translation=True).script
    assert [t.speaker for t in kept.turns] == ["尼古拉", "蔡崇信"] * 6
    assert [s.name for s in kept.speakers] == ["尼古拉", "蔡崇信"]
    assert kept.turns[7].text.startswith("thanks for having me Nikolai")


def test_an_interview_in_part_says_what_was_left_out() -> None:
    article = read_source(CORPUS / "blog_baoyu_petersson.md")
    # The write-up before the closing 问/答 is the introduction, the narrator's to read
    # (all of it with --intro full); the page's chrome around it stays out.
    assert article.narrated[:2] == ("the title", "the introduction (33 paragraphs, lines 44-123)")
    before = next(item for item in article.left_out if item.what.startswith("before"))
    assert before.sample == "See all posts"
    assert len(article.script.turns) == 10


# --- articles composed from real fragments -----------------------------------------------------


def _fragments() -> list[str]:
    lines: list[str] = []
    for path in sorted(CORPUS.glob("*.md")):
        if path.name == "README.md":
            continue
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line.strip() and len(line) < 400:
                lines.append(line)
    return lines


FRAGMENTS = _fragments()
LABELS = [line for line in FRAGMENTS if re.match(r"^(\*\*)?[^*：:]{1,12}(\*\*)?[：:]", line)]
NOISE = [
    "\x00",
    "\x07",
    "\u200b",
    "\ufeff",
    "%E4%B8%AD%E6%96%87",
    '<img src="https://mmbiz.qpic.cn/a.png">',
    "<br/>",
    "&nbsp;",
    "![](https://cubox.pro/c/filters:no_upscale()?imageUrl=https%3A%2F%2Fmmbiz.qpic.cn%2Fx)",
    "[mp.weixin.qq.com](https://mp.weixin.qq.com/s/abc)",
    "**",
    '{{< styled-paragraph class="lang-en" >}}',
    "· FIN ·",
]


@st.composite
def articles(draw: st.DrawFn) -> str:
    parts = draw(
        st.lists(st.sampled_from(FRAGMENTS) | st.sampled_from(LABELS), min_size=2, max_size=40)
    )
    out = []
    for part in parts:
        if draw(st.booleans()):
            noise = draw(st.sampled_from(NOISE))
            at = draw(st.integers(0, len(part)))
            part = part[:at] + noise + part[at:]
        out.append(part)
    separators = draw(st.lists(st.sampled_from(["\n", "\n\n", "\r\n"]), min_size=len(out)))
    return "".join(p + s for p, s in zip(out, separators, strict=False))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(articles())
def test_composed_articles_never_keep_anything_unspeakable(text: str) -> None:
    try:
        article = parse(text, keep_translation=False)
    except ParseError:
        return
    for turn in article.script.turns:
        assert turn.paragraphs
        for paragraph in turn.paragraphs:
            assert paragraph
            assert not UNSPEAKABLE.search(paragraph), paragraph
