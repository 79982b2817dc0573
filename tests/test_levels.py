"""Levelling from kept measurements, and the episode's loudness from the lines' profiles,
checked against independent meters (pyloudnorm, 8x oversampling by scipy)."""

from __future__ import annotations

import json
import math

import numpy as np
import pyloudnorm
import pytest
from scipy.signal import resample_poly

from interview_audio.audio.levels import LineLevels, analyse, level
from interview_audio.audio.loudness import LoudnessMeter, Placed, episode_loudness, measure

RATE = 24000
CEILING = -2.0


def buzz(seconds: float, pitch: float, peak_dbfs: float, peaky: bool, seed: int = 0) -> np.ndarray:
    """Voice-like: harmonics with a syllable rhythm, in silence. `peaky` puts many of them in
    phase, a crest factor like plosive-rich speech, which the limiter has to catch."""
    t = np.arange(round(seconds * RATE)) / RATE
    count = 30 if peaky else 10
    phases = np.zeros(count) if peaky else np.random.default_rng(seed).uniform(0, 6.3, count)
    harmonics = sum(
        np.sin(2 * np.pi * k * pitch * t + phases[k - 1]) / (math.sqrt(k) if peaky else k)
        for k in range(1, count + 1)
        if k * pitch < RATE / 2.2
    )
    signal = harmonics * (0.6 + 0.4 * np.sin(2 * np.pi * 3.0 * t))
    signal = signal / np.max(np.abs(signal)) * 10 ** (peak_dbfs / 20)
    silence = np.zeros(round(0.3 * RATE))
    return np.concatenate([silence, signal, silence])


def true_peak(samples: np.ndarray) -> float:
    """dBTP by 4x oversampling, as BS.1770 defines it (scipy's interpolator, not ours)."""
    return 20 * math.log10(np.max(np.abs(resample_poly(samples, 4, 1))))


def loudness(samples: np.ndarray) -> float:
    return float(pyloudnorm.Meter(RATE).integrated_loudness(samples))


@pytest.mark.parametrize("peaky", [False, True], ids=["smooth", "peaky"])
def test_a_line_levelled_from_its_record_meets_a_moved_target(peaky: bool) -> None:
    samples = buzz(4.0, 150, -6.0, peaky)
    record = LineLevels.from_json(
        json.loads(json.dumps(analyse(samples, RATE, -16.0, CEILING).to_json()))
    )
    assert record is not None
    kept = samples[record.first : record.stop]
    # The episode-wide correction moves every line by up to about a dB. (The fit stops within
    # 0.1 LU by our meter; pyloudnorm reads a 4 s clip a few hundredths differently.)
    for target in (-16.0, -15.5, -15.0):
        levelled, gain = level(kept, record, target, CEILING)
        assert loudness(levelled) == pytest.approx(target, abs=0.2)
        assert true_peak(levelled) <= CEILING + 0.1
    if peaky:
        # The limiter had to act, and took loudness that the gain gave back.
        assert record.peak + record.gain > CEILING
        assert gain > -15.0 - record.loudness
    else:
        assert gain == pytest.approx(-15.0 - record.loudness)


def test_a_much_lower_ceiling_is_met_from_the_audio() -> None:
    samples = buzz(3.0, 180, -6.0, True)
    record = analyse(samples, RATE, -16.0, CEILING)
    kept = samples[record.first : record.stop]
    levelled, _ = level(kept, record, -16.0, CEILING - 12.0)
    assert true_peak(levelled) <= CEILING - 12.0 + 0.1


def test_trimming_keeps_a_margin_around_the_sound() -> None:
    samples = buzz(2.0, 150, -10.0, False)
    record = analyse(samples, RATE, -16.0, CEILING)
    sound_start, sound_end = round(0.3 * RATE), round(2.3 * RATE)
    assert record.first + record.lead == pytest.approx(sound_start, abs=2)
    assert record.stop - record.tail == pytest.approx(sound_end, abs=2)
    assert record.lead == record.tail == round(0.02 * RATE)


def test_a_silent_line_keeps_its_level_and_gets_no_time() -> None:
    record = analyse(np.zeros(RATE), RATE, -16.0, CEILING)
    assert not record.measured and record.length == 0
    again = LineLevels.from_json(record.to_json())
    assert again is not None and not again.measured and again.length == 0


def test_records_round_trip_and_refuse_what_they_do_not_know() -> None:
    record = analyse(buzz(3.0, 130, -3.0, True), RATE, -16.0, CEILING)
    data = json.loads(json.dumps(record.to_json()))
    again = LineLevels.from_json(data)
    assert again is not None
    for field in ("rate", "first", "stop", "lead", "tail", "loudness", "peak", "gain", "slope"):
        assert getattr(again, field) == getattr(record, field)
    np.testing.assert_array_equal(again.peaks.values(), record.peaks.values())
    np.testing.assert_allclose(again.profile, record.profile, rtol=1e-3)
    assert again.suits(RATE, -16.0, CEILING) and not again.suits(RATE, -14.0, CEILING)
    assert LineLevels.from_json({**data, "version": 99}) is None
    assert LineLevels.from_json({**data, "stop": data["stop"] + 1}) is None  # peaks too short
    assert LineLevels.from_json({**data, "profile": "not base64!"}) is None
    assert LineLevels.from_json({key: v for key, v in data.items() if key != "gain"}) is None


def test_kept_peaks_are_rounded_up_never_down() -> None:
    record = analyse(buzz(3.0, 130, -3.0, True), RATE, -16.0, CEILING)
    kept = record.peaks.values()
    assert np.any(kept > 0) and np.all(kept[kept > 0] > record.peaks.floor)
    samples = buzz(3.0, 130, -3.0, True)[record.first : record.stop]
    exact = np.abs(resample_poly(samples, 4, 1)).reshape(-1, 4).max(axis=1)
    # Every sample's kept value covers its own true peak (within the interpolators' difference).
    covered = kept > 0
    assert np.all(kept[covered] >= exact[covered] * 10 ** (-0.1 / 20))


def test_the_episode_loudness_from_profiles_matches_metering_the_stream() -> None:
    lines = [buzz(2.5, 120 + 30 * i, -6.0 - 3 * i, i % 2 == 0, seed=i) for i in range(5)]
    gaps = [0, 7000, 19000, 3000, 40000]
    meter = LoudnessMeter(RATE)
    placed = []
    position = 0
    for gap, line in zip(gaps, lines, strict=True):
        meter.silence(gap)
        meter.feed(line)
        position += gap
        placed.append(Placed(position, len(line), measure(line, RATE).profile))
        position += len(line)
    estimate = episode_loudness(placed, position, RATE)
    assert estimate == pytest.approx(meter.integrated(), abs=0.02)
    stream = np.concatenate(
        [np.concatenate([np.zeros(g), x]) for g, x in zip(gaps, lines, strict=True)]
    )
    assert estimate == pytest.approx(loudness(stream), abs=0.1)


def test_an_episode_shorter_than_a_block_reads_as_its_mean_loudness() -> None:
    line = buzz(0.2, 150, -10.0, False)[round(0.3 * RATE) : round(0.5 * RATE)]
    estimate = episode_loudness(
        [Placed(0, len(line), measure(line, RATE).profile)], len(line), RATE
    )
    meter = LoudnessMeter(RATE)
    meter.feed(line)
    assert estimate == pytest.approx(meter.integrated(), abs=0.01)
    assert episode_loudness([], 1000, RATE) == -math.inf
