"""The speakability check finds what a voice should never say, and nothing in clean text."""

from __future__ import annotations

import pytest

from interview_audio.article.script import Meta, Role, Script, Speaker, Turn
from interview_audio.article.speakable import check_script


def script_of(*texts: str, guest: str = "嘉宾") -> Script:
    turns = tuple(
        Turn("主持人" if i % 2 == 0 else guest, Role.HOST if i % 2 == 0 else Role.GUEST, (t,))
        for i, t in enumerate(texts)
    )
    speakers = (Speaker("主持人", Role.HOST), Speaker(guest, Role.GUEST))
    return Script(Meta("标题"), speakers, turns)


@pytest.mark.parametrize(
    ("text", "kind", "found"),
    [
        ("请看 https://mp.weixin.qq.com/s/abc 这里", "a URL", "https://mp.weixin.qq.com/s/abc"),
        ("?imageUrl=https%3A%2F%2Fmmbiz", "a URL query", "?imageUrl=https%3A%2F%2Fmmbiz"),
        ("残留%E4%B8%AD编码", "percent-encoding", "%E4%B8%AD"),
        ("这是**加粗**的", "Markdown", "**"),
        ("![](x.png)", "Markdown", "!["),
        ("图<img src=x>片", "HTML", "<img src=x>"),
        ("AT&amp;T", "HTML", "&amp;"),
        ("{{< shortcode >}}", "template markup", "{{< shortcode >}}"),
        ("中\x00文", "a control character", "\x00"),
        ("令牌 eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9xyz 结束", "a long run of Latin letters", "eyJ"),
        # Addresses without a scheme, as news archives and WeChat footers print them.
        ("月費訂戶網址：hkcnews.com/aboutus/#subscribe", "a URL", "hkcnews.com/aboutus/#subscribe"),
        ("并在nopi.com上注册电子邮件", "a URL", "nopi.com"),
        ("商业合作：bd@vistopia.com.cn", "an e-mail address", "bd@vistopia.com.cn"),
        ("欢迎大家在Twitter上关注@NoPriorsPod，", "an @handle", "@NoPriorsPod"),
        ("专栏：.../ingest/column_article.md", "a file path", ".../ingest/column_article.md"),
    ],
)
def test_each_kind_is_found_with_turn_and_text(text: str, kind: str, found: str) -> None:
    warnings = check_script(script_of("你好。", text))
    assert warnings, text
    first = warnings[0]
    assert first.turn == 1 and first.speaker == "嘉宾"
    assert first.kind.startswith(kind)
    assert found in first.text
    assert str(first).startswith("turn 1 (嘉宾): ")


def test_an_account_speaking_once_is_flagged_a_person_is_not() -> None:
    flagged = check_script(script_of("问题？", "回答。", guest="钛媒体App"))
    assert [w.kind for w in flagged] == [
        "a speaker with 1 turn whose name looks like an account, app or publisher"
    ]
    assert check_script(script_of("问题？", "回答。", guest="闫俊杰")) == ()


def test_clean_chinese_with_english_words_and_numbers_passes() -> None:
    text = (
        "GPT-4在2025年的表现提升了50%，OpenAI和Microsoft的合作（Azure）很顺利。"
        "2024/05/16发布的v3.2版本，Node.js和e.g.都不是地址。"
    )
    assert check_script(script_of("你好。", text)) == ()
