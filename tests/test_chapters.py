"""Chapters: headings, summary topics and vocabulary shift, checked against hand segmentations.

The fixtures are short interviews written for these tests (tests/fixtures/chapters_*.yaml),
each with the segmentation an editor would make; the seed test compares against the hand
segmentation in tests/fixtures/seed_chapters.yaml.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from interview_audio.article.chapters import (
    clean_title,
    exchanges,
    find_chapters,
    segment,
    shift_boundaries,
)
from interview_audio.article.script import (
    Chapter,
    Heading,
    Meta,
    Role,
    Script,
    Speaker,
    Topic,
    Turn,
)
from interview_audio.choices import ChapterMethod
from interview_audio.errors import InputError, ScriptError

FIXTURES = Path(__file__).parent / "fixtures"
SEED = Path(__file__).resolve().parents[2] / "shared/seed/000_79d8b0fa45fee915.txt"


def load_fixture(name: str) -> tuple[Script, list[Any]]:
    """A fixture interview as a Script (built directly, not parsed) and its expected chapters."""
    data = yaml.safe_load((FIXTURES / f"chapters_{name}.yaml").read_text(encoding="utf-8"))
    roles = {item["name"]: Role(item["role"]) for item in data["speakers"]}
    turns = []
    for item in data["turns"]:
        ((speaker, text),) = item.items()
        paragraphs = tuple(line for line in str(text).split("\n") if line.strip())
        turns.append(Turn(speaker, roles[speaker], paragraphs))
    topics = tuple(Topic(t["title"], t.get("text", "")) for t in data.get("topics", []))
    speakers = tuple(Speaker(name, role) for name, role in roles.items())
    return Script(Meta(data["title"]), speakers, tuple(turns), topics), data["expected"]


def assert_matches(script: Script, found: tuple[Chapter, ...], expected: list[Any]) -> None:
    """Same chapters in the same order, each start within one exchange of the expected one;
    titles exact when the expectation gives them."""
    starts = [span.start for span in exchanges(script)]
    position = {start: index for index, start in enumerate(starts)}
    want = [(item, None) if isinstance(item, int) else (item[0], item[1]) for item in expected]
    shown = [(c.start_turn, c.title) for c in found]
    assert len(found) == len(want), f"found {shown}, expected {want}"
    for chapter, (turn, title) in zip(found, want, strict=True):
        assert chapter.start_turn in position, f"{chapter} does not start an exchange"
        assert abs(position[chapter.start_turn] - position[turn]) <= 1, f"{shown} vs {want}"
        if title is not None:
            assert chapter.title == title, f"{shown} vs {want}"


def assert_well_formed(script: Script, found: tuple[Chapter, ...]) -> None:
    assert found and found[0].start_turn == 0
    starts = [chapter.start_turn for chapter in found]
    assert starts == sorted(set(starts))
    assert all(0 <= start < len(script.turns) for start in starts)
    assert all(chapter.title.strip() for chapter in found)


def tiny_script(**changes: Any) -> Script:
    turns = (
        Turn("主持人", Role.HOST, ("欢迎来到节目，今天我们聊聊城市里的咖啡馆。",)),
        Turn("嘉宾", Role.GUEST, ("谢谢邀请，我开咖啡馆已经十年了。",)),
        Turn("主持人", Role.HOST, ("咖啡豆是从哪里来的？",)),
        Turn("嘉宾", Role.GUEST, ("主要来自云南普洱，我们每年都去产区。",)),
    )
    speakers = (Speaker("主持人", Role.HOST), Speaker("嘉宾", Role.GUEST))
    script = Script(Meta("城市咖啡馆十年"), speakers, turns)
    return replace(script, **changes)


# --- API --------------------------------------------------------------------------------------


def test_unknown_method_names_the_valid_choices() -> None:
    with pytest.raises(InputError) as info:
        find_chapters(tiny_script(), "topics")
    for method in ChapterMethod:
        assert method in str(info.value)


def test_script_without_turns_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no dialogue turns"):
        find_chapters(tiny_script(turns=()))


def test_none_is_one_chapter_titled_with_the_script_title() -> None:
    script, _ = load_fixture("reordered")
    assert find_chapters(script, "none") == (Chapter(script.title, 0),)


def test_user_chapters_come_back_as_written() -> None:
    chapters = (Chapter("开场", 0), Chapter("咖啡豆", 2))
    script = tiny_script(
        chapters=chapters,
        headings=(Heading("别的标题", 1),),
        topics=(Topic("咖啡豆的产地", "云南普洱"),),
    )
    assert find_chapters(script) == chapters


def test_user_chapters_not_starting_at_zero_take_the_opening_turns() -> None:
    script = tiny_script(chapters=(Chapter("开场", 1), Chapter("咖啡豆", 2)))
    assert find_chapters(script) == (Chapter("开场", 0), Chapter("咖啡豆", 2))


@pytest.mark.parametrize(
    "chapters",
    [
        (Chapter("开场", 0), Chapter("越界", 4)),
        (Chapter("开场", 0), Chapter("倒序", 3), Chapter("再倒", 2)),
        (Chapter("开场", 0), Chapter(" ", 2)),
    ],
)
def test_broken_user_chapters_are_a_script_error(chapters: tuple[Chapter, ...]) -> None:
    with pytest.raises(ScriptError, match="turn"):
        find_chapters(tiny_script(chapters=chapters))


@pytest.mark.parametrize("method", ["headings", "summary"])
def test_asking_for_missing_material_is_an_input_error(method: str) -> None:
    with pytest.raises(InputError, match="another chapter method"):
        find_chapters(tiny_script(), method)


# --- exchanges ------------------------------------------------------------------------------


def test_exchanges_cover_every_turn_and_open_at_host_questions() -> None:
    script, _ = load_fixture("reordered")
    spans = exchanges(script)
    assert [index for span in spans for index in span] == list(range(len(script.turns)))
    assert all(script.turns[span.start].role is Role.HOST for span in spans)
    starts = [span.start for span in spans]
    assert 6 not in starts  # "真厉害。" is an interjection, not a new question
    assert 10 in starts  # "所以主要原因是全球变暖？" is short but asks something new
    assert spans[-1] == range(24, 28)  # the closing thanks joins the last question


def test_a_co_host_adding_to_the_question_stays_in_the_exchange() -> None:
    turns = (
        Turn("甲", Role.HOST, ("我们先聊聊你的新书，写了多久？",)),
        Turn("乙", Role.HOST, ("而且我很好奇，书名是怎么来的？",)),
        Turn("丙", Role.GUEST, ("写了三年，书名是编辑想的。",)),
        Turn("甲", Role.HOST, ("下一本书打算写什么题材？",)),
        Turn("丙", Role.GUEST, ("想写海边小镇的故事。",)),
    )
    speakers = (Speaker("甲", Role.HOST), Speaker("乙", Role.HOST), Speaker("丙", Role.GUEST))
    assert exchanges(Script(Meta("新书"), speakers, turns)) == [range(0, 3), range(3, 5)]


def test_without_a_host_the_first_speaker_asks() -> None:
    script = tiny_script()
    guests = tuple(replace(turn, role=Role.GUEST) for turn in script.turns)
    assert exchanges(replace(script, turns=guests)) == [range(0, 2), range(2, 4)]


# --- headings -------------------------------------------------------------------------------


def headed(headings: tuple[Heading, ...]) -> Script:
    """A fixture interview with headings, as the parser gives them for each heading style."""
    script, _ = load_fixture("reordered")
    return replace(script, headings=headings)


def test_markdown_headings_make_one_chapter_each() -> None:
    script = headed((Heading("深海里的新工具", 0), Heading("珊瑚为什么变白", 8)))
    assert find_chapters(script) == (Chapter("深海里的新工具", 0), Chapter("珊瑚为什么变白", 8))


def test_opening_turns_before_the_first_heading_join_the_first_chapter() -> None:
    script = headed((Heading("深海里的新工具", 2), Heading("珊瑚为什么变白", 8)))
    assert [c.start_turn for c in find_chapters(script, "headings")] == [0, 8]


def test_numbered_and_split_headings_make_one_clean_title() -> None:
    script = headed(
        (
            Heading("**01**", 0),  # numbered bold line, then the title line
            Heading("深海里的新工具", 0),
            Heading("二、珊瑚为什么", 8),  # a title split over two heading lines
            Heading("会变白？", 8),
            Heading("03 经费从哪里来：", 14),
            Heading("Part 4 Who pays", 20),
            Heading("说在最后", 28),  # after the last turn: nothing to introduce
        )
    )
    assert find_chapters(script) == (
        Chapter("深海里的新工具", 0),
        Chapter("珊瑚为什么会变白？", 8),
        Chapter("经费从哪里来", 14),
        Chapter("Who pays", 20),
    )


def test_headings_win_over_the_summary_in_auto() -> None:
    script = headed((Heading("上半场", 0), Heading("下半场", 14)))
    assert [c.title for c in find_chapters(script)] == ["上半场", "下半场"]
    assert find_chapters(script, "summary")[0].title == "深海探测技术的进步"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("珊瑚白化的成因:", "珊瑚白化的成因"),
        ("**ChatGPT的成功并非完全预料之中：**", "ChatGPT的成功并非完全预料之中"),
        ("1. 深海探测", "深海探测"),
        ("（三）海洋保护区。", "海洋保护区"),
        ("2025年展望", "2025年展望"),
        ("3D打印的未来", "3D打印的未来"),
    ],
)
def test_clean_title(raw: str, clean: str) -> None:
    assert clean_title(raw) == clean


# --- summary topics -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["reordered", "recurring"])
def test_summary_chapters_match_the_hand_segmentation(name: str) -> None:
    script, expected = load_fixture(name)
    found = find_chapters(script)
    assert_well_formed(script, found)
    assert_matches(script, found, expected)
    assert all(script.turns[c.start_turn].role is Role.HOST for c in found)


def test_topics_discussed_out_of_order_keep_the_conversation_order() -> None:
    script, _ = load_fixture("reordered")
    titles = [c.title for c in find_chapters(script, "summary")]
    listed = [clean_title(topic.title) for topic in script.topics]
    assert sorted(titles) == sorted(listed)
    assert titles != listed


def test_a_topic_the_talk_comes_back_to_gets_a_second_chapter_titled_from_its_own_words() -> None:
    script, _ = load_fixture("recurring")
    found = find_chapters(script, "summary")
    titles = [c.title for c in found]
    assert len(set(titles)) == len(titles)
    design = "新作《雾港》的玩法设计"
    assert titles.count(design) == 1
    second = found[3]
    assert second.start_turn == 16
    # The title is a clause of the question that opens the second stretch.
    assert second.title in script.turns[16].text, second.title
    assert 4 <= len(second.title) <= 16


def test_the_closing_thanks_gets_no_chapter() -> None:
    script, _ = load_fixture("recurring")
    found = find_chapters(script)
    assert found[-1].start_turn < len(script.turns) - 2
    assert "谢谢" in script.turns[-2].text


def test_a_summary_of_another_interview_is_ignored_in_auto() -> None:
    tea, expected = load_fixture("shift")
    ocean, _ = load_fixture("reordered")
    script = replace(tea, topics=ocean.topics)
    found = find_chapters(script)
    assert not {c.title for c in found} & {t.title for t in ocean.topics}
    assert_matches(script, found, expected)
    # Asked for explicitly, the summary is used all the same.
    assert {c.title for c in find_chapters(script, "summary")} <= {t.title for t in ocean.topics}


def test_shift_ignores_the_summary() -> None:
    script, _ = load_fixture("reordered")
    titles = {c.title for c in find_chapters(script, "shift")}
    assert not titles & {topic.title for topic in script.topics}


# --- vocabulary shift -----------------------------------------------------------------------


def test_shift_finds_the_changes_of_subject() -> None:
    script, expected = load_fixture("shift")
    found = find_chapters(script)
    assert_well_formed(script, found)
    assert_matches(script, found, expected)


def test_shift_titles_are_short_clauses_of_the_opening_question() -> None:
    script, _ = load_fixture("shift")
    for chapter in find_chapters(script, "shift"):
        assert 4 <= len(chapter.title) <= 16
        assert chapter.title in script.turns[chapter.start_turn].text


def test_shift_boundaries_on_two_clear_blocks() -> None:
    tea = {"茶园": 1.0, "茶树": 1.0, "采茶": 1.0}
    sale = {"直播": 1.0, "快递": 1.0, "订单": 1.0}
    vectors = [tea, tea, tea, sale, sale, sale]
    assert shift_boundaries(vectors, window=2, min_length=2) == [3]
    assert shift_boundaries(vectors[:3], window=2, min_length=2) == []


def test_a_short_interview_is_one_chapter() -> None:
    script = tiny_script()
    assert [c.start_turn for c in find_chapters(script)] == [0]


# --- the segmentation dynamic program -------------------------------------------------------


def objective(
    labels: tuple[int, ...], rewards: list[list[float]], penalty: float, bonus: float
) -> float:
    total = sum(rewards[i][label] for i, label in enumerate(labels))
    total += bonus if labels[0] == 0 else 0.0
    for before, after in itertools.pairwise(labels):
        if after != before:
            total += -penalty + (bonus if after == before + 1 else 0.0)
    return total


def runs(labels: tuple[int, ...] | list[int]) -> list[int]:
    return [len(list(group)) for _, group in itertools.groupby(labels)]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.integers(1, 3).flatmap(
            lambda k: st.lists(
                st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k),
                min_size=n,
                max_size=n,
            )
        )
    ),
    st.floats(0, 2),
    st.floats(0, 1),
    st.integers(1, 3),
)
def test_segment_finds_the_best_labelling(
    rewards: list[list[float]], penalty: float, bonus: float, min_length: int
) -> None:
    count, labels = len(rewards), len(rewards[0])
    shortest = min(min_length, count)
    allowed = [
        candidate
        for candidate in itertools.product(range(labels), repeat=count)
        if min(runs(candidate)) >= shortest
    ]
    found = segment(rewards, penalty, bonus, min_length)
    assert min(runs(found)) >= shortest
    best = max(objective(candidate, rewards, penalty, bonus) for candidate in allowed)
    assert objective(tuple(found), rewards, penalty, bonus) == pytest.approx(best)


def test_segment_lets_a_label_come_back() -> None:
    rewards = [[2.0, 0.0]] * 3 + [[0.0, 2.0]] * 3 + [[2.0, 0.0]] * 3
    assert segment(rewards, switch_penalty=1.0) == [0] * 3 + [1] * 3 + [0] * 3
    assert segment(rewards, switch_penalty=7.0) == [0] * 9


def test_segment_keeps_runs_at_least_min_length() -> None:
    rewards = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]
    assert segment(rewards, 0.1) == [0, 1, 0, 0]
    assert min(runs(segment(rewards, 0.1, min_length=2))) >= 2


# --- the seed -------------------------------------------------------------------------------


def test_seed_chapters_match_the_hand_segmentation() -> None:
    if not SEED.exists():
        pytest.skip(f"the seed article is not at {SEED} (it lives beside the repository)")
    parse = pytest.importorskip(
        "interview_audio.article.parse",
        reason="the article parser (interview_audio.article.parse) is missing",
    )
    script = parse.read_article(SEED)
    data = yaml.safe_load((FIXTURES / "seed_chapters.yaml").read_text(encoding="utf-8"))
    assert len(script.turns) == data["turns"]
    expected = [[item["start_turn"], item["title"]] for item in data["chapters"]]
    found = find_chapters(script)
    assert_well_formed(script, found)
    assert_matches(script, found, expected)
    assert all(script.turns[c.start_turn].role is Role.HOST for c in found)
    titles = [c.title for c in found]
    assert "与微软的合作关系及算力获取" in titles and "对AI安全性的回应和担忧" in titles
    assert len(set(titles)) == len(titles), titles
    for number in (4, 10):  # the stretches whose summary topic came up before
        assert found[number].title in script.turns[found[number].start_turn].text
