"""voices.yaml: the shipped file, every validation error with its line, casting and engine choice."""

from __future__ import annotations

import dataclasses
import logging
import re
import typing
from pathlib import Path
from types import SimpleNamespace

import pytest

from interview_audio.article.script import Gender, Meta, Role, Script, Speaker, Turn
from interview_audio.errors import EngineUnavailable, VoicesError
from interview_audio.synthesis import engines
from interview_audio.synthesis.engines.base import Engine, EngineOptions
from interview_audio.synthesis.engines.edge.voice import EdgeVoice
from interview_audio.synthesis.engines.espeak.voice import EspeakVoice
from interview_audio.synthesis.engines.kokoro.voice import KokoroSettings, KokoroVoice, kokoro_mix
from interview_audio.voices.casting import cast_voices, describe_cast
from interview_audio.voices.kinds import engine_choices, engine_names
from interview_audio.voices.load import load_voices
from interview_audio.voices.model import (
    PACKAGED_SOURCE,
    VoicesConfig,
    VoiceTransform,
    voice_key,
    voice_label,
)

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "voices.yaml"
PACKAGED = REPO / "src" / "interview_audio" / "data" / "voices.yaml"

MINIMAL = """\
narrator:
  edge: {voice: zh-CN-XiaoxiaoNeural}
  kokoro: {style: jf_alpha}
"""


def write(tmp_path: Path, text: str, name: str = "voices.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def script(*speakers: Speaker, order: tuple[str, ...] | None = None) -> Script:
    """A script whose turns go through `order` (default: each speaker once, as listed)."""
    roles = {speaker.name: speaker.role for speaker in speakers}
    names = order if order is not None else tuple(speaker.name for speaker in speakers)
    turns = tuple(Turn(name, roles[name], (f"{name} 说了一句话。",)) for name in names)
    return Script(Meta("访谈"), speakers, turns)


SEED_SCRIPT = script(Speaker("主持人安德鲁", Role.HOST), Speaker("山姆·奥特曼", Role.GUEST))


@pytest.fixture(scope="module")
def shipped() -> VoicesConfig:
    return load_voices(SHIPPED)


# The shipped file -------------------------------------------------------------------------------


def test_shipped_file_loads_with_three_engines_everywhere(shipped: VoicesConfig) -> None:
    assert shipped.path == SHIPPED
    assert shipped.engine == "auto"
    assert shipped.narrator.for_engine("edge") == EdgeVoice("zh-CN-XiaoxiaoNeural")
    assert shipped.role_voices(Role.HOST) is not None
    assert shipped.role_voices(Role.GUEST) is not None
    assert len(shipped.pool) >= 4
    assert shipped.pauses.paragraph < shipped.pauses.speaker_change < shipped.pauses.chapter
    assert ("xAI", "x A I") in shipped.lexicon
    assert shipped.settings_for("kokoro") == KokoroSettings()  # the packaged model
    sam = shipped.speaker_entry("山姆·奥特曼")
    assert sam is not None and sam.get("edge") == EdgeVoice("zh-CN-YunxiNeural")


def test_packaged_copy_is_identical_to_the_shipped_file() -> None:
    assert PACKAGED.read_bytes() == SHIPPED.read_bytes()


def test_shipped_pool_voices_are_distinct_on_every_engine(shipped: VoicesConfig) -> None:
    for engine in engine_names():
        keys = [voice_key(voices.for_engine(engine)) for voices in shipped.pool]
        assert len(set(keys)) == len(keys), engine


def test_shipped_espeak_voices_exist_in_the_real_engine(shipped: VoicesConfig) -> None:
    espeak = engines.load_engine("espeak", EngineOptions())
    sets = [shipped.narrator, *(v for _, v in shipped.roles), *shipped.pool]
    for voices in sets:
        espeak.check_voice(voices.for_engine("espeak"))


def test_engine_choices_are_the_registered_engines() -> None:
    assert engine_choices() == ("auto", *engines.engine_plugins())
    assert engine_names()[:3] == ("edge", "kokoro", "espeak")


# Where the file comes from ----------------------------------------------------------------------


def test_voices_yaml_in_the_current_directory_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, MINIMAL.replace("jf_alpha", "jf_tebukuro") + "engine: espeak\n")
    monkeypatch.chdir(tmp_path)
    config = load_voices()
    assert config.path is not None and config.path.resolve() == (tmp_path / "voices.yaml").resolve()
    assert config.engine == "espeak"
    assert config.narrator.for_engine("kokoro") == KokoroVoice("jf_tebukuro")


def test_packaged_default_when_the_directory_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_voices()
    assert config.path is None
    assert config.source == PACKAGED_SOURCE
    assert config == VoicesConfig(**{**load_voices(SHIPPED).__dict__, "path": None})


def test_explicit_path_beats_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, MINIMAL + "engine: edge\n")
    other = write(tmp_path, MINIMAL + "engine: kokoro\n", "mine.yaml")
    monkeypatch.chdir(tmp_path)
    assert load_voices(other).engine == "kokoro"


def test_missing_file_is_a_voices_error(tmp_path: Path) -> None:
    with pytest.raises(VoicesError, match="no such file"):
        load_voices(tmp_path / "absent.yaml")


def test_kokoro_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "kokoro: {model: models/k.onnx, voices: null}\n")
    config = load_voices(path)
    assert config.settings_for("kokoro") == KokoroSettings(tmp_path / "models" / "k.onnx", None)


# Partial entries and parsed values --------------------------------------------------------------


def test_partial_entries_take_the_dataclass_defaults(tmp_path: Path) -> None:
    config = load_voices(
        write(
            tmp_path,
            """\
narrator:
  edge: {voice: zh-CN-XiaoxiaoNeural, rate: "-10%"}
  kokoro: {style: " jm_kumo * 0.6 + jf_nezumi * 0.4 "}
pauses: {chapter: 2}
""",
        )
    )
    assert config.narrator.for_engine("edge") == EdgeVoice("zh-CN-XiaoxiaoNeural", rate="-10%")
    assert config.narrator.for_engine("kokoro") == KokoroVoice("jm_kumo*0.6+jf_nezumi*0.4")
    assert config.narrator.for_engine("espeak") == EspeakVoice()
    assert config.pauses.chapter == 2.0
    assert config.pauses.paragraph == 0.35
    assert config.engine == "auto"
    assert config.roles == () and config.pool == () and config.speakers == ()


def test_lexicon_keeps_file_order(tmp_path: Path) -> None:
    config = load_voices(
        write(
            tmp_path, MINIMAL + "lexicon:\n  xAI: x A I\n  GPT: G P T\n  AI: A I\n  996: 九九六\n"
        )
    )
    assert config.lexicon == (("xAI", "x A I"), ("GPT", "G P T"), ("AI", "A I"), ("996", "九九六"))


def test_transforms_and_gender_are_read_on_every_engine(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
narrator:
  gender: Female
  edge: {voice: zh-CN-XiaoxiaoNeural, transform: {pitch_range: +20%}}
  kokoro: {style: jm_kumo, speed: 1.1, transform: {formants: +18%, median_pitch: 210Hz}}
  espeak: {variant: cmn+m3, transform: {formants: -7.5%, median_pitch: 95}}
pool:
  - edge: {voice: zh-CN-YunjianNeural}
    kokoro: {style: jm_kumo, transform: {formants: +0%, pitch_range: +0%}}
""",
    )
    config = load_voices(path)
    assert config.narrator.gender is Gender.FEMALE
    assert config.narrator.for_engine("edge").transform == VoiceTransform(pitch_range=20.0)
    assert config.narrator.for_engine("kokoro") == KokoroVoice(
        "jm_kumo", 1.1, VoiceTransform(formants=18.0, median_pitch=210.0)
    )
    assert config.narrator.for_engine("espeak").transform == VoiceTransform(-7.5, 95.0)
    assert config.pool[0].gender is None
    assert config.pool[0].for_engine("kokoro") == KokoroVoice(
        "jm_kumo"
    )  # a transform that changes nothing
    narrator = config.narrator.for_engine("kokoro")
    assert voice_key(narrator) != voice_key(KokoroVoice("jm_kumo"))
    assert voice_label(narrator) == "jm_kumo speed 1.1, formants +18% median_pitch 210Hz"


def test_kokoro_mix_parses_names_and_weights() -> None:
    assert kokoro_mix("jm_kumo") == (("jm_kumo", 1.0),)
    assert kokoro_mix("jm_kumo*0.7+jf_alpha*0.3") == (("jm_kumo", 0.7), ("jf_alpha", 0.3))
    assert voice_key(KokoroVoice("a*0.5+b*0.5")) == voice_key(KokoroVoice("b*0.5+a*0.5"))


# Every validation error names the file and the line --------------------------------------------

ERRORS = [
    pytest.param(
        MINIMAL.replace("{style: jf_alpha}", "\n    style: jf_alpha\n    sped: 1.2"),
        "sped",
        ("unknown key 'sped'", "narrator.kokoro", "valid keys: style, speed"),
        id="unknown-key",
    ),
    pytest.param(
        MINIMAL + "volume: loud\n",
        "volume: loud",
        ("unknown key 'volume'", "valid keys: engine, narrator, roles"),
        id="unknown-top-level-key",
    ),
    pytest.param(
        MINIMAL + "engine: google\n",
        "engine",
        ("unknown engine 'google'", "auto, edge, kokoro, espeak"),
        id="engine-choice",
    ),
    pytest.param(
        MINIMAL + "pauses:\n  paragraph: 0.3\n  chapter: -1\n",
        "chapter",
        ("-1 is out of range", "from 0 to 10"),
        id="negative-pause",
    ),
    pytest.param(
        MINIMAL + "pauses:\n  paragraph: long\n",
        "long",
        ("expected a number",),
        id="pause-wrong-type",
    ),
    pytest.param(
        MINIMAL.replace("{style: jf_alpha}", "{style: jf_alpha, speed: 3}"),
        "speed: 3",
        ("3 is out of range", "0.5 to 2"),
        id="speed-range",
    ),
    pytest.param(
        MINIMAL.replace("{voice: zh-CN-XiaoxiaoNeural}", '{voice: x, rate: "10%"}'),
        "rate",
        ("rate '10%' is not valid", "+10%"),
        id="rate-unsigned",
    ),
    pytest.param(
        MINIMAL.replace("{voice: zh-CN-XiaoxiaoNeural}", '{voice: x, pitch: "+5%"}'),
        "pitch",
        ("pitch '+5%' is not valid", "Hz"),
        id="pitch-unit",
    ),
    pytest.param(
        MINIMAL.replace("{voice: zh-CN-XiaoxiaoNeural}", "{voice: x, volume: 10}"),
        "volume",
        ("volume '10' is not valid",),
        id="volume-number",
    ),
    pytest.param(
        MINIMAL.replace("{voice: zh-CN-XiaoxiaoNeural}", "{voice: [a, b]}"),
        "voice: [a",
        ("expected text",),
        id="voice-wrong-type",
    ),
    pytest.param(
        MINIMAL.replace("jf_alpha", '"jm_kumo*0.7+jf_alpha"'),
        "jm_kumo*0.7",
        ("bad Kokoro style", "weight", "jm_kumo*0.7+jf_alpha*0.3"),
        id="mix-missing-weight",
    ),
    pytest.param(
        MINIMAL.replace("jf_alpha", '"jm_kumo*0.7+jf_alpha*0.7"'),
        "jm_kumo*0.7",
        ("add up to 1.4",),
        id="mix-sum",
    ),
    pytest.param(
        MINIMAL.replace("jf_alpha", '"jm_kumo*0.5+jm_kumo*0.5"'),
        "jm_kumo*0.5",
        ("appears twice",),
        id="mix-duplicate",
    ),
    pytest.param(
        MINIMAL.replace("jf_alpha", '"jm-kumo"'),
        "jm-kumo",
        ("not a style name",),
        id="mix-bad-name",
    ),
    pytest.param(
        MINIMAL + "  espeak: {variant: cmn+f3, rate: 500}\n",
        "espeak",
        ("500 is out of range", "80 to 450"),
        id="espeak-rate",
    ),
    pytest.param(
        MINIMAL + "  espeak:\n    pitch: 101\n",
        "pitch",
        ("101 is out of range", "0 to 100"),
        id="espeak-pitch",
    ),
    pytest.param(
        MINIMAL + "  espeak:\n    variant: cmn f3\n",
        "variant",
        ("not an eSpeak voice", "cmn+f3"),
        id="espeak-variant",
    ),
    pytest.param(
        "engine: auto\npauses: {}\n",
        "engine",
        ("no `narrator:` section",),
        id="narrator-missing",
    ),
    pytest.param(
        "narrator:\n  edge: {voice: zh-CN-XiaoxiaoNeural}\n",
        "narrator",
        ("no kokoro voice",),
        id="narrator-without-kokoro",
    ),
    pytest.param(
        MINIMAL + "roles:\n  host:\n    edge: {rate: '+5%'}\n    kokoro: {style: jm_kumo}\n",
        "rate",
        ("needs `voice:`",),
        id="edge-without-voice",
    ),
    pytest.param(
        MINIMAL + "roles:\n  cohost: {}\n",
        "cohost",
        ("unknown key 'cohost'", "valid keys: host, guest"),
        id="unknown-role",
    ),
    pytest.param(
        MINIMAL + "pool:\n  - zh-CN-YunjianNeural\n",
        "- zh-CN",
        ("expected a mapping",),
        id="pool-entry-not-mapping",
    ),
    pytest.param(
        MINIMAL + "pool: {edge: {voice: x}}\n",
        "pool",
        ("expected a list",),
        id="pool-not-list",
    ),
    pytest.param(
        MINIMAL
        + "speakers:\n  山姆·奥特曼:\n    aliases: [山姆]\n  山姆 奥特曼:\n    edge: {voice: x}\n",
        "山姆 奥特曼",
        ("'山姆 奥特曼' already names '山姆·奥特曼'",),
        id="duplicate-speaker-name",
    ),
    pytest.param(
        MINIMAL + "speakers:\n  甲:\n    aliases: [老甲]\n  乙:\n    aliases: [老乙, 老甲]\n",
        "[老乙",
        ("'老甲' already names '甲'",),
        id="duplicate-alias",
    ),
    pytest.param(
        MINIMAL + "speakers:\n  甲: {aliases: [老甲], styles: x}\n",
        "甲:",
        ("unknown key 'styles'", "aliases, gender, edge, kokoro, espeak"),
        id="speaker-unknown-key",
    ),
    pytest.param(
        MINIMAL + "pauses: {chapter: 1}\npauses: {chapter: 2}\n",
        "pauses: {chapter: 2}",
        ("'pauses' appears twice",),
        id="duplicate-key",
    ),
    pytest.param(
        MINIMAL + "lexicon:\n  xAI: [x, A, I]\n",
        "xAI",
        ("expected text",),
        id="lexicon-value",
    ),
    pytest.param(
        MINIMAL + "lexicon: [xAI]\n",
        "lexicon",
        ("expected a mapping",),
        id="lexicon-not-mapping",
    ),
    pytest.param(
        MINIMAL + "  gender: man\n",
        "gender",
        ("gender 'man' is not valid", "male, female"),
        id="gender-choice",
    ),
    pytest.param(
        MINIMAL.replace("{style: jf_alpha}", "{style: jf_alpha, transform: {formant: -10%}}"),
        "transform",
        ("unknown key 'formant'", "formants, median_pitch, pitch_range"),
        id="transform-unknown-key",
    ),
    pytest.param(
        MINIMAL.replace("{style: jf_alpha}", "{style: jf_alpha, transform: {formants: 10%}}"),
        "transform",
        ("formants '10%' is not valid", "signed percentage from -30% to +30%"),
        id="transform-formants-unsigned",
    ),
    pytest.param(
        MINIMAL + "  espeak:\n    variant: cmn+m3\n    transform:\n      formants: +45%\n",
        "formants: +45%",
        ("formants '+45%' is not valid",),
        id="transform-formants-range",
    ),
    pytest.param(
        MINIMAL.replace(
            "{voice: zh-CN-XiaoxiaoNeural}", "{voice: x, transform: {median_pitch: +10Hz}}"
        ),
        "median_pitch",
        ("median_pitch '+10Hz' is not valid", "from 60Hz to 400Hz", "like 110Hz"),
        id="transform-median-pitch-signed",
    ),
    pytest.param(
        MINIMAL + "  espeak:\n    transform:\n      median_pitch: 900Hz\n",
        "median_pitch",
        ("median_pitch '900Hz' is not valid",),
        id="transform-median-pitch-range",
    ),
    pytest.param(
        MINIMAL + "  espeak:\n    transform: {pitch_range: -150%}\n",
        "pitch_range",
        ("pitch_range '-150%' is not valid", "-100% to +200%"),
        id="transform-pitch-range",
    ),
    pytest.param(
        MINIMAL + "  espeak:\n    transform: -10%\n",
        "transform",
        ("expected a mapping",),
        id="transform-not-mapping",
    ),
    pytest.param(
        MINIMAL + "pauses: {paragraph: 0.3\n",
        "pauses",
        ("invalid YAML",),
        id="syntax-error",
    ),
]


@pytest.mark.parametrize(("text", "marker", "fragments"), ERRORS)
def test_validation_errors_name_file_and_line(
    tmp_path: Path, text: str, marker: str, fragments: tuple[str, ...]
) -> None:
    path = write(tmp_path, text)
    lines = text.splitlines()
    expected = 1 + next(n for n, line in enumerate(lines) if marker in line)
    with pytest.raises(VoicesError) as info:
        load_voices(path)
    message = str(info.value)
    assert message.startswith(f"{path} line "), message
    reported = int(message.removeprefix(f"{path} line ").split()[0].rstrip(":"))
    # A syntax error is found where the parser gives up: at the marked line or the next one.
    allowed = {expected, expected + 1} if "invalid YAML" in fragments else {expected}
    assert reported in allowed, message
    for fragment in fragments:
        assert fragment in message, message


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(VoicesError, match="is empty"):
        load_voices(write(tmp_path, "# nothing\n"))


# Casting ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", engine_names())
def test_seed_speakers_get_three_distinct_voices(shipped: VoicesConfig, engine: str) -> None:
    cast = cast_voices(SEED_SCRIPT, shipped, engine)
    assert [entry.speaker for entry in cast.entries] == ["narrator", "主持人安德鲁", "山姆·奥特曼"]
    keys = {voice_key(entry.voice) for entry in cast.entries}
    assert len(keys) == 3
    assert all(entry.voice.engine == engine for entry in cast.entries)
    sources = {entry.speaker: entry.source for entry in cast.entries}
    assert sources == {
        "narrator": "narrator",
        "主持人安德鲁": "role default: host",
        "山姆·奥特曼": "voices.yaml speakers",
    }


def test_seed_voices_on_edge(shipped: VoicesConfig) -> None:
    cast = cast_voices(SEED_SCRIPT, shipped, "edge")
    assert cast.voice_for("narrator") == EdgeVoice("zh-CN-XiaoxiaoNeural")
    assert cast.voice_for("旁白") == EdgeVoice("zh-CN-XiaoxiaoNeural")
    assert cast.voice_for("主持人安德鲁") == EdgeVoice("zh-CN-YunyangNeural")
    assert cast.voice_for("山姆·奥特曼") == EdgeVoice("zh-CN-YunxiNeural")
    assert describe_cast(cast) == [
        "narrator → zh-CN-XiaoxiaoNeural (narrator)",
        "主持人安德鲁 → zh-CN-YunyangNeural (role default: host)",
        "山姆·奥特曼 → zh-CN-YunxiNeural (voices.yaml speakers)",
    ]
    with pytest.raises(VoicesError, match="主持人安德鲁"):
        cast.voice_for("马斯克")


UNKNOWN = (
    Speaker("林晓", Role.HOST),
    Speaker("陈默", Role.GUEST),
    Speaker("周一鸣", Role.GUEST),
    Speaker("Jane Doe", Role.GUEST),
)
UNKNOWN_ORDER = ("林晓", "陈默", "林晓", "周一鸣", "陈默", "Jane Doe", "林晓")


@pytest.mark.parametrize("engine", engine_names())
def test_unknown_speakers_get_distinct_stable_voices(shipped: VoicesConfig, engine: str) -> None:
    first = cast_voices(script(*UNKNOWN, order=UNKNOWN_ORDER), shipped, engine)
    again = cast_voices(script(*UNKNOWN, order=UNKNOWN_ORDER), shipped, engine)
    shuffled = cast_voices(script(*reversed(UNKNOWN), order=UNKNOWN_ORDER), shipped, engine)
    assert first == again == shuffled
    assert len({voice_key(entry.voice) for entry in first.entries}) == 5
    sources = [entry.source for entry in first.entries]
    assert sources[:3] == ["narrator", "role default: host", "role default: guest"]
    # Nothing says who 周一鸣 and Jane Doe are: each sounds unlike the speaker before.
    assert re.fullmatch(r"pool #\d, female for contrast with 陈默", sources[3])
    assert re.fullmatch(r"pool #\d, male for contrast with 周一鸣", sources[4])
    genders = {voice_key(v.for_engine(engine)): v.gender for v in shipped.pool}
    assert genders[voice_key(first.voice_for("周一鸣"))] is Gender.FEMALE
    assert genders[voice_key(first.voice_for("Jane Doe"))] is Gender.MALE


def test_the_guest_who_speaks_most_gets_the_default_and_the_pool_goes_by_first_turn(
    shipped: VoicesConfig,
) -> None:
    order = ("林晓", "Jane Doe", "周一鸣", "陈默")
    cast = cast_voices(script(*UNKNOWN, order=order), shipped, "edge")
    guest = shipped.role_voices(Role.GUEST)
    assert guest is not None
    assert cast.voice_for("Jane Doe") == guest.for_engine("edge")  # her one line is the longest
    genders = {v.for_engine("edge"): v.gender for v in shipped.pool}
    assert genders[cast.voice_for("周一鸣")] is Gender.FEMALE  # unlike Jane Doe's male default
    assert genders[cast.voice_for("陈默")] is Gender.MALE  # unlike 周一鸣


@pytest.mark.parametrize(
    "name",
    [
        "奥特曼",
        "山姆 · 奥特曼",
        "山姆・奥特曼",
        "sam altman",
        "SamAltman",
        "Sam-Altman",
        "ＳＡＭ　ａｌｔｍａｎ",
    ],
)
def test_aliases_find_the_speaker_entry(shipped: VoicesConfig, name: str) -> None:
    cast = cast_voices(script(Speaker(name, Role.GUEST)), shipped, "edge")
    assert cast.entries[1].source == "voices.yaml speakers"
    assert cast.voice_for(name) == EdgeVoice("zh-CN-YunxiNeural")


def test_script_aliases_also_match(shipped: VoicesConfig) -> None:
    speaker = Speaker("嘉宾", Role.GUEST, aliases=("奥特曼",))
    cast = cast_voices(script(speaker), shipped, "kokoro")
    assert cast.entries[1].source == "voices.yaml speakers"


def test_role_default_already_taken_falls_to_the_pool(shipped: VoicesConfig) -> None:
    """The guest default is Yunxi, which 山姆·奥特曼 has: another guest must not share it."""
    other = Speaker("黄仁勋", Role.GUEST)
    sam = Speaker("山姆·奥特曼", Role.GUEST)
    for engine in engine_names():
        cast = cast_voices(script(other, sam), shipped, engine)
        assert cast.voice_for("黄仁勋") != cast.voice_for("山姆·奥特曼")
        assert cast.entries[1].source.startswith("pool #")


def test_speaker_without_an_engine_entry_uses_role_and_pool(tmp_path: Path) -> None:
    config = load_voices(
        write(
            tmp_path,
            MINIMAL
            + """\
roles:
  host: {edge: {voice: zh-CN-YunyangNeural}, kokoro: {style: jm_kumo}, espeak: {variant: cmn+m3}}
speakers:
  林晓: {edge: {voice: zh-CN-YunjianNeural}}
""",
        )
    )
    host = script(Speaker("林晓", Role.HOST))
    assert cast_voices(host, config, "edge").entries[1].source == "voices.yaml speakers"
    kokoro = cast_voices(host, config, "kokoro").entries[1]
    assert (kokoro.source, kokoro.voice) == ("role default: host", KokoroVoice("jm_kumo"))


def test_narrator_role_speaker_gets_the_narrator_voice(shipped: VoicesConfig) -> None:
    cast = cast_voices(script(Speaker("旁白", Role.NARRATOR)), shipped, "espeak")
    assert cast.voice_for("旁白") == shipped.narrator.for_engine("espeak")


def test_pool_exhaustion_says_how_many_voices_are_needed(tmp_path: Path) -> None:
    config = load_voices(
        write(
            tmp_path,
            MINIMAL
            + """\
pool:
  - {edge: {voice: zh-CN-YunjianNeural}, kokoro: {style: jm_kumo}}
  - {edge: {voice: zh-CN-XiaoxiaoNeural}, kokoro: {style: jf_alpha}}
""",
        )
    )
    guests = script(Speaker("甲", Role.GUEST), Speaker("乙", Role.GUEST))
    with pytest.raises(VoicesError) as info:
        cast_voices(guests, config, "edge")
    message = str(info.value)
    assert "3 voices are needed on edge" in message
    assert "2 of them from the pool" in message
    assert "only 1 edge voices" in message
    assert "Add at least 1 entry" in message and "give 乙 their own" in message
    assert str(config.path) in message


def test_cast_rejects_auto_or_unknown_engines(shipped: VoicesConfig) -> None:
    with pytest.raises(VoicesError, match="edge, kokoro, espeak"):
        cast_voices(SEED_SCRIPT, shipped, "auto")


# Choosing the engine ----------------------------------------------------------------------------


class _Asked:
    """Stands in for load_engine: records the names asked for, fails for those in `broken`."""

    def __init__(self, *broken: str) -> None:
        self.names: list[str] = []
        self.broken = broken

    def __call__(self, name: str, options: EngineOptions) -> Engine:
        self.names.append(name)
        if name in self.broken:
            raise EngineUnavailable(f"{name} is missing a part. Run pip install {name}-part.")
        return typing.cast(Engine, SimpleNamespace(name=name))


@pytest.mark.parametrize(("online", "expected"), [(False, "kokoro"), (True, "edge")])
def test_auto_picks_edge_only_when_it_answers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, online: bool, expected: str
) -> None:
    timeouts: list[float] = []

    def reachable(timeout: float = 3.0) -> bool:
        timeouts.append(timeout)
        return online

    asked = _Asked()
    monkeypatch.setattr("interview_audio.synthesis.engines.edge.engine.reachable", reachable)
    monkeypatch.setattr(engines, "load_engine", asked)
    with caplog.at_level(logging.INFO, logger="interview_audio.synthesis.engines"):
        engine = engines.select_engine("auto", EngineOptions())
    assert asked.names == [expected]
    assert engine.name == expected
    assert timeouts == [3.0]
    chosen = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Engine:")]
    assert len(chosen) == 1 and chosen[0].startswith(f"Engine: {expected} (auto:")


def test_auto_falls_back_when_edge_answers_but_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _Asked("edge")
    monkeypatch.setattr(
        "interview_audio.synthesis.engines.edge.engine.reachable", lambda timeout=3.0: True
    )
    monkeypatch.setattr(engines, "load_engine", asked)
    engines.select_engine("auto", EngineOptions())
    assert asked.names == ["edge", "kokoro"]


def test_auto_with_nothing_usable_explains_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "interview_audio.synthesis.engines.edge.engine.reachable", lambda timeout=3.0: False
    )
    monkeypatch.setattr(engines, "load_engine", _Asked("kokoro"))
    with pytest.raises(EngineUnavailable) as info:
        engines.select_engine("auto", EngineOptions())
    assert "did not answer" in str(info.value) and "kokoro-part" in str(info.value)


def test_forced_engine_that_cannot_run_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(timeout: float = 3.0) -> bool:
        raise AssertionError("a forced engine must not probe the Edge service")

    monkeypatch.setattr("interview_audio.synthesis.engines.edge.engine.reachable", never)
    asked = _Asked("kokoro")
    monkeypatch.setattr(engines, "load_engine", asked)
    with pytest.raises(EngineUnavailable) as info:
        engines.select_engine("kokoro", EngineOptions())
    assert asked.names == ["kokoro"]
    message = str(info.value)
    assert "kokoro engine was asked for" in message
    assert "pip install kokoro-part" in message
    assert "auto, edge, espeak" in message


def test_forced_engine_loads_for_real() -> None:
    engine = engines.select_engine("espeak", EngineOptions())
    assert engine.name == "espeak"


def test_unknown_engine_lists_the_choices() -> None:
    with pytest.raises(VoicesError, match="auto, edge, kokoro, espeak"):
        engines.select_engine("google", EngineOptions())


def test_an_engine_module_that_fails_to_import_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gone = dataclasses.replace(
        engines.engine_plugins()["espeak"],
        engine="interview_audio.synthesis.engines.gone:GoneEngine",
    )
    monkeypatch.setattr(engines, "engine_plugins", lambda: {"espeak": gone})
    with pytest.raises(EngineUnavailable, match="pip install") as caught:
        engines.load_engine("espeak", EngineOptions())
    assert "interview_audio.synthesis.engines.gone" in str(caught.value)


def test_auto_says_it_asks_edge_then_what_it_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "interview_audio.synthesis.engines.edge.engine.reachable", lambda timeout=3.0: False
    )
    monkeypatch.setattr(engines, "load_engine", _Asked())
    said: list[str] = []
    engines.select_engine("auto", EngineOptions(), said.append)
    assert said == ["Asking the Edge service whether it answers (up to 3 s)…", "Loading kokoro…"]
