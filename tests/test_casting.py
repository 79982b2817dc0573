"""Casting that fits: role defaults go to the speakers who carry each role, and every speaker
gets a voice that suits who they are (voices.cast_voices on scripts from speakers.py)."""

from __future__ import annotations

from pathlib import Path

from interview_audio.parse import parse_article, read_article
from interview_audio.voices import NARRATOR, cast_voices, load_voices

SHIPPED = load_voices(None)
CASTING = Path(__file__).parent / "fixtures" / "casting"


MINOR_GUEST_FIRST = """# 一次关于咖啡的对话

**小周：** 我是今天的场务，先提醒大家把手机调成静音。

**主持人：** 你开咖啡馆多少年了？

**老赵：** 十年了。最早只是想给自己找个地方看书，后来来的人越来越多，就一直开下来了。

**主持人：** 豆子从哪里来？

**老赵：** 主要来自云南普洱。我们每年都去产区，和农户一起挑豆子，这是我最喜欢的一段时间。
"""


def test_the_guest_default_goes_to_the_guest_who_speaks_most() -> None:
    script = parse_article(MINOR_GUEST_FIRST)
    assert [s.role.value for s in script.speakers] == ["guest", "host", "guest"]
    sources = {e.speaker: e.source for e in cast_voices(script, SHIPPED, "espeak").entries}
    assert sources["老赵"] == "role default: guest"
    assert sources["小周"].startswith("pool #")


def test_an_account_that_speaks_twice_gets_the_narrator_and_the_guest_his_default() -> None:
    script = read_article(CASTING / "account.md")
    cast = {e.speaker: e for e in cast_voices(script, SHIPPED, "edge").entries}
    assert cast["42章经"].source == NARRATOR
    assert cast["42章经"].voice == SHIPPED.narrator.edge
    assert cast["Albert"].source == "role default: guest"
    assert cast["曲凯"].source == "role default: host"
