"""Captions and chapter JSON from a timeline: readable cues, right times, nothing lost."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interview_audio.article.script import Role
from interview_audio.audio.assemble import ChapterSpan, Placement, Timeline
from interview_audio.files import TEMP_MARKER
from interview_audio.publish.captions import (
    MAX_CHARS,
    MAX_SECONDS,
    cues,
    transcript,
    write_chapters_json,
    write_srt,
    write_vtt,
)
from interview_audio.synthesis.engines.base import SentenceTiming
from interview_audio.synthesis.engines.espeak.voice import EspeakVoice
from interview_audio.synthesis.queue import Line
from interview_audio.synthesis.reading import to_speech
from interview_audio.synthesis.sentences import split_sentences

LONG = (
    "这是一个很难回答的问题，我们内部有很多讨论，但我个人认为，可能比大多数人想象的要快，"
    "而且OpenAI的GPT-5模型已经在2025年发布了，接下来是一段没有任何逗号一直写下去直到远远超过"
    "二十八个字的限制为止的非常长的句子。"
)


def placement(
    index: int,
    speaker: str,
    turn: int | None,
    start: float,
    end: float,
    sentences: list[tuple[str, float, float]],
    text: str = "",
) -> Placement:
    role = Role.NARRATOR if turn is None else Role.GUEST
    line = Line(
        index,
        speaker,
        role,
        EspeakVoice(),
        text or "".join(s for s, _, _ in sentences),
        "",
        turn,
        0,
        0,
    )
    timed = tuple(SentenceTiming(s, a, b) for s, a, b in sentences)
    return Placement(line, start, end, timed, 0.0)


def timeline() -> Timeline:
    placements = (
        placement(0, "旁白", None, 0.0, 3.0, [("欢迎收听本期节目。", 0.02, 2.98)]),
        placement(1, "主持人", 0, 4.0, 6.0, [("AGI什么时候到来？", 4.02, 5.98)]),
        placement(
            2, "山姆·奥特曼", 1, 7.0, 27.0, [("谢谢<邀请> & 欢迎。", 7.02, 9.0), (LONG, 9.3, 26.98)]
        ),
        placement(3, "山姆·奥特曼", 1, 27.4, 29.0, [], text="这是第二段。"),
        placement(4, "主持人", 2, 30.0, 31.5, [("好的。", 30.02, 31.48)]),
    )
    chapters = (ChapterSpan("开场", 0.0, 3.5), ChapterSpan("AGI", 3.5, 31.5))
    return Timeline(placements, chapters, 31.5)


def parse_vtt(text: str) -> list[tuple[float, float, str, str]]:
    assert text.startswith("WEBVTT\n\n")
    found = []
    for block in text.strip().split("\n\n")[1:]:
        times, body = block.split("\n", 1)
        start, end = (_seconds(t) for t in times.split(" --> "))
        match = re.fullmatch(r"<v ([^>]+)>(.*)</v>", body)
        assert match, body
        found.append((start, end, match.group(1), match.group(2)))
    return found


def _seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_vtt_cues_are_readable_voiced_and_in_order(tmp_path: Path) -> None:
    write_vtt(timeline(), tmp_path / "episode.vtt")
    found = parse_vtt((tmp_path / "episode.vtt").read_text(encoding="utf-8"))
    for (start, end, _, text), after in zip(found, [*found[1:], None], strict=True):
        assert start < end <= start + MAX_SECONDS + 1e-9
        assert len(unescape(text)) <= MAX_CHARS
        if after is not None:
            assert end <= after[0]
    speakers = [speaker for _, _, speaker, _ in found]
    assert speakers[:2] == ["旁白", "主持人"]
    assert speakers[-1] == "主持人"
    assert set(speakers) == {"旁白", "主持人", "山姆·奥特曼"}


def test_no_text_is_lost_and_times_stay_in_the_sentence(tmp_path: Path) -> None:
    write_vtt(timeline(), tmp_path / "episode.vtt")
    found = parse_vtt((tmp_path / "episode.vtt").read_text(encoding="utf-8"))
    long_cues = [(a, b, unescape(t)) for a, b, _, t in found if a >= 9.3 and b <= 26.98 + 1e-3]
    assert "".join(t for _, _, t in long_cues) == LONG
    assert len(long_cues) >= 4
    assert long_cues[0][0] == pytest.approx(9.3)
    assert long_cues[-1][1] == pytest.approx(26.98)
    # Split at commas where there are commas.
    assert long_cues[0][2].endswith("，")
    # A line without timings becomes one cue over its placement.
    assert (27.4, 29.0, "这是第二段。") in [(a, b, unescape(t)) for a, b, _, t in found]


def test_markup_characters_are_escaped(tmp_path: Path) -> None:
    write_vtt(timeline(), tmp_path / "episode.vtt")
    text = (tmp_path / "episode.vtt").read_text(encoding="utf-8")
    assert "谢谢&lt;邀请&gt; &amp; 欢迎。" in text
    assert "<邀请>" not in text


def test_srt_names_the_speaker_once_per_turn(tmp_path: Path) -> None:
    write_srt(timeline(), tmp_path / "episode.srt")
    blocks = (tmp_path / "episode.srt").read_text(encoding="utf-8").strip().split("\n\n")
    numbers = [int(block.split("\n")[0]) for block in blocks]
    assert numbers == list(range(1, len(blocks) + 1))
    assert re.fullmatch(r"\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}", blocks[0].split("\n")[1])
    texts = [block.split("\n", 2)[2] for block in blocks]
    prefixed = [text.split("：", 1)[0] for text in texts if re.match(r"^[^：]{1,8}：", text)]
    assert prefixed == ["旁白", "主持人", "山姆·奥特曼", "主持人"]
    # The second paragraph of the same turn does not repeat the name.
    assert "这是第二段。" in texts


def test_chapters_json_is_podcasting_2_0(tmp_path: Path) -> None:
    write_chapters_json(timeline(), tmp_path / "chapters.json", "对话山姆·奥特曼")
    document = json.loads((tmp_path / "chapters.json").read_text(encoding="utf-8"))
    assert document["version"] == "1.2.0"
    assert document["title"] == "对话山姆·奥特曼"
    assert document["chapters"] == [
        {"startTime": 0.0, "endTime": 3.5, "title": "开场"},
        {"startTime": 3.5, "endTime": 31.5, "title": "AGI"},
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chapters.json"]
    assert not any(TEMP_MARKER in p.name for p in tmp_path.iterdir())


@given(
    st.lists(
        st.text(alphabet="人工智能的未来我们认为AGI模型2025", min_size=1, max_size=40),
        min_size=1,
        max_size=8,
    ),
    st.floats(min_value=0.5, max_value=60.0),
)
def test_any_sentence_splits_into_short_cues_that_keep_every_character(
    clauses: list[str], seconds: float
) -> None:
    sentence = "，".join(clauses) + "。"
    line = placement(0, "主持人", 0, 10.0, 10.0 + seconds, [(sentence, 10.0, 10.0 + seconds)])
    found = cues(Timeline((line,), (), 10.0 + seconds))
    assert "".join(cue.text for cue in found).replace(" ", "") == sentence
    assert found[0].start == 10.0
    assert found[-1].end == pytest.approx(10.0 + seconds, abs=0.001)
    for cue, after in zip(found, found[1:], strict=False):
        assert cue.end == after.start
    for cue in found:
        assert len(cue.text) <= MAX_CHARS
        assert cue.end - cue.start <= MAX_SECONDS + 1e-6 or len(cue.text) <= 2


# --- written text on screen, spoken timings ------------------------------------------------------

WRITTEN = "我们在2025年3月18日发布，首月卖出30万份。GPT-4也来了！谢谢。"


def spoken_line(text: str, timings: list[tuple[float, float]], lexicon: tuple = ()) -> Placement:
    """A line as render builds it: written text, speech text, and engine timings for the speech
    sentences (cut by the speech step's own splitter)."""
    speech = to_speech(text, lexicon)
    pieces = split_sentences(speech)
    assert len(pieces) == len(timings)
    line = Line(0, "陈默", Role.GUEST, EspeakVoice(), text, speech, 0, 0, 0)
    timed = tuple(SentenceTiming(p, a, b) for p, (a, b) in zip(pieces, timings, strict=True))
    return Placement(line, timings[0][0] - 0.02, timings[-1][1] + 0.02, timed, 0.0)


def test_captions_show_the_written_text_with_the_spoken_sentence_times() -> None:
    line = spoken_line(WRITTEN, [(1.0, 6.0), (6.5, 8.0), (8.4, 9.0)])
    assert "二零二五年" in line.line.speech  # the engine heard the speech form
    found = cues(Timeline((line,), (), 10.0))
    text = "".join(cue.text for cue in found)
    assert text == WRITTEN
    assert "二零二五" not in text and "三十万" not in text
    by_sentence = {
        sentence: [c for c in found if c.text in sentence]
        for sentence in ("我们在2025年3月18日发布，首月卖出30万份。", "GPT-4也来了！", "谢谢。")
    }
    first = by_sentence["我们在2025年3月18日发布，首月卖出30万份。"]
    assert first[0].start == 1.0 and first[-1].end == 6.0
    assert [(c.start, c.end) for c in by_sentence["GPT-4也来了！"]] == [(6.5, 8.0)]
    assert [(c.start, c.end) for c in by_sentence["谢谢。"]] == [(8.4, 9.0)]


def test_transcript_sentences_are_written_and_timed() -> None:
    line = spoken_line(WRITTEN, [(1.0, 6.0), (6.5, 8.0), (8.4, 9.0)])
    (paragraph,) = transcript(Timeline((line,), (), 10.0))
    assert paragraph.opens_turn and paragraph.speaker == "陈默"
    assert [(s.start, s.end, s.text) for s in paragraph.sentences] == [
        (1.0, 6.0, "我们在2025年3月18日发布，首月卖出30万份。"),
        (6.5, 8.0, "GPT-4也来了！"),
        (8.4, 9.0, "谢谢。"),
    ]


def test_timings_that_cut_or_merge_sentences_are_interpolated() -> None:
    speech = to_speech(WRITTEN)
    first, second, third = split_sentences(speech)
    line = Line(0, "陈默", Role.GUEST, EspeakVoice(), WRITTEN, speech, 0, 0, 0)
    half = len(first) // 2
    # The engine cut the first sentence in two and reported the last two as one (as Edge may).
    timed = (
        SentenceTiming(first[:half], 0.0, 3.0),
        SentenceTiming(first[half:], 3.0, 6.0),
        SentenceTiming(second + third, 6.0, 10.0),
    )
    found = transcript(Timeline((Placement(line, 0.0, 10.0, timed, 0.0),), (), 10.0))
    sentences = found[0].sentences
    assert [s.text for s in sentences] == [
        "我们在2025年3月18日发布，首月卖出30万份。",
        "GPT-4也来了！",
        "谢谢。",
    ]
    assert (sentences[0].start, sentences[0].end) == (0.0, 6.0)
    assert sentences[1].start == 6.0 and sentences[2].end == 10.0
    split = 6.0 + 4.0 * len(second) / len(second + third)
    assert sentences[1].end == pytest.approx(split) and sentences[2].start == pytest.approx(split)


def test_a_lexicon_rewrite_and_dropped_symbols_keep_every_written_character() -> None:
    text = "**AGI**什么时候到来？😀我觉得在2030年前后。"
    lexicon = (("AGI", "通用人工智能"),)
    speech = to_speech(text, lexicon)
    pieces = split_sentences(speech)
    line = Line(0, "主持人", Role.HOST, EspeakVoice(), text, speech, 0, 0, 0)
    timed = tuple(SentenceTiming(p, 2.0 * i, 2.0 * i + 1.5) for i, p in enumerate(pieces))
    (paragraph,) = transcript(Timeline((Placement(line, 0.0, 4.0, timed, 0.0),), (), 4.0))
    assert "".join(s.text for s in paragraph.sentences) == text
    assert [(s.start, s.end) for s in paragraph.sentences] == [(0.0, 1.5), (2.0, 3.5)]


@given(
    st.lists(
        st.sampled_from(
            [
                "我们",
                "在2025年",
                "卖出30万份",
                "GPT-4",
                "增长了20%",
                "约$7.6B",
                "，",
                "。",
                "！",
                "H100",
            ]
        ),
        min_size=1,
        max_size=20,
    )
)
def test_any_line_keeps_its_written_text_in_order_within_its_timings(words: list[str]) -> None:
    text = "".join(words)
    speech = to_speech(text)
    pieces = split_sentences(speech)
    if not pieces:
        return
    line = Line(0, "陈默", Role.GUEST, EspeakVoice(), text, speech, 0, 0, 0)
    timed = tuple(SentenceTiming(p, 1.0 + i, 1.8 + i) for i, p in enumerate(pieces))
    placement_ = Placement(line, 1.0, 1.8 + len(pieces), timed, 0.0)
    (paragraph,) = transcript(Timeline((placement_,), (), 30.0))
    assert "".join(s.text for s in paragraph.sentences) == text.strip()
    for sentence, after in zip(paragraph.sentences, paragraph.sentences[1:], strict=False):
        assert 1.0 <= sentence.start <= sentence.end <= after.start
    found = cues(Timeline((placement_,), (), 30.0))
    assert "".join(c.text for c in found).replace(" ", "") == text.strip().replace(" ", "")
