"""The offline engines, run for real: eSpeak NG (bundled library) and Kokoro-82M (int8 ONNX)."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from hashlib import sha256
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from interview_audio.article.script import Gender, Role
from interview_audio.errors import EngineUnavailable, VoicesError
from interview_audio.synthesis.engines.base import EngineOptions, Speech
from interview_audio.synthesis.engines.edge.voice import EdgeVoice
from interview_audio.synthesis.engines.espeak.engine import EspeakEngine
from interview_audio.synthesis.engines.espeak.voice import EspeakVoice
from interview_audio.synthesis.engines.kokoro import engine as kokoro_engine
from interview_audio.synthesis.engines.kokoro import model as kokoro_model
from interview_audio.synthesis.engines.kokoro import phonemes as kokoro_phonemes
from interview_audio.synthesis.engines.kokoro.engine import KokoroEngine
from interview_audio.synthesis.engines.kokoro.phonemes import english_phonemes, split_phonemes
from interview_audio.synthesis.engines.kokoro.voice import KokoroSettings, KokoroVoice
from interview_audio.synthesis.transform import apply_transform
from interview_audio.voices.load import load_voices
from interview_audio.voices.model import VoiceSet, VoiceTransform

SENTENCE = "我们今天请到了一位嘉宾，他在人工智能领域工作了十年。"
SHIPPED = load_voices(None)
_HOST_SET = SHIPPED.role_voices(Role.HOST)
assert _HOST_SET is not None
_HOST_VOICE = _HOST_SET.for_engine("kokoro")
assert isinstance(_HOST_VOICE, KokoroVoice)
HOST = _HOST_VOICE.style


def samples(speech: Speech) -> npt.NDArray[np.float64]:
    return np.frombuffer(speech.pcm, dtype="<i2").astype(np.float64) / 32768.0


def rms(speech: Speech) -> float:
    return float(np.sqrt(np.mean(samples(speech) ** 2)))


def mean_f0(speech: Speech, fmin: float = 60.0, fmax: float = 400.0) -> float:
    """Mean pitch of voiced 40 ms frames by normalized autocorrelation (octave-safe pick)."""
    x, rate = samples(speech), speech.sample_rate
    size, hop = int(0.04 * rate), int(0.01 * rate)
    frames = np.stack([x[s : s + size] for s in range(0, len(x) - size, hop)])
    frames -= frames.mean(axis=1, keepdims=True)
    energy = np.sqrt((frames**2).mean(axis=1))
    window = np.hanning(size)

    def autocorrelation(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        spectrum = np.fft.rfft(a, 2 * size, axis=-1)
        result: npt.NDArray[np.float64] = np.fft.irfft(np.abs(spectrum) ** 2, axis=-1)[..., :size]
        return result

    ac = autocorrelation(frames * window) / np.maximum(autocorrelation(window), 1e-9)
    ac /= np.maximum(ac[:, :1], 1e-12)
    low, high = int(rate / fmax), int(rate / fmin)
    band = ac[:, low:high]
    best = band.max(axis=1)
    first = np.argmax(band >= 0.9 * best[:, None], axis=1)
    voiced = (best > 0.5) & (energy > 0.1 * energy.max())
    return float(np.mean(rate / (low + first[voiced])))


def f0_track(speech: Speech) -> npt.NDArray[np.float64]:
    """Voiced F0 values by Praat's cross-correlation pitch track, 10 ms apart."""
    import parselmouth

    sound = parselmouth.Sound(samples(speech), sampling_frequency=speech.sample_rate)
    pitch = sound.to_pitch_cc(time_step=0.01, pitch_floor=60.0, pitch_ceiling=500.0)
    frequencies: npt.NDArray[np.float64] = pitch.selected_array["frequency"]
    return frequencies[frequencies > 0]


def assert_timings(speech: Speech, count: int) -> None:
    assert len(speech.sentences) == count
    previous_end = 0.0
    for timing in speech.sentences:
        assert previous_end <= timing.start < timing.end
        previous_end = timing.end
    assert speech.sentences[0].start == 0.0
    assert speech.sentences[-1].end == pytest.approx(speech.duration, abs=1e-3)


# ---------------------------------------------------------------------------------------------
# eSpeak NG


@pytest.fixture(scope="module")
def espeak() -> EspeakEngine:
    return EspeakEngine.load(EngineOptions(jobs=4))


def test_espeak_speaks_chinese_with_plausible_duration(espeak: EspeakEngine) -> None:
    speech = espeak.synthesize(SENTENCE + "我们开始吧。", EspeakVoice("cmn+f3"))
    assert speech.sample_rate == 22050
    assert rms(speech) > 0.02
    characters = len(SENTENCE) + 5
    assert 0.1 * characters < speech.duration < 0.6 * characters
    assert_timings(speech, 2)
    assert espeak.jobs == 1
    assert "espeak-ng-1." in espeak.identity


def test_espeak_rate_changes_duration(espeak: EspeakEngine) -> None:
    slow = espeak.synthesize(SENTENCE, EspeakVoice("cmn", rate=100))
    fast = espeak.synthesize(SENTENCE, EspeakVoice("cmn", rate=300))
    assert slow.duration > 1.8 * fast.duration


def test_espeak_pitch_changes_f0(espeak: EspeakEngine) -> None:
    low = espeak.synthesize(SENTENCE, EspeakVoice("cmn+m3", pitch=10))
    high = espeak.synthesize(SENTENCE, EspeakVoice("cmn+m3", pitch=90))
    assert mean_f0(high) > 1.3 * mean_f0(low)


@pytest.mark.parametrize(
    ("variant", "hint"),
    [
        ("cmn+nosuchvoice", "like cmn+f3"),
        ("cmn+stef", "did you mean cmn+steph"),
        ("yue+Klat", "did you mean yue+klatt"),
        ("klingon+f3", "cmn"),
        ("cmn+", "cmn+f3"),
    ],
)
def test_espeak_bad_variant_suggests_the_closest(
    espeak: EspeakEngine, variant: str, hint: str
) -> None:
    with pytest.raises(VoicesError) as caught:
        espeak.synthesize("你好。", EspeakVoice(variant))
    message = str(caught.value)
    assert variant in message and hint in message
    assert "robosoft" not in message  # the closest names, not all hundred of them


def test_espeak_rejects_other_engines_voices_and_bad_numbers(espeak: EspeakEngine) -> None:
    with pytest.raises(VoicesError, match="espeak"):
        espeak.check_voice(KokoroVoice("jm_kumo"))
    with pytest.raises(VoicesError, match="80 to 450"):
        espeak.check_voice(EspeakVoice("cmn+f3", rate=20))
    with pytest.raises(VoicesError, match="0 to 100"):
        espeak.check_voice(EspeakVoice("cmn+f3", pitch=101))
    espeak.check_voice(EspeakVoice("yue"))
    espeak.check_voice(EspeakVoice("en-us+m3"))


def test_espeak_lists_variants_by_locale(espeak: EspeakEngine) -> None:
    mandarin = espeak.voices("zh-CN")
    names = {voice.name for voice in mandarin}
    assert {"cmn", "cmn+f3", "cmn+m3"} <= names
    assert {voice.locale for voice in mandarin} == {"zh-CN"}
    genders = {voice.name: voice.gender for voice in mandarin}
    assert genders["cmn+f3"] == "female" and genders["cmn+m3"] == "male"
    assert {voice.name for voice in espeak.voices("zh")} >= {"cmn", "yue"}
    assert espeak.voices("fr-FR") == []


# ---------------------------------------------------------------------------------------------
# Kokoro


@pytest.fixture(scope="module")
def kokoro() -> KokoroEngine:
    return KokoroEngine.load(EngineOptions())


# Tests speak fast and short: synthesis costs about a second per second of audio here.
FAST = 2.0
SHORT = "他说这个模型很好用。"


@pytest.fixture(scope="module")
def host_short(kokoro: KokoroEngine) -> Speech:
    return kokoro.synthesize(SHORT, KokoroVoice(HOST, FAST))


def test_english_words_and_acronyms_are_spoken(kokoro: KokoroEngine, host_short: Speech) -> None:
    text = SHORT.replace("这个", "这个AGI和ChatGPT")
    phonemes = kokoro.phonemes(text)
    assert "ˌAˌʤiˈI" in phonemes  # A-G-I spelt letter by letter
    assert "ʧˈæt" in phonemes  # "Chat" read as an English word
    assert "ˈti" in phonemes  # ...and GPT spelt
    with_english = kokoro.synthesize(text, KokoroVoice(HOST, FAST))
    assert with_english.duration > host_short.duration + 0.4
    assert rms(with_english) > 0.02


def test_english_run_keeps_words_and_splits_camel_case() -> None:
    from interview_audio.synthesis.engines.espeak.engine import espeak_library

    library = espeak_library()
    assert english_phonemes("OpenAI", library).endswith("ˌAˈI")
    assert english_phonemes("GPUs", library) == "ˌʤiˌpiˈjuz"
    spoken = english_phonemes("Sam Altman", library)
    assert "s" in spoken and "m" in spoken and "^" not in spoken


def test_hyphen_before_a_number_is_not_a_minus(kokoro: KokoroEngine) -> None:
    assert kokoro.phonemes("GPT-4发布了。") == kokoro.phonemes("GPT 4发布了。")
    assert "fu" not in kokoro.phonemes("GPT-4发布了。")  # not 负四


SHIPPED_SETS = [
    ("narrator", SHIPPED.narrator),
    *((role.value, voices) for role, voices in SHIPPED.roles),
    *((f"pool {n}", voices) for n, voices in enumerate(SHIPPED.pool, 1)),
]


@pytest.mark.parametrize(("who", "voices"), SHIPPED_SETS, ids=[who for who, _ in SHIPPED_SETS])
def test_shipped_kokoro_voices_sound_like_their_gender(
    kokoro: KokoroEngine, who: str, voices: VoiceSet
) -> None:
    """Pitch after the voice's transform: men below 165 Hz, women above (speaking ranges)."""
    voice = dataclasses.replace(voices.for_engine("kokoro"), speed=FAST)
    speech = apply_transform(kokoro.synthesize(SHORT, voice), voice)
    f0 = mean_f0(speech)
    assert voices.gender is not None, f"{who} has no gender in voices.yaml"
    if voices.gender is Gender.MALE:
        assert 70 < f0 < 165, (who, f0)
    else:
        assert 165 < f0 < 400, (who, f0)
    assert rms(speech) > 0.02


def test_wide_pitch_range_on_creaky_kokoro_speech(kokoro: KokoroEngine) -> None:
    """This line has frames far below its median; scaling the contour in hertz (Praat's Change
    gender) fails on it at +60 %, the log-frequency scaling the transform uses does not."""
    voice = KokoroVoice("jf_gongitsune", 1.15, VoiceTransform(pitch_range=60.0))
    spoken = kokoro.synthesize("本期内容：第一，ChatGPT的成功并非完全预料之中；", voice)
    wider = apply_transform(spoken, voice)
    assert len(wider.pcm) == len(spoken.pcm)

    def spread(speech: Speech) -> float:
        semitones = 12 * np.log2(f0_track(speech))
        return float(np.percentile(semitones, 90) - np.percentile(semitones, 10))

    assert spread(wider) > 1.3 * spread(spoken)


def test_style_mix_is_the_weighted_sum(kokoro: KokoroEngine) -> None:
    styles = kokoro._model.styles
    mixed = kokoro._style("jm_kumo*0.7+jf_alpha*0.3")
    assert np.allclose(mixed, 0.7 * styles["jm_kumo"] + 0.3 * styles["jf_alpha"], atol=1e-6)
    rounded = kokoro._style("jm_kumo*0.33+jf_alpha*0.33+jf_nezumi*0.33")
    third = (styles["jm_kumo"] + styles["jf_alpha"] + styles["jf_nezumi"]) / 3
    assert np.allclose(rounded, third, atol=1e-6)


@pytest.mark.parametrize(
    "style, fragment",
    [
        ("zm_nobody", "jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro, jm_kumo"),
        ("jm_kumo*0.7+nobody*0.3", "jm_kumo"),
        ("jm_kumo*0+jf_alpha*1", "above 0"),
        ("jm_kumo*-1", "weight"),
        ("jm_kumo*abc", "weight"),
        ("jm_kumo + jf_alpha", "jm_kumo*0.5"),
        ("jm_kumo*7+jf_alpha*3", "add up to 10; make them add up to 1"),
    ],
)
def test_bad_styles_list_the_choices(kokoro: KokoroEngine, style: str, fragment: str) -> None:
    with pytest.raises(VoicesError) as caught:
        kokoro.check_voice(KokoroVoice(style))
    assert fragment in str(caught.value)


def test_kokoro_runs_at_most_one_line_per_core(caplog: pytest.LogCaptureFixture) -> None:
    cpus = os.cpu_count() or 1
    with caplog.at_level(logging.INFO, logger="interview_audio.synthesis.engines.kokoro"):
        engine = KokoroEngine.load(EngineOptions(jobs=cpus + 6))
    assert engine.jobs == cpus
    assert f"--jobs {cpus + 6} asked" in caplog.text


def test_kokoro_rejects_bad_speed_and_other_voices(kokoro: KokoroEngine) -> None:
    with pytest.raises(VoicesError, match="0.5 to 2.0"):
        kokoro.check_voice(KokoroVoice(HOST, speed=3.0))
    with pytest.raises(VoicesError, match="kokoro"):
        kokoro.synthesize("你好。", EdgeVoice("zh-CN-YunxiNeural"))


def test_text_over_the_token_limit_is_spoken_whole(
    kokoro: KokoroEngine, host_short: Speech, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lower the id limit (510 would cost a minute of audio) so every sentence must be cut too."""
    ids = len(kokoro.phonemes(SHORT))
    monkeypatch.setattr(kokoro_engine, "MAX_IDS", ids * 2 // 3)
    long = kokoro.synthesize(SHORT * 2, KokoroVoice(HOST, FAST))
    assert len(kokoro.phonemes(SHORT * 2)) > 2 * kokoro_engine.MAX_IDS
    assert_timings(long, 2)
    one = host_short.duration
    for timing in long.sentences:  # a lost piece would make a sentence about half as long
        assert 0.8 * one < timing.end - timing.start < 1.8 * one
    assert rms(long) > 0.02


def test_split_phonemes_prefers_punctuation_and_respects_limit() -> None:
    text = "ab cd, ef gh. " * 40
    pieces = split_phonemes(text, 50)
    assert all(len(piece) <= 50 for piece in pieces)
    assert all(piece.endswith((",", ".")) for piece in pieces[:-1])
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
    assert split_phonemes("x" * 120, 50) == ["x" * 50, "x" * 50, "x" * 20]


def test_kokoro_lists_styles_and_identity(kokoro: KokoroEngine) -> None:
    voices = {voice.name: voice for voice in kokoro.voices("zh-CN")}
    assert set(voices) == {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"}
    assert voices["jm_kumo"].gender == "male" and voices["jf_alpha"].gender == "female"
    assert "Japanese" in voices["jm_kumo"].notes
    assert kokoro.voices("en-US") == []
    assert "6e742170d309016e" in kokoro.identity  # the packaged model's sha256
    # A render's default: one line per core, each on one thread (faster on CPUs with VNNI).
    assert kokoro.jobs == kokoro_engine.DEFAULT_JOBS_PER_CORE * (os.cpu_count() or 1)


def test_one_job_gives_the_line_every_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """A preview (one line) asks for one job: its model runs on every core; a render's runs
    one line per core on one thread each."""
    cores = os.cpu_count() or 1
    monkeypatch.setattr(kokoro_model, "_models", {})  # the threads of the models loaded here
    assert KokoroEngine.load(EngineOptions(jobs=1)).jobs == 1
    assert [threads for _, _, threads in kokoro_model._models] == [cores]
    KokoroEngine.load(EngineOptions())
    assert sorted(threads for _, _, threads in kokoro_model._models) == sorted({1, cores})


def test_missing_onnxruntime_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(EngineUnavailable, match="pip install onnxruntime"):
        KokoroEngine.load(EngineOptions())


def test_missing_model_file_is_unavailable(tmp_path: Path) -> None:
    missing = tmp_path / "kokoro-v1.0.onnx"
    with pytest.raises(EngineUnavailable, match="does not exist"):
        KokoroEngine.load(
            EngineOptions(engine_settings=(("kokoro", KokoroSettings(model=missing)),))
        )


def test_a_model_that_is_not_onnx_is_unavailable_at_its_first_line(tmp_path: Path) -> None:
    """The session is opened when a line needs it (a fully cached render never opens it), so a
    broken model file is reported then, naming the fix, and nothing is spoken."""
    broken = tmp_path / "kokoro-v1.0.onnx"
    broken.write_bytes(b"not an onnx model")
    engine = KokoroEngine.load(
        EngineOptions(engine_settings=(("kokoro", KokoroSettings(model=broken)),))
    )
    assert sha256(b"not an onnx model").hexdigest()[:16] in engine.identity
    with pytest.raises(EngineUnavailable, match="cannot load the Kokoro model kokoro-v1.0.onnx"):
        engine.synthesize("你好。", KokoroVoice(style="jm_kumo"))


def test_loading_the_engine_opens_no_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kokoro_model, "_models", {})  # not the model other tests spoke with
    monkeypatch.setattr(kokoro_phonemes, "_frontends", {})
    engine = KokoroEngine.load(EngineOptions(jobs=1))
    session = engine._model.session
    assert session._session is None  # identity, styles and voices need no session
    assert engine.identity and engine.voices("zh-CN")
    assert session._session is None
    assert kokoro_phonemes._frontends == {}  # nor misaki and jieba's dictionary
    assert engine.phonemes("你好。")
    assert list(kokoro_phonemes._frontends) == [engine._model.zh_frontend]


def test_missing_misaki_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "misaki.zh", None)
    with pytest.raises(EngineUnavailable, match="needs misaki: run `pip install"):
        KokoroEngine.load(EngineOptions())


def test_user_voices_files_give_their_style_names(tmp_path: Path) -> None:
    """Official releases ship an .npz of styles, or one raw float32 .bin per voice."""
    rows = np.random.default_rng(1).standard_normal((510, 1, 256)).astype(np.float32)
    np.savez(tmp_path / "voices-v1.0.npz", zf_xiaoxiao=rows, zm_yunxi=rows * 0.5)
    styles, digest = kokoro_model._load_styles(tmp_path / "voices-v1.0.npz")
    assert set(styles) == {"zf_xiaoxiao", "zm_yunxi"}
    assert styles["zm_yunxi"].shape == (510, 256)
    folder = tmp_path / "voices"
    folder.mkdir()
    (folder / "zf_001.bin").write_bytes(rows.tobytes())
    (folder / "zm_010.bin").write_bytes((rows * 2).tobytes())
    styles, folder_digest = kokoro_model._load_styles(folder)
    assert set(styles) == {"zf_001", "zm_010"} and folder_digest != digest
    assert np.allclose(styles["zm_010"], 2 * rows.reshape(510, 256))
    (tmp_path / "broken.bin").write_bytes(b"not a voice")
    with pytest.raises(EngineUnavailable, match="not a Kokoro voices file"):
        kokoro_model._load_styles(tmp_path / "broken.bin")
