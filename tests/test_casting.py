"""Casting that fits: role defaults go to the speakers who carry each role, and every speaker
gets a voice that suits who they are (voices.cast_voices on scripts from speakers.py)."""

from __future__ import annotations

from interview_audio.parse import parse_article
from interview_audio.voices import NARRATOR, cast_voices, load_voices

SHIPPED = load_voices(None)

ACCOUNT_FIRST = """# 拒绝三亿美金的人

[mp.weixin.qq.com](https://mp.weixin.qq.com/s/4K5GfM7oP1LnuaqCEzYEOA)曲凯 42章经

**42章经：** 本期内容来自小宇宙播客，欢迎收听。

**曲凯：** 你当年为什么离开字节？

**Albert：** 我一直想做游戏。字节需要的能力和我的能力不一样，那天我还在跟一个高管聊这个问题，我说我不适合去管一个现成的产品。

**曲凯：** 你是不是低估了做游戏的难度？

**Albert：** 我做事从来不看难度。想象力是关键，所有的生产要素都是可以构建的，只有认知是壁垒。

**42章经：** 点击阅读原文收听完整节目。
"""

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
    script = parse_article(ACCOUNT_FIRST)
    cast = {e.speaker: e for e in cast_voices(script, SHIPPED, "edge").entries}
    assert cast["42章经"].source == NARRATOR
    assert cast["42章经"].voice == SHIPPED.narrator.edge
    assert cast["Albert"].source == "role default: guest"
    assert cast["曲凯"].source == "role default: host"
