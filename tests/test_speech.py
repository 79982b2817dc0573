"""Text for speech: number readings, lexicon, symbol cleanup and sentence splitting."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from interview_audio import words
from interview_audio.errors import EngineUnavailable, InterviewAudioError
from interview_audio.synthesis.reading import apply_lexicon, to_speech
from interview_audio.synthesis.sentences import split_sentences

SEED = Path(__file__).resolve().parents[2] / "shared/seed/000_79d8b0fa45fee915.txt"
ASCII_DIGIT = re.compile(r"[0-9]")


def _no_space(text: str) -> str:
    return "".join(char for char in text if not char.isspace())


# ---------------------------------------------------------------- to_speech, one row per rule

READINGS = [
    # stage directions are not said; other brackets are
    ("我这个人做事从来不看难度（笑）。", "我这个人做事从来不看难度。"),
    ("（想了很久）之前上学的时候", "之前上学的时候"),
    ("说完了(全场掌声)谢谢", "说完了谢谢"),
    ("大模型（LLM）和笑话（笑点）", "大模型（LLM）和笑话（笑点）"),
    # seed phrases from the interview
    ("公司现在价值约1570亿美元", "公司现在价值约一千五百七十亿美元"),
    ("他预计在2025年将出现", "他预计在二零二五年将出现"),
    ("你的工资是7.6万美元", "你的工资是七点六万美元"),
    ("进行12天的OpenAI发布", "进行十二天的OpenAI发布"),
    ("规模扩大10倍", "规模扩大十倍"),
    ("超过3亿活跃用户", "超过三亿活跃用户"),
    ("我们在2022年8月完成了GPT-4", "我们在二零二二年八月完成了GPT四"),
    ("大约有130万美国开发者", "大约有一百三十万美国开发者"),
    ("直到GPT-4发布", "直到GPT四发布"),
    ("发布GPT-3和API时", "发布GPT三和API时"),
    ("带来1000倍的收益", "带来一千倍的收益"),
    # integers and Chinese units
    ("超过10亿条消息", "超过十亿条消息"),
    ("1,000,000人", "一百万人"),
    ("共110人", "共一百一十人"),
    ("10010", "一万零一十"),
    ("100010", "十万零一十"),
    ("100000000", "一亿"),
    ("1000000000000", "一万亿"),
    ("1005", "一千零五"),
    ("2000人", "两千人"),
    ("2个人", "两个人"),
    ("2万", "两万"),
    ("22万", "二十二万"),
    ("2月", "二月"),
    ("2年级", "二年级"),
    ("007", "零零七"),
    ("12345678901234567890", "一二三四五六七八九零一二三四五六七八九零"),
    # years and dates
    ("2016年的情况", "二零一六年的情况"),
    ("2000年代", "二零零零年代"),
    ("2024年12月04日", "二零二四年十二月四日"),
    ("2024-12-04", "二零二四年十二月四日"),
    ("2024/12/04", "二零二四年十二月四日"),
    ("2023-2025年", "二零二三到二零二五年"),
    ("发布时间: 2024-12-06 07:04", "发布时间: 二零二四年十二月六日 七点零四分"),
    # percent
    ("增长20%", "增长百分之二十"),
    ("3.5%", "百分之三点五"),
    ("10%-20%", "百分之十到百分之二十"),
    ("10-20%", "百分之十到百分之二十"),
    ("5‰", "千分之五"),
    ("-5%", "负百分之五"),
    # money
    ("$100", "一百美元"),
    ("$100万", "一百万美元"),
    ("$7.6B", "七十六亿美元"),
    ("$1.5M", "一百五十万美元"),
    ("$5k", "五千美元"),
    ("$1-2B", "十亿到二十亿美元"),
    ("$100美元", "一百美元"),
    ("US$2", "两美元"),
    ("¥50", "五十元"),
    ("￥50元", "五十元"),
    ("€3", "三欧元"),
    # decimals, ordinals, times, ranges, ratios
    ("0.5", "零点五"),
    ("第3章", "第三章"),
    ("第2个", "第二个"),
    ("10:30开始", "十点三十分开始"),
    ("2:30", "两点三十分"),
    ("10:00", "十点"),
    ("10：30", "十点三十分"),
    ("3-5天", "三到五天"),
    ("3~5天", "三到五天"),
    ("1.5—2倍", "一点五到两倍"),
    ("16:9", "十六比九"),
    ("1920x1080", "一千九百二十乘一千零八十"),
    ("价格~5元", "价格约五元"),
    # units
    ("5km", "五公里"),
    ("5 km", "五公里"),
    ("60km/h", "六十公里每小时"),
    ("3kg", "三千克"),
    ("7nm", "七纳米"),
    ("-5℃", "负五摄氏度"),
    ("30°C", "三十摄氏度"),
    ("16GB内存", "十六GB内存"),
    ("3.5GHz", "三点五GHz"),
    ("10x工程师", "十倍工程师"),
    # model names, versions and chip codes: digits glued to letters are read one by one
    ("GPT-4o", "GPT四o"),
    ("o1模型", "o一模型"),
    ("GPT-3.5", "GPT三点五"),
    ("Llama 3.1", "Llama 三点一"),
    ("A100芯片", "A一零零芯片"),
    ("H100", "H一零零"),
    ("iOS 17.1.2", "iOS 十七点一点二"),
    ("192.168.1.1", "一九二点一六八点一点一"),
    ("138-1234-5678", "一三八 一二三四 五六七八"),
    ("010-12345678", "零一零 一二三四五六七八"),
    # negative numbers only after start, space or punctuation
    ("-5度", "负五度"),
    ("气温 -5度", "气温 负五度"),
    ("（-5）", "（负五）"),
    # acronyms and mixed words stay
    ("AGI、API、GPU、CEO和NYT", "AGI、API、GPU、CEO和NYT"),
    ("OpenAI的ChatGPT", "OpenAI的ChatGPT"),
    # symbols and residue
    ("R&D", "R和D"),
    ("男/女", "男或女"),
    ("**重点**", "重点"),
    ("## 标题", "标题"),
    ("`code`", "code"),
    ("snake_case", "snake case"),
    ("👇关注公众号后设🌟标", "关注公众号后设标"),
    ("好的～", "好的"),
    ("a   b", "a b"),
    # no digits: untouched
    ("我认为，代理（Agents）是每个人都在谈论的。", "我认为，代理（Agents）是每个人都在谈论的。"),
]


@pytest.mark.parametrize(("text", "expected"), READINGS)
def test_to_speech_reads(text: str, expected: str) -> None:
    assert to_speech(text) == expected


def test_to_speech_applies_lexicon_before_numbers() -> None:
    lexicon = [("GPT-4o", "GPT four o"), ("重庆", "chóng qìng"), ("xAI", "x A I")]
    assert to_speech("GPT-4o和GPT-4在重庆", lexicon) == "GPT four o和GPT四在chóng qìng"
    assert to_speech("马斯克的xAI有10万块GPU", lexicon) == "马斯克的x A I有十万块GPU"


# ---------------------------------------------------------------- apply_lexicon

LEXICON_CASES = [
    ("OpenAI和AI", [("AI", "A I")], "OpenAI和A I"),
    ("AI新知", [("AI", "A I")], "A I新知"),
    ("xAI", [("AI", "A I")], "xAI"),
    ("xAI和AI", [("AI", "A I"), ("xAI", "x A I")], "x A I和A I"),
    ("ai和AI", [("AI", "A I")], "ai和A I"),
    ("重庆市", [("重庆", "chóng qìng")], "chóng qìng市"),
    ("山姆·奥特曼", [("奥特曼", "Altman"), ("山姆·奥特曼", "Sam Altman")], "Sam Altman"),
    ("GPT-4", [("GPT", "G P T")], "G P T-4"),
    ("AI", [("AI", "first"), ("AI", "second")], "second"),
    ("AI", [("", "nothing")], "AI"),
    ("AI", [], "AI"),
]


@pytest.mark.parametrize(("text", "lexicon", "expected"), LEXICON_CASES)
def test_apply_lexicon(text: str, lexicon: list[tuple[str, str]], expected: str) -> None:
    assert apply_lexicon(text, lexicon) == expected


def test_apply_lexicon_does_not_rewrite_its_own_output() -> None:
    assert apply_lexicon("甲乙", [("甲", "乙"), ("乙", "丙")]) == "乙丙"


# ---------------------------------------------------------------- split_sentences

SPLITS = [
    (
        "你好。我很好！真的吗？是的；好……",
        120,
        ["你好。", "我很好！", "真的吗？", "是的；", "好……"],
    ),
    ("“走吧！”他说。「好。」（对！）", 120, ["“走吧！”", "他说。", "「好。」", "（对！）"]),
    ("Hello! How are you? Fine; ok", 120, ["Hello!", "How are you?", "Fine;", "ok"]),
    ("第一行\n\n第二行", 120, ["第一行", "第二行"]),
    ("   。  ", 120, ["。"]),
    ("", 120, []),
    # soft punctuation first, even when a space or a word boundary is nearer the limit
    ("我们认为，这是 一个很好的问题", 10, ["我们认为，", "这是 一个很好的问题"]),
    # then spaces, never inside a Latin word
    (
        "the quick brown fox jumps over the lazy dog",
        12,
        ["the quick", "brown fox", "jumps over", "the lazy dog"],
    ),
    # a token longer than the limit stays whole
    ("supercalifragilistic word", 10, ["supercalifragilistic", "word"]),
    # then jieba's word boundaries
    ("人工智能发展公司技术非常重要", 6, ["人工智能发展", "公司技术非常", "重要"]),
    # numbers in any writing stay whole
    ("价值约一千五百七十亿美元我应该说", 10, ["价值约", "一千五百七十亿美元我", "应该说"]),
    ("价值约GPT-4和7.6万美元我应该说", 8, ["价值约GPT-4", "和7.6万美元我", "应该说"]),
]


@pytest.mark.parametrize(("text", "max_chars", "expected"), SPLITS)
def test_split_sentences(text: str, max_chars: int, expected: list[str]) -> None:
    assert split_sentences(text, max_chars) == expected


def test_split_sentences_rejects_a_useless_limit() -> None:
    with pytest.raises(InterviewAudioError, match="max_chars"):
        split_sentences("你好", 0)


def test_missing_jieba_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    words.load_jieba.cache_clear()
    monkeypatch.setitem(sys.modules, "jieba", None)
    try:
        with pytest.raises(EngineUnavailable, match="pip install jieba"):
            split_sentences("人工智能发展公司技术非常重要", 6)
    finally:
        words.load_jieba.cache_clear()


def test_jieba_is_imported_lazily_and_quietly() -> None:
    program = (
        "import sys\n"
        "from interview_audio.synthesis.reading import to_speech\n"
        "from interview_audio.synthesis.sentences import split_sentences\n"
        "to_speech('GPT-4在2025年')\n"
        "assert 'jieba' not in sys.modules, 'jieba imported before it was needed'\n"
        "pieces = split_sentences('奥特曼认为通用人工智能可能比大多数人预期的更早到来', 8)\n"
        "assert 'jieba' in sys.modules and len(pieces) > 1, pieces\n"
    )
    src = Path(__file__).resolve().parents[1] / "src"
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


# ---------------------------------------------------------------- properties

NUMBERISH = st.text(
    alphabet=st.sampled_from(
        list("0123456789.,:：-−~～%‰$¥￥€£/&*_#xX年月日号天个第万亿倍点分 \nGPTAHokmgBM°℃（，。")
    ),
    max_size=40,
)


@given(st.one_of(st.text(), NUMBERISH))
def test_to_speech_never_raises_and_reads_every_digit(text: str) -> None:
    result = to_speech(text)
    assert ASCII_DIGIT.search(result) is None


@given(st.text(alphabet=st.sampled_from(list("GPTAHoxk0123456789.-年万个天模型")), max_size=30))
def test_a_hyphen_after_a_letter_or_digit_is_never_negative(text: str) -> None:
    assume(not text.startswith("-"))
    assert "负" not in to_speech(text)


PLAIN = st.text(
    alphabet=st.sampled_from(
        list("我们认为人工智能的发展OpenAIGPTapi，。！？、：；“”（）《》-.,!?:'\"()·")
    ),
    max_size=60,
)


@given(PLAIN)
def test_text_without_digits_or_symbols_is_left_alone(text: str) -> None:
    assert to_speech(text) == text


SPLITTABLE = st.one_of(
    st.text(),
    st.text(
        alphabet=st.sampled_from(
            list("我们认为人工智能发展OpenAIGPT-4.7万，、：,:。！？；…!?; \n”」")
        ),
        max_size=200,
    ),
)


@given(SPLITTABLE, st.integers(min_value=1, max_value=40))
def test_split_sentences_loses_nothing(text: str, max_chars: int) -> None:
    pieces = split_sentences(text, max_chars)
    assert _no_space("".join(pieces)) == _no_space(text)
    assert all(piece and piece == piece.strip() for piece in pieces)


@given(SPLITTABLE, st.integers(min_value=1, max_value=40))
def test_split_sentences_exceeds_the_limit_only_for_one_unbreakable_token(
    text: str, max_chars: int
) -> None:
    for piece in split_sentences(text, max_chars):
        if len(piece) > max_chars:
            head = piece[: max_chars + 1]
            assert not any(char.isspace() for char in head), piece
            assert not any(char in "，、：" for char in head[:max_chars]), piece


@given(
    st.text(
        alphabet=st.sampled_from(list("我们认为人工智能OpenAIGPT-4.7万，。！ab12")),
        min_size=1,
        max_size=120,
    ).filter(lambda text: not any(char.isspace() for char in text)),
    st.integers(min_value=1, max_value=30),
)
def test_split_sentences_never_cuts_a_latin_word_or_number(text: str, max_chars: int) -> None:
    pieces = split_sentences(text, max_chars)
    for left, right in zip(pieces, pieces[1:], strict=False):
        assert not (left[-1].isascii() and left[-1].isalnum() and right[0].isascii()), (
            left,
            right,
        )


WORDS = ["我们", "认为", "人工智能", "发展", "公司", "技术", "非常", "重要", "模型", "开发者"]


@settings(max_examples=50)
@given(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=40),
    st.sampled_from(["", " ", "，"]),
    st.integers(min_value=8, max_value=40),
)
def test_split_sentences_respects_the_limit_when_words_are_short(
    words: list[str], separator: str, max_chars: int
) -> None:
    pieces = split_sentences(separator.join(words), max_chars)
    assert all(len(piece) <= max_chars for piece in pieces), pieces


# ---------------------------------------------------------------- the seed interview


def test_seed_interview_reads_cleanly() -> None:
    if not SEED.is_file():
        pytest.skip(f"seed article not found at {SEED}")
    lines = [
        line
        for line in SEED.read_text(encoding="utf-8").splitlines()
        if line.strip() and "://" not in line
    ]
    spoken = [to_speech(line) for line in lines]
    assert not [text for text in spoken if ASCII_DIGIT.search(text)]
    # the interview has no negative numbers: every 负 must come from the text itself (抱负)
    assert [text.count("负") for text in spoken] == [line.count("负") for line in lines]
    joined = "\n".join(spoken)
    for phrase in ("一千五百七十亿美元", "GPT三和API", "二零二二年八月", "七点六万美元"):
        assert phrase in joined
    for text in spoken:
        assert all(len(piece) <= 120 for piece in split_sentences(text))
