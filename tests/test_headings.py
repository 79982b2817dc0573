"""Section headings as real articles write them, and chapter titles cut from real questions.

The articles are excerpts in tests/fixtures/headings (README.md there names each source). The
assertions name headings by their titles and the turns they open by those turns' words, not by
turn numbers, so they hold however the labels around them are read.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interview_audio.article.chapters import clean_title, find_chapters
from interview_audio.article.parse import parse_article, read_source
from interview_audio.article.script import Meta, Role, Script, Speaker, Turn
from interview_audio.words import boundaries, words

FIXTURES = Path(__file__).parent / "fixtures"
HEADINGS = FIXTURES / "headings"
SENTENCE = re.compile(r"[^。？！?!…]+[。？！?!…]*")


def read(name: str) -> Script:
    return read_source(HEADINGS / name).script


def opened_by(script: Script) -> dict[str, str]:
    """Each heading's title and the start of the turn it opens."""
    return {h.title: script.turns[h.start_turn].text[:20] for h in script.headings}


def test_bold_subheads_with_stray_spaces_are_chapters_and_pull_quotes_stay_speech() -> None:
    script = read("wechat_liurun_kk.md")
    opens = opened_by(script)
    assert list(opens) == [
        "5000天后的世界",  # ` **5000 天后的世界**` just above the first label
        "人工智能会带来新一轮工业革命",  # the one `#` heading
        "你们那会儿看到的AI，根本称不上是AI",  # right under a picture: not its caption
        "人类如何认识自己，没人知道答案",
        "学会积极地失败",
    ]
    assert opens["5000天后的世界"].startswith("“Kevin，我最近读了")
    assert opens["学会积极地失败"].startswith("“在书中，您提到我们要学会")
    spoken = "\n".join(turn.text for turn in script.turns)
    # Bold sentences inside an answer are what the guest says, not titles.
    for quote in ("为什么人类会拥有如此之大的高级创造力呢？", "答案是：我们并不知道。"):
        assert quote in spoken
    assert [c.title for c in find_chapters(script)] == list(opens)


@pytest.mark.parametrize(
    ("name", "first"),
    [
        # `####` alone, then ` **01.** **三位导演是怎么入行的？**`: one heading, a question.
        ("wechat_kanlixiang_directors.md", "三位导演是怎么入行的？"),
        # `####`, `****1.****`, `****单口喜剧让我学会接受****` on three lines.
        ("wechat_kanlixiang_echo.md", "单口喜剧让我学会接受"),
        # A plain line between a picture's caption and the first label.
        ("wechat_sanlian_chenchong.md", "越久远的东西，可能光线就越绮丽"),
        # A bold title with a picture glued to it.
        ("wechat_sanlian_wubaozhu.md", "无需去定义数学的美"),
    ],
)
def test_a_heading_however_written_opens_its_chapter(name: str, first: str) -> None:
    script = read(name)
    chapters = find_chapters(script)
    assert chapters[0].title == first and chapters[0].start_turn == 0


def test_numbered_headings_split_over_lines_keep_every_chapter() -> None:
    titles = [c.title for c in find_chapters(read("wechat_kanlixiang_directors.md"), "headings")]
    assert titles == ["三位导演是怎么入行的？", "女导演"]
    echo = [c.title for c in find_chapters(read("wechat_kanlixiang_echo.md"), "headings")]
    assert echo == ["单口喜剧让我学会接受", "托举“二姐”", "种一朵自己的花"]


def test_captions_are_neither_headings_nor_speech() -> None:
    for name in ("wechat_sanlian_chenchong.md", "wechat_sanlian_wubaozhu.md"):
        script = read(name)
        shown = [h.title for h in script.headings] + [t.text for t in script.turns]
        # `《太阳照常升起》剧照` under a picture, `《美丽心灵》剧照` glued after one.
        assert not any(re.search(r"剧照$|剧照\n|《太阳照常升起》剧照", text) for text in shown)


def test_answers_written_as_headings_are_turns() -> None:
    """`#### 陳：梗係唔係啦……` is an answer, and `#### 搵人才……` the rest of it."""
    script = read("news_hkcnews_agneschan.md")
    assert script.headings == ()
    answer = next(t for t in script.turns if t.text.startswith("梗係唔係啦"))
    assert answer.role is Role.GUEST and "搵人才、教人才" in answer.text
    asked = [t for t in script.turns if t.role is Role.HOST]
    assert all(not t.text.startswith(("陳：", "佢沒咁直接講")) for t in asked)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("(0:26) 什么是 Notion？", "什么是 Notion？"),
        ("06为什么LLM难以复现AlphaGo的成功", "为什么LLM难以复现AlphaGo的成功"),
        ("10年后的世界", "10年后的世界"),
    ],
)
def test_time_codes_and_section_numbers_leave_titles(raw: str, clean: str) -> None:
    assert clean_title(raw) == clean


# --- titles cut from questions ----------------------------------------------------------------


@cache
def questions() -> tuple[tuple[str, str], ...]:
    """Every host turn of the corpus and these excerpts with the answer after it."""
    pairs: list[tuple[str, str]] = []
    for folder in (FIXTURES / "corpus", HEADINGS):
        for path in sorted(folder.glob("*.md")):
            if path.name == "README.md":
                continue
            turns = read_source(path).script.turns
            pairs.extend(
                (turn.text, answer.text)
                for turn, answer in zip(turns, turns[1:], strict=False)
                if turn.role is Role.HOST and answer.role is not Role.HOST
            )
    return tuple(pairs)


def cut_inside_a_word(title: str, text: str) -> bool | None:
    """None when no sentence of `text` holds the title (it came from elsewhere)."""
    for sentence in SENTENCE.findall(text):
        start = sentence.find(title)
        if start >= 0:
            cuts = boundaries(sentence)
            return start not in cuts or start + len(title) not in cuts
    return None


def interview(exchanges: list[tuple[str, str]]) -> Script:
    turns = tuple(
        Turn(speaker, role, (text,))
        for question, answer in exchanges
        for speaker, role, text in (("问", Role.HOST, question), ("答", Role.GUEST, answer))
    )
    speakers = (Speaker("问", Role.HOST), Speaker("答", Role.GUEST))
    return Script(Meta("访谈"), speakers, turns)


def test_the_question_pool_is_real_and_mixed() -> None:
    pool = questions()
    assert len(pool) > 100
    assert any("華為" in question for question, _ in pool)  # Traditional Chinese too


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_no_title_starts_or_ends_inside_a_word(data: st.DataObject) -> None:
    pool = questions()
    picked = data.draw(st.lists(st.sampled_from(pool), min_size=2, max_size=6, unique=True))
    script = interview(picked)
    for chapter in find_chapters(script, "shift"):
        opening = script.turns[chapter.start_turn].text
        verdict = cut_inside_a_word(chapter.title, opening)
        assert verdict is not True, (chapter.title, opening[:80], words(opening[:80]))


def test_traditional_questions_are_cut_between_words() -> None:
    """The titles the issue found cut inside words (`…經常發`, `…有什麼樣的影`)."""
    script = read("news_hkcnews_renzhengfei.md")
    titles = find_chapters(script, "shift")
    assert len(titles) >= 4
    for chapter in titles:
        assert cut_inside_a_word(chapter.title, script.turns[chapter.start_turn].text) is False
    assert any(chapter.title.endswith("影響") for chapter in titles)


# A talk transcript laid out the way a conference's notes site writes it (composed after one):
# each section a Markdown heading that is a code name, the speaker's label inside it.
CODE_HEADINGS = """\
# 内存管理中的锁竞争｜会议演讲逐字稿

## 开场

**主持人：** 你直接看 PPT，应该已经给你开共享了。

**宋宝华：** 好的，谢谢。今天主要讲四个锁。

## `mmap_lock`

**宋宝华：** 第一个是 `mmap_lock`。说起这个话题有点伤心，因为我在社区里讨论得很痛苦。

## `anon_vma->root->rwsem`

**宋宝华：** 最后一类是 anonymous VMA 的 root lock。今天我就先简单介绍到这里。

## 主持人总结

**主持人：** 非常感谢宋老师的分享。
"""


def test_a_heading_that_is_a_code_name_is_a_chapter_with_its_name_whole() -> None:
    script = parse_article(CODE_HEADINGS)
    titles = [chapter.title for chapter in find_chapters(script, "headings")]
    assert titles == ["开场", "mmap_lock", "anon_vma->root->rwsem", "主持人总结"]
