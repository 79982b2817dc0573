"""Casting that fits: role defaults go to the speakers who carry each role, and every speaker
gets a voice that suits who they are (voices.cast_voices on scripts from speakers.py)."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from scipy.stats import spearmanr
from typer.testing import CliRunner

from interview_audio.article.parse import parse_article, read_article
from interview_audio.article.script import Gender, Meta, Role, Script, Speaker, Turn
from interview_audio.cli import app
from interview_audio.synthesis.engines.edge.voice import EdgeVoice
from interview_audio.synthesis.engines.kokoro.voice import KokoroVoice
from interview_audio.voices.casting import (
    cast_voices,
    stated_genders,
    stray_entries,
    voice_distance,
)
from interview_audio.voices.load import load_voices
from interview_audio.voices.model import (
    NARRATOR,
    CastEntry,
    Voice,
    VoicesConfig,
    VoiceTransform,
    voice_key,
)

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
    assert cast["42章经"].voice == SHIPPED.narrator.for_engine("edge")
    assert cast["Albert"].source == "role default: guest"
    assert cast["曲凯"].source == "role default: host"


GENDERED = """
narrator:
  gender: female
  edge: {voice: zh-CN-XiaoxiaoNeural}
  kokoro: {style: jf_gongitsune}
  espeak: {variant: cmn+f3}
roles:
  host:
    gender: male
    edge: {voice: zh-CN-YunyangNeural}
    kokoro: {style: jm_kumo, transform: {formants: -8%, median_pitch: 95Hz}}
    espeak: {variant: cmn+m3}
  guest:
    gender: male
    edge: {voice: zh-CN-YunxiNeural}
    kokoro: {style: jm_kumo, transform: {formants: +6%, median_pitch: 130Hz}}
    espeak: {variant: cmn+m1}
pool:
  - gender: female
    edge: {voice: zh-CN-XiaoxiaoNeural, rate: "+5%"}
    kokoro: {style: jf_gongitsune, speed: 1.1}
    espeak: {variant: cmn+f3, pitch: 55}
  - gender: male
    edge: {voice: zh-CN-YunjianNeural}
    kokoro: {style: jm_kumo, transform: {formants: -7%, median_pitch: 100Hz}}
    espeak: {variant: cmn+m3, pitch: 45}
  - gender: female
    edge: {voice: zh-CN-XiaoyiNeural}
    kokoro: {style: jf_nezumi}
    espeak: {variant: cmn+f2}
  - gender: male
    edge: {voice: zh-CN-YunxiaNeural}
    kokoro: {style: jm_kumo, transform: {formants: +12%, median_pitch: 150Hz}}
    espeak: {variant: cmn+m4}
  - gender: female
    edge: {voice: zh-CN-liaoning-XiaobeiNeural}
    kokoro: {style: jf_tebukuro}
    espeak: {variant: cmn+f4}
  - gender: male
    edge: {voice: zh-TW-YunJheNeural}
    kokoro: {style: jm_kumo, transform: {formants: -15%, median_pitch: 80Hz}}
    espeak: {variant: cmn+m5}
"""

CASTING = Path(__file__).parent / "fixtures" / "casting"


@pytest.fixture
def gendered(tmp_path: Path) -> VoicesConfig:
    path = tmp_path / "voices.yaml"
    path.write_text(GENDERED, encoding="utf-8")
    return load_voices(path)


def _cast(script: Script, config: VoicesConfig, engine: str) -> dict[str, CastEntry]:
    return {e.speaker: e for e in cast_voices(script, config, engine).entries}


def _gender_of(config: VoicesConfig, voice: Voice) -> Gender | None:
    sets = [config.narrator, *(v for _, v in config.roles), *config.pool]
    return next(s.gender for s in sets if voice in s.voices)


@pytest.mark.parametrize("engine", ["edge", "kokoro", "espeak"])
def test_the_woman_of_a_panel_gets_a_womans_voice_and_the_men_mens(
    gendered: VoicesConfig, engine: str
) -> None:
    script = read_article(CASTING / "panel.md")
    cast = _cast(script, gendered, engine)
    assert _gender_of(gendered, cast["王芳"].voice) is Gender.FEMALE
    assert cast["王芳"].source.startswith("pool #") and cast["王芳"].source.endswith(", female")
    assert _gender_of(gendered, cast["刘建国"].voice) is Gender.MALE
    assert cast["刘建国"].source.startswith("pool #") and cast["刘建国"].source.endswith(", male")
    assert cast["陈默"].source == "role default: guest"  # the guest who speaks most
    narrator = gendered.narrator.for_engine(engine)
    voices = [voice_key(e.voice) for e in cast.values() if e.speaker != NARRATOR]
    assert voice_key(narrator) not in voices and len(set(voices)) == len(voices)


def test_a_woman_who_speaks_most_does_not_get_the_male_guest_default(
    gendered: VoicesConfig,
) -> None:
    turns = (
        Turn("主持人", Role.HOST, ("欢迎两位。",)),
        Turn(
            "王芳",
            Role.GUEST,
            ("谢谢邀请。我来多说几句，因为我准备了很久，这个话题我研究了十年。",),
        ),
        Turn("刘建国", Role.GUEST, ("我补充一点。",)),
    )
    speakers = (
        Speaker("主持人", Role.HOST),
        Speaker("王芳", Role.GUEST, gender=Gender.FEMALE),
        Speaker("刘建国", Role.GUEST, gender=Gender.MALE),
    )
    cast = _cast(Script(Meta("t"), speakers, turns), gendered, "edge")
    assert cast["王芳"].source == "pool #3, female"  # #1 is the narrator's voice: skipped
    assert cast["王芳"].voice.name == "zh-CN-XiaoyiNeural"
    assert cast["刘建国"].source == "role default: guest"


def test_without_a_free_voice_of_her_gender_she_keeps_the_default_and_it_says_so(
    tmp_path: Path,
) -> None:
    path = tmp_path / "voices.yaml"
    path.write_text(GENDERED.split("pool:")[0], encoding="utf-8")
    config = load_voices(path)
    script = Script(
        Meta("t"),
        (Speaker("主持人", Role.HOST), Speaker("王芳", Role.GUEST, gender=Gender.FEMALE)),
        (Turn("主持人", Role.HOST, ("你好？",)), Turn("王芳", Role.GUEST, ("你好。",))),
    )
    assert (
        _cast(script, config, "edge")["王芳"].source == "role default: guest, no female voice free"
    )


def test_unknown_genders_alternate_with_the_previous_speaker(gendered: VoicesConfig) -> None:
    names = ["主持人", "甲", "乙", "丙", "丁"]
    speakers = (Speaker("主持人", Role.HOST), *(Speaker(n, Role.GUEST) for n in names[1:]))
    turns = tuple(
        Turn(n, Role.HOST if n == "主持人" else Role.GUEST, (f"{n}说话。",)) for n in names
    )
    cast = _cast(Script(Meta("t"), speakers, turns), gendered, "kokoro")
    genders = [_gender_of(gendered, cast[n].voice) for n in names]
    assert genders == [Gender.MALE, Gender.MALE, Gender.FEMALE, Gender.MALE, Gender.FEMALE]
    assert cast["乙"].source.endswith(", female for contrast with 甲")


def test_the_pool_picks_the_voice_most_different_from_the_cast(gendered: VoicesConfig) -> None:
    """Kokoro: the host is jm_kumo at 95 Hz, the guest jm_kumo at 130 Hz. The next man gets
    the male pool voice farthest from both (80 Hz, formants -15 %: #6), not the first one
    listed (#2, 100 Hz, next to the host)."""
    names = ["主持人", "甲", "乙"]
    speakers = (
        Speaker("主持人", Role.HOST),
        Speaker("甲", Role.GUEST, gender=Gender.MALE),
        Speaker("乙", Role.GUEST, gender=Gender.MALE),
    )
    turns = tuple(
        Turn(n, Role.GUEST, (f"{n}说了很久很久的话。" * (3 - i),)) for i, n in enumerate(names)
    )
    cast = _cast(Script(Meta("t"), speakers, turns), gendered, "kokoro")
    assert cast["乙"].source == "pool #6, male"


def test_voices_yaml_gender_outranks_the_article(gendered: VoicesConfig, tmp_path: Path) -> None:
    path = tmp_path / "voices.yaml"
    path.write_text(GENDERED + "speakers:\n  王芳:\n    gender: male\n", encoding="utf-8")
    config = load_voices(path)
    script = read_article(CASTING / "panel.md")
    assert next(s for s in script.speakers if s.name == "王芳").gender is Gender.FEMALE
    stated = stated_genders(script, config)
    wang = next(s for s in stated.speakers if s.name == "王芳")
    assert wang.gender is Gender.MALE and wang.gender_evidence == (
        f"set in {path.absolute()} (speakers: 王芳)",
    )
    assert _gender_of(config, _cast(script, config, "edge")["王芳"].voice) is Gender.MALE


def test_distance_from_what_voices_yaml_says() -> None:
    kumo = KokoroVoice("jm_kumo")
    low = KokoroVoice("jm_kumo", transform=VoiceTransform(-10, 90))
    high = KokoroVoice("jm_kumo", transform=VoiceTransform(10, 180))
    assert voice_distance(kumo, None, kumo, None) == 0
    assert voice_distance(low, None, high, None) == pytest.approx(1 + 1)  # an octave, 20 %
    assert voice_distance(low, Gender.MALE, high, Gender.FEMALE) == pytest.approx(2.5)
    man, woman = EdgeVoice("a"), EdgeVoice("b")  # no pitch set: a gender's typical one
    assert voice_distance(man, Gender.MALE, woman, Gender.FEMALE) == pytest.approx(
        1 + 0.5 + math.log2(210 / 120)
    )
    mix = KokoroVoice("jm_kumo*0.7+jf_alpha*0.3")
    assert voice_distance(kumo, None, mix, None) == pytest.approx(0.3)
    assert voice_distance(EdgeVoice("a"), None, EdgeVoice("A", rate="+5%"), None) == 0
    assert voice_distance(EdgeVoice("a"), None, EdgeVoice("b"), None) == 1


@pytest.mark.parametrize("engine", ["edge", "kokoro", "espeak"])
def test_shipped_voices_fit_the_panel(engine: str) -> None:
    """With the packaged voices.yaml: the woman gets a woman's voice, every man a man's, and
    nobody the narrator's."""
    script = read_article(CASTING / "panel.md")
    cast = _cast(script, SHIPPED, engine)
    assert _gender_of(SHIPPED, cast["王芳"].voice) is Gender.FEMALE
    assert _gender_of(SHIPPED, cast["刘建国"].voice) is Gender.MALE
    keys = [voice_key(e.voice) for e in cast.values()]
    assert len(set(keys)) == len(keys)  # the narrator's included


def test_script_shows_the_gender_voices_yaml_sets(tmp_path: Path) -> None:
    voices = tmp_path / "voices.yaml"
    voices.write_text(GENDERED + "speakers:\n  陈默:\n    gender: male\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["script", str(CASTING / "panel.md"), "--voices", str(voices), "--json"]
    )
    assert result.exit_code == 0, result.output
    chen = next(s for s in json.loads(result.output)["speakers"] if s["name"] == "陈默")
    assert chen["gender"] == "male"
    assert chen["gender_evidence"] == [f"set in {voices.absolute()} (speakers: 陈默)"]


def test_a_pool_that_does_not_say_whom_it_sounds_like_claims_nothing(tmp_path: Path) -> None:
    path = tmp_path / "voices.yaml"
    path.write_text(GENDERED.replace("  gender: female\n", "").replace("gender: ", "# "), "utf-8")
    config = load_voices(path)
    assert all(voices.gender is None for voices in config.pool)
    cast = _cast(read_article(CASTING / "panel.md"), config, "edge")
    assert cast["王芳"].source.startswith("pool #") and "," not in cast["王芳"].source
    keys = [voice_key(e.voice) for e in cast.values()]
    assert len(set(keys)) == len(keys)


def _measured() -> tuple[list[tuple[KokoroVoice, Gender]], list[list[float]]]:
    data = yaml.safe_load((CASTING / "similarity.yaml").read_text(encoding="utf-8"))
    voices = []
    for v in data["voices"]:
        has = "formants" in v or "median_pitch" in v
        transform = VoiceTransform(v.get("formants", 0), v.get("median_pitch")) if has else None
        voices.append((KokoroVoice(v["style"], transform=transform), Gender(v["gender"])))
    matrix = data["similarity"]
    assert all(matrix[i][j] == matrix[j][i] for i in range(9) for j in range(9))
    return voices, matrix


def test_voice_distance_orders_voices_as_a_speaker_encoder_does() -> None:
    """Over the 36 pairs of measured Kokoro voices, voice_distance (settings only) ranks the
    pairs like the encoder's dissimilarity (an equal weight for gender scored 0.59)."""
    voices, matrix = _measured()
    pairs = list(itertools.combinations(range(len(voices)), 2))
    ours = [voice_distance(*voices[i], *voices[j]) for i, j in pairs]
    measured = [1 - matrix[i][j] for i, j in pairs]
    assert spearmanr(ours, measured).statistic >= 0.65


def test_the_pool_picks_what_the_encoder_would_pick() -> None:
    """With the narrator, host and guest cast, the most different woman and man of the pool
    by voice_distance are the ones least similar to all three by the encoder."""
    voices, matrix = _measured()
    cast = (0, 1, 2)
    for pool in ((4, 7, 8), (3, 5, 6)):  # the women, the men
        ours = max(pool, key=lambda c: min(voice_distance(*voices[c], *voices[k]) for k in cast))
        encoder = max(pool, key=lambda c: min(1 - matrix[c][k] for k in cast))
        assert ours == encoder


REPORTER = """# 采访一位咖啡师

**记者：** 你开咖啡馆多少年了？

**老赵：** 十年了。最早只是想给自己找个地方看书，后来来的人越来越多，就一直开下来了。

**记者：** 豆子从哪里来？

**老赵：** 主要来自云南普洱。我们每年都去产区，和农户一起挑豆子。
"""


def _voices_with_speakers(tmp_path: Path, entries: str) -> Path:
    path = tmp_path / "voices.yaml"
    shipped = (Path(__file__).parents[1] / "voices.yaml").read_text(encoding="utf-8")
    path.write_text(shipped.replace("speakers:\n", "speakers:\n" + entries, 1), encoding="utf-8")
    return path


def test_a_mistyped_speaker_entry_names_the_closest_speaker(tmp_path: Path) -> None:
    config = load_voices(_voices_with_speakers(tmp_path, "  记者者:\n    gender: female\n"))
    warnings = stray_entries(parse_article(REPORTER), config)
    assert len(warnings) == 1
    assert "'记者者'" in warnings[0] and "did you mean 记者?" in warnings[0]
    # 山姆·奥特曼 (shipped) is far from every name here: an entry for other articles, no warning.
    assert "山姆" not in warnings[0]


def test_entries_that_match_or_are_far_say_nothing(tmp_path: Path) -> None:
    entries = "  记 者:\n    gender: female\n  赵老师:\n    gender: male\n"
    config = load_voices(_voices_with_speakers(tmp_path, entries))
    assert stray_entries(parse_article(REPORTER), config) == []


def test_script_and_render_warn_once_about_a_mistyped_entry(tmp_path: Path) -> None:
    voices = _voices_with_speakers(tmp_path, "  记者者:\n    gender: female\n")
    article = tmp_path / "reporter.txt"
    article.write_text(REPORTER, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["script", str(article), "--voices", str(voices)])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("记者者") == 1 and "did you mean 记者?" in result.stderr
    done = subprocess.run(
        [sys.executable, "-m", "interview_audio", "render", str(article), "--dry-run"]
        + ["--engine", "espeak", "--voices", str(voices), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (done.stdout + done.stderr).count("记者者") == 1, done.stderr
