"""Voice transforms on real synthesis: pitch and spectral envelope move as configured, timing
stays, and a changed transform re-synthesizes only the lines of that voice."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import numpy.typing as npt
import parselmouth
import pytest

from interview_audio.errors import EngineUnavailable
from interview_audio.synthesis import transform as transform_module
from interview_audio.synthesis.cache import Cache
from interview_audio.synthesis.engines.base import EngineOptions, Speech
from interview_audio.synthesis.engines.espeak.engine import EspeakEngine
from interview_audio.synthesis.engines.espeak.voice import EspeakVoice
from interview_audio.synthesis.queue import synthesize
from interview_audio.synthesis.transform import apply_transform
from interview_audio.voices.model import VoiceTransform
from tone_engine import ToneEngine, make_lines

SENTENCE = "我们今天请到了一位嘉宾，他在人工智能领域工作了很多年。大家都很想听听他的看法。"
MALE = EspeakVoice("cmn+m3", rate=160)


def samples(speech: Speech) -> npt.NDArray[np.float64]:
    return np.frombuffer(speech.pcm, dtype="<i2").astype(np.float64) / 32768.0


def pitch_track(speech: Speech) -> npt.NDArray[np.float64]:
    """Voiced F0 values (Hz) by Praat's cross-correlation method, 10 ms apart."""
    sound = parselmouth.Sound(samples(speech), sampling_frequency=speech.sample_rate)
    pitch = sound.to_pitch_cc(time_step=0.01, pitch_floor=60.0, pitch_ceiling=500.0)
    frequencies: npt.NDArray[np.float64] = pitch.selected_array["frequency"]
    return frequencies[frequencies > 0]


def envelope(speech: Speech) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(frequencies, mean log spectral envelope) over the loud frames: the cepstrum keeps only
    quefrencies under 2.5 ms, well below one pitch period, so harmonics do not show."""
    x, rate = samples(speech), speech.sample_rate
    size, hop = 1024, 256
    frames = np.stack([x[s : s + size] for s in range(0, len(x) - size, hop)])
    loud = frames[np.sqrt((frames**2).mean(axis=1)) > 0.5 * np.sqrt((x**2).mean())]
    spectrum = np.log(np.abs(np.fft.rfft(loud * np.hanning(size), axis=1)) + 1e-6)
    cepstrum = np.fft.irfft(spectrum, axis=1)
    lifter = int(0.0025 * rate)
    cepstrum[:, lifter:-lifter] = 0
    smooth = np.fft.rfft(cepstrum, axis=1).real.mean(axis=0)
    return np.fft.rfftfreq(size, 1 / rate), smooth


def envelope_shift(before: Speech, after: Speech) -> float:
    """The factor by which frequencies of `before`'s envelope best map onto `after`'s, from
    300 Hz to 4.5 kHz (where the first four formants of a voice lie)."""
    freqs, reference = envelope(before)
    _, moved = envelope(after)
    band = (freqs >= 300) & (freqs <= 4500)
    target = moved[band] - moved[band].mean()
    ratios = np.exp(np.linspace(np.log(0.7), np.log(1.4), 141))
    scores = []
    for ratio in ratios:
        warped = np.interp(freqs[band] / ratio, freqs, reference)
        warped -= warped.mean()
        scores.append(float(warped @ target / (np.linalg.norm(warped) * np.linalg.norm(target))))
    return float(ratios[int(np.argmax(scores))])


@pytest.fixture(scope="module")
def spoken() -> Speech:
    return EspeakEngine.load(EngineOptions()).synthesize(SENTENCE, MALE)


def transformed(speech: Speech, transform: VoiceTransform) -> Speech:
    return apply_transform(speech, dataclasses.replace(MALE, transform=transform))


def test_no_transform_is_the_engine_output(spoken: Speech) -> None:
    assert apply_transform(spoken, MALE) is spoken


def test_median_pitch_moves_f0_and_keeps_the_envelope(spoken: Speech) -> None:
    before = float(np.median(pitch_track(spoken)))
    after = transformed(spoken, VoiceTransform(median_pitch=150.0))
    assert before < 120
    assert float(np.median(pitch_track(after))) == pytest.approx(150.0, rel=0.05)
    assert envelope_shift(spoken, after) == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("formants", [-12.0, 15.0])
def test_formants_move_the_envelope_and_keep_the_pitch(spoken: Speech, formants: float) -> None:
    after = transformed(spoken, VoiceTransform(formants=formants))
    assert envelope_shift(spoken, after) == pytest.approx(1 + formants / 100, abs=0.02)
    before_f0, after_f0 = np.median(pitch_track(spoken)), np.median(pitch_track(after))
    assert after_f0 == pytest.approx(before_f0, rel=0.05)


def test_pitch_range_widens_the_intonation(spoken: Speech) -> None:
    def spread(speech: Speech) -> float:
        semitones = 12 * np.log2(pitch_track(speech))
        return float(np.percentile(semitones, 90) - np.percentile(semitones, 10))

    wider = transformed(spoken, VoiceTransform(pitch_range=60.0))
    flatter = transformed(spoken, VoiceTransform(pitch_range=-60.0))
    assert spread(wider) > 1.3 * spread(spoken)
    assert spread(flatter) < 0.7 * spread(spoken)


def test_all_three_together_and_timing_kept(spoken: Speech) -> None:
    change = VoiceTransform(formants=12.0, median_pitch=190.0, pitch_range=10.0)
    after = transformed(spoken, change)
    assert len(after.pcm) == len(spoken.pcm)
    assert after.sentences == spoken.sentences and after.sample_rate == spoken.sample_rate
    assert float(np.median(pitch_track(after))) == pytest.approx(190.0, rel=0.05)
    assert envelope_shift(spoken, after) == pytest.approx(1.12, abs=0.02)
    assert np.abs(samples(after)).max() < 1.0


def test_the_same_line_always_transforms_the_same(spoken: Speech) -> None:
    """PSOLA's pulses in unvoiced stretches are random unless Praat is seeded: the same line
    would come out a little different on every run (and score differently in benchmarks)."""
    change = VoiceTransform(formants=-15.0, median_pitch=100.0, pitch_range=20.0)
    first = transformed(spoken, change).pcm
    assert all(transformed(spoken, change).pcm == first for _ in range(3))


def test_missing_parselmouth_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, spoken: Speech
) -> None:
    def missing(name: str) -> None:
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(transform_module.importlib, "import_module", missing)
    with pytest.raises(EngineUnavailable, match="pip install praat-parselmouth"):
        transformed(spoken, VoiceTransform(formants=5.0))


def test_changed_transform_resynthesizes_only_that_voices_lines(tmp_path: Path) -> None:
    host = EspeakVoice("cmn+m3", transform=VoiceTransform(formants=-10.0, median_pitch=90.0))
    guest = EspeakVoice("cmn+m3", transform=VoiceTransform(formants=10.0, median_pitch=130.0))
    narrator = EspeakVoice("cmn+f3")
    texts = [("旁白", narrator, "欢迎收听。")]
    for i in range(6):
        texts.append(("主持人", host, f"第{i}个问题？") if i % 2 else ("嘉宾", guest, f"回答{i}。"))
    lines = make_lines(texts, narrator_intro=1)
    engine = ToneEngine(sample_rate=16000, seconds_per_char=0.08)
    first = synthesize(lines, engine, Cache(tmp_path))
    assert engine.calls == len(lines)

    retuned = dataclasses.replace(
        guest, transform=VoiceTransform(formants=14.0, median_pitch=130.0)
    )
    changed = [
        dataclasses.replace(line, voice=retuned) if line.voice == guest else line for line in lines
    ]
    engine = ToneEngine(sample_rate=16000, seconds_per_char=0.08)
    second = synthesize(changed, engine, Cache(tmp_path))
    guest_lines = sum(1 for line in lines if line.voice == guest)
    assert guest_lines == 3
    assert engine.calls == guest_lines
    assert [not s.cached for s in second] == [line.voice == retuned for line in changed]
    for before, after in zip(first, second, strict=True):
        assert (before.path == after.path) == (after.line.voice != retuned)
