"""The audio cache: keys, entries on disk, crashes and concurrent writers."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import time
import wave
from pathlib import Path

import platformdirs
import pytest

from interview_audio.errors import EngineError, RenderError
from interview_audio.files import CACHE_ENV_VAR as ENV_VAR
from interview_audio.files import TEMP_MARKER, default_cache_dir
from interview_audio.synthesis import cache as cache_module
from interview_audio.synthesis.cache import Cache, cache_key
from interview_audio.synthesis.engines.base import Speech
from interview_audio.synthesis.engines.edge.voice import EdgeVoice
from interview_audio.synthesis.engines.espeak.voice import EspeakVoice
from interview_audio.synthesis.engines.kokoro.voice import KokoroVoice
from interview_audio.voices.model import Voice, VoiceTransform
from tone_engine import ToneEngine, fill_cache, make_lines

VOICES: list[Voice] = [
    EdgeVoice("zh-CN-YunxiNeural", rate="+5%", pitch="-2Hz", volume="+0%"),
    KokoroVoice("zm_yunjian*0.7+zf_xiaoxiao*0.3", speed=1.1),
    EspeakVoice("cmn+f3", rate=180, pitch=40),
]


def speech(text: str = "你好。世界！", pitch: int = 50, seconds_per_char: float = 0.01) -> Speech:
    return ToneEngine(seconds_per_char=seconds_per_char).synthesize(text, EspeakVoice(pitch=pitch))


def test_key_is_stable_hex() -> None:
    key = cache_key("tone/1", VOICES[0], "你好")
    assert key == cache_key("tone/1", EdgeVoice("zh-CN-YunxiNeural", "+5%", "-2Hz"), "你好")
    assert len(key) == 64 and set(key) <= set("0123456789abcdef")


def test_key_changes_with_engine_identity_and_text() -> None:
    base = cache_key("kokoro/1.0/model-abc", VOICES[1], "你好。")
    assert cache_key("kokoro/1.0/model-abd", VOICES[1], "你好。") != base
    assert cache_key("kokoro/1.1/model-abc", VOICES[1], "你好。") != base
    assert cache_key("kokoro/1.0/model-abc", VOICES[1], "你好！") != base
    assert cache_key("kokoro/1.0/model-abc", VOICES[1], "你好。 ") != base


@pytest.mark.parametrize("voice", VOICES, ids=lambda v: type(v).__name__)
def test_key_changes_with_every_voice_field(voice: Voice) -> None:
    base = cache_key("e/1", voice, "话")
    for field in dataclasses.fields(voice):
        value = getattr(voice, field.name)
        if field.name == "transform":
            changed: object = VoiceTransform(formants=5.0)
        else:
            changed = value + 1 if isinstance(value, int | float) else value + "x"
        other = dataclasses.replace(voice, **{field.name: changed})
        assert cache_key("e/1", other, "话") != base, field.name


def test_key_changes_with_every_transform_field_and_the_method(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    transform = VoiceTransform(formants=-10.0, median_pitch=85.0, pitch_range=20.0)
    voice = KokoroVoice("jm_kumo", transform=transform)
    base = cache_key("e/1", voice, "话")
    assert base != cache_key("e/1", KokoroVoice("jm_kumo"), "话")
    for field in dataclasses.fields(transform):
        other = dataclasses.replace(transform, **{field.name: 99.0})
        assert cache_key("e/1", KokoroVoice("jm_kumo", transform=other), "话") != base
    monkeypatch.setattr(cache_module, "transform_identity", lambda: "praat-change-gender/r999")
    assert cache_key("e/1", voice, "话") != base


def test_key_tells_voice_classes_apart() -> None:
    @dataclasses.dataclass(frozen=True)
    class OtherVoice:
        engine = "espeak"
        variant: str = "cmn+f3"
        rate: int = 175
        pitch: int = 50

    assert cache_key("e/1", OtherVoice(), "话") != cache_key("e/1", EspeakVoice(), "话")  # type: ignore[arg-type]


def test_default_dir_follows_platform_and_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_cache_dir() == Path(platformdirs.user_cache_dir("interview-audio"))
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"


def test_put_then_get_round_trips_a_real_wav(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    spoken = speech()
    key = cache_key("tone/1", EspeakVoice(), "你好。世界！")
    assert cache.get(key) is None
    put = cache.put(key, spoken)
    got = cache.get(key)
    assert got == put
    assert put.path == tmp_path / key[:2] / f"{key}.wav"
    assert (tmp_path / key[:2] / f"{key}.json").is_file()
    assert put.sentences == spoken.sentences and len(put.sentences) == 2
    assert put.duration == pytest.approx(spoken.duration)
    with wave.open(str(put.path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        assert wav.getframerate() == spoken.sample_rate
        assert wav.readframes(wav.getnframes()) == spoken.pcm
    sidecar = json.loads(put.path.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["duration"] == pytest.approx(spoken.duration)


@pytest.mark.parametrize(
    "damage",
    ["no sidecar", "garbage sidecar", "truncated sidecar", "other key", "no wav", "short wav"],
)
def test_damaged_entries_are_misses_and_get_overwritten(tmp_path: Path, damage: str) -> None:
    cache = Cache(tmp_path)
    key = cache_key("tone/1", EspeakVoice(), "你好。世界！")
    entry = cache.put(key, speech())
    sidecar = entry.path.with_suffix(".json")
    if damage == "no sidecar":
        sidecar.unlink()
    elif damage == "garbage sidecar":
        sidecar.write_bytes(b"\xff\x00 not json")
    elif damage == "truncated sidecar":
        sidecar.write_bytes(sidecar.read_bytes()[:30])
    elif damage == "other key":
        document = json.loads(sidecar.read_text(encoding="utf-8"))
        document["key"] = "0" * 64
        sidecar.write_text(json.dumps(document), encoding="utf-8")
    elif damage == "no wav":
        entry.path.unlink()
    else:
        entry.path.write_bytes(entry.path.read_bytes()[:-100])
    assert cache.get(key) is None
    repaired = cache.put(key, speech())
    assert cache.get(key) == repaired == entry


def test_wav_of_another_length_is_a_miss(tmp_path: Path) -> None:
    """The WAV a sidecar describes is checked by size and header, not trusted."""
    cache = Cache(tmp_path)
    key_a = cache_key("tone/1", EspeakVoice(), "短。")
    key_b = cache_key("tone/1", EspeakVoice(), "长一些的句子。")
    a = cache.put(key_a, speech("短。"))
    b = cache.put(key_b, speech("长一些的句子。"))
    os.replace(b.path, a.path)
    assert cache.get(key_a) is None


def test_put_keeps_a_valid_entry_another_writer_committed(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    key = cache_key("tone/1", EspeakVoice(), "你好。")
    first = cache.put(key, speech("你好。", seconds_per_char=0.01))
    second = cache.put(key, speech("你好。", seconds_per_char=0.02))
    assert second == first == cache.get(key)


def _crash_between_wav_and_sidecar(root: str, key: str) -> None:
    """Die like a killed render: right when the sidecar would be renamed into place."""
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if str(dst).endswith(".json"):
            os._exit(17)
        real_replace(src, dst)

    os.replace = replace  # type: ignore[assignment]
    Cache(Path(root)).put(key, speech())


def test_crash_between_wav_and_sidecar_leaves_a_miss(tmp_path: Path) -> None:
    key = cache_key("tone/1", EspeakVoice(), "你好。世界！")
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=_crash_between_wav_and_sidecar, args=(str(tmp_path), key))
    child.start()
    child.join(60)
    assert child.exitcode == 17
    cache = Cache(tmp_path)
    wav, sidecar = cache.paths(key)
    assert wav.is_file() and not sidecar.exists()
    temps = list(wav.parent.glob(f".*{TEMP_MARKER}*"))
    assert len(temps) == 1 and temps[0].name.startswith(f".{key}{TEMP_MARKER}")
    assert temps[0].suffix == ".json"
    assert cache.get(key) is None
    assert cache.prune_temp() == 0  # fresh: might belong to a render still running
    old = time.time() - 7200
    os.utime(temps[0], (old, old))
    assert cache.prune_temp() == 1
    assert not temps[0].exists()
    entry = cache.put(key, speech())
    assert cache.get(key) == entry


def test_two_processes_writing_the_same_keys_agree(tmp_path: Path) -> None:
    """Both renders succeed, every entry is valid, and each render's segments describe the
    files that ended up on disk, even though the two engines make different lengths."""
    count = 40
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    children = [
        context.Process(target=fill_cache, args=(str(tmp_path), count, spc, barrier, results))
        for spc in (0.01, 0.013)
    ]
    for child in children:
        child.start()
    reports = [results.get(timeout=60) for _ in children]
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    cache = Cache(tmp_path)
    engine = ToneEngine()
    voice = EspeakVoice("cmn+f3")
    lines = make_lines([("甲", voice, f"第{i}句话。" * (1 + i % 5)) for i in range(count)])
    entries = [cache.get(cache_key(engine.identity, line.voice, line.speech)) for line in lines]
    assert all(entry is not None for entry in entries)
    on_disk = [entry.duration for entry in entries if entry is not None]
    assert reports[0] == on_disk and reports[1] == on_disk
    assert not list(tmp_path.glob(f"*/.*{TEMP_MARKER}*"))


def test_unwritable_cache_raises_render_error(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory should be", encoding="utf-8")
    with pytest.raises(RenderError, match=ENV_VAR):
        Cache(blocker).put(cache_key("tone/1", EspeakVoice(), "话"), speech("话"))


def test_malformed_speech_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="16-bit"):
        Cache(tmp_path).put("ab" * 32, Speech(b"\x00\x00\x00", 8000, ()))
    assert not list(tmp_path.rglob("*.json"))


def test_measurements_are_kept_with_the_entry(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    key = cache_key("tone/1", VOICES[2], "你好")
    assert cache.measurements(key) is None
    cache.keep_measurements(key, {"version": 1, "gain": 2.5})  # no entry yet: nothing kept
    assert cache.measurements(key) is None
    entry = cache.put(key, speech())
    cache.keep_measurements(key, {"version": 1, "gain": 2.5})
    assert cache.measurements(key) == {"version": 1, "gain": 2.5}
    # The entry itself is untouched, and still a hit.
    assert cache.get(key) == entry
    assert json.loads(cache.paths(key)[1].read_text(encoding="utf-8"))["frames"] == entry.frames


def test_measurements_go_when_the_entry_is_written_anew(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    key = cache_key("tone/1", VOICES[2], "你好")
    cache.put(key, speech())
    cache.keep_measurements(key, {"gain": 1.0})
    wav, _ = cache.paths(key)
    wav.write_bytes(wav.read_bytes()[:-2])  # damaged: the next put replaces the entry
    cache.put(key, speech(pitch=60))
    assert cache.measurements(key) is None


def test_measurements_of_another_key_are_not_handed_out(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    key = cache_key("tone/1", VOICES[2], "你好")
    cache.put(key, speech())
    cache.keep_measurements(key, {"gain": 1.0})
    other = cache_key("tone/1", VOICES[2], "再见")
    wav, sidecar = cache.paths(other)
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    sidecar.write_bytes(cache.paths(key)[1].read_bytes())  # a sidecar copied under a wrong name
    assert cache.measurements(other) is None


def test_measurements_that_cannot_be_written_are_only_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache = Cache(tmp_path)
    key = cache_key("tone/1", VOICES[2], "你好")
    cache.put(key, speech())

    def full_disk(path: Path, write: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("interview_audio.synthesis.cache._write_durably", full_disk)
    cache.keep_measurements(key, {"gain": 1.0})
    assert cache.measurements(key) is None
    assert "measures that line again" in caplog.text
    assert cache.get(key) is not None
