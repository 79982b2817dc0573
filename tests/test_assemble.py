"""Assembly on real WAVs into real MP3s, checked with independent readers.

The segments are voice-like tones (harmonic buzz with a syllable rhythm and sharp edges, so the
audible start and end of each line are well defined) surrounded by silence, at very different
levels and at both engine sample rates. The MP3s are decoded by ffmpeg (which removes LAME's
encoder delay), loudness and true peak come from ffmpeg's ebur128 filter and pyloudnorm, and
the stream facts from mutagen. The properties hold however the assembly gets there: the same
episode assembled again from kept measurements must come out identical.
"""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
import wave
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyloudnorm
import pytest
from mutagen.mp3 import MP3, BitrateMode

import interview_audio.audio.assemble as assemble_module
import interview_audio.audio.encode as encode_module
from interview_audio.article.script import Role
from interview_audio.audio.assemble import (
    AssembleOptions,
    EpisodeChapter,
    Timeline,
    assemble,
)
from interview_audio.audio.loudness import LoudnessMeter
from interview_audio.errors import RenderError
from interview_audio.ffmpeg import ffmpeg_exe
from interview_audio.files import TEMP_MARKER
from interview_audio.synthesis.engines.base import SentenceTiming
from interview_audio.synthesis.engines.espeak.voice import EspeakVoice
from interview_audio.synthesis.queue import Line, Segment
from interview_audio.voices.model import Pauses

pytestmark = pytest.mark.audio

PAUSES = Pauses(paragraph=0.3, speaker_change=0.8, chapter=1.6)
LEAD, TAIL = 0.25, 0.35
OUT_RATE = 44100
FRAME = 1152 / OUT_RATE  # one MP3 frame, in seconds


# --- building segments --------------------------------------------------------------------------


def voice(seconds: float, rate: int, pitch: float, peak_dbfs: float, peaky: bool) -> np.ndarray:
    """A buzz with a 3.5 Hz syllable rhythm that never falls silent inside, 5 ms edges.

    `peaky` adds a plosive at the start of every syllable: a 4 ms click of harmonics in phase,
    12 dB over the buzz, which at -16 LUFS would go over -1 dBTP without a limiter (speech's
    peaks are rare and short: the limiter takes them down and little loudness with them).
    """
    t = np.arange(round(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(pitch * (1 + 0.05 * np.sin(2 * np.pi * 0.8 * t))) / rate
    count = int(min(12, rate / 2 / (pitch * 1.1)))
    buzz = sum(np.sin(k * phase) / k for k in range(1, count))
    envelope = 0.65 + 0.35 * np.sin(2 * np.pi * 3.5 * t)
    edge = round(0.005 * rate)
    ramp = np.ones(len(t))
    ramp[:edge] = np.linspace(0, 1, edge)
    ramp[-edge:] = np.linspace(1, 0, edge)
    signal = buzz * envelope * ramp
    if peaky:
        width = round(0.004 * rate)
        click = sum(
            np.cos(2 * np.pi * 2000 * k / 8 * np.arange(width) / rate) for k in range(1, 9)
        ) * np.hanning(width)
        click *= np.max(np.abs(signal)) * 10 ** (12 / 20) / np.max(np.abs(click))
        for start in np.arange(0.1, seconds - 0.05, 1 / 3.5):
            at = round(start * rate)
            signal[at : at + width] += click
    return signal / np.max(np.abs(signal)) * 10 ** (peak_dbfs / 20)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> float:
    padded = np.concatenate([np.zeros(round(LEAD * rate)), samples, np.zeros(round(TAIL * rate))])
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((np.clip(padded, -1, 32767 / 32768) * 32768).astype("<i2").tobytes())
    return len(padded) / rate


@dataclass(frozen=True)
class Spec:
    speaker: str
    turn: int | None
    paragraph: int
    seconds: float
    rate: int
    pitch: float
    peak_dbfs: float
    peaky: bool = False


# A narrator intro (chapter 0), a quiet host and a loud, peaky guest at another sample rate.
EPISODE = (
    Spec("旁白", None, 0, 1.6, 24000, 210, -12),
    Spec("主持人", 0, 0, 1.8, 24000, 130, -30),
    Spec("山姆·奥特曼", 1, 0, 2.0, 22050, 170, -6, peaky=True),
    Spec("山姆·奥特曼", 1, 1, 1.5, 22050, 170, -6, peaky=True),
    Spec("主持人", 2, 0, 1.4, 24000, 130, -30),
    Spec("山姆·奥特曼", 3, 0, 1.8, 22050, 170, -6, peaky=True),
)
CHAPTERS = (EpisodeChapter("开场", 0), EpisodeChapter("AGI/时间表?", 1), EpisodeChapter("结尾", 4))


def make_segments(folder: Path, specs: tuple[Spec, ...] = EPISODE) -> list[Segment]:
    segments = []
    for index, spec in enumerate(specs):
        path = folder / f"line{index}.wav"
        samples = voice(spec.seconds, spec.rate, spec.pitch, spec.peak_dbfs, spec.peaky)
        duration = write_wav(path, samples, spec.rate)
        role = Role.NARRATOR if spec.turn is None else Role.GUEST
        line = Line(
            index,
            spec.speaker,
            role,
            EspeakVoice(),
            f"第{index}行。",
            f"第{index}行。",
            spec.turn,
            spec.paragraph,
            0,
        )
        # The engine's sentence timing: the sound, inside the silence around it.
        sentence = SentenceTiming(line.text, LEAD, LEAD + spec.seconds)
        segments.append(Segment(line, path, duration, (sentence,), False))
    return segments


def cached_segments(folder: Path, specs: tuple[Spec, ...] = EPISODE) -> list[Segment]:
    """The segments as cache entries: each with a key its measurements are kept under."""
    return [
        dataclasses.replace(segment, key=f"key{index}")
        for index, segment in enumerate(make_segments(folder, specs))
    ]


# --- independent readers ------------------------------------------------------------------------


def decode(path: Path) -> np.ndarray:
    """The MP3 as float samples at 44.1 kHz, as ffmpeg decodes it (encoder delay removed);
    any warning from ffmpeg fails the test."""
    done = subprocess.run(
        [ffmpeg_exe(), "-v", "warning", "-i", str(path), "-f", "f32le", "-ac", "1", "-"],
        capture_output=True,
        check=True,
    )
    assert done.stderr == b"", done.stderr
    return np.frombuffer(done.stdout, "<f4").astype(np.float64)


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) from ffmpeg's ebur128 summary."""
    report = subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-nostats",
            "-i",
            str(path),
            "-af",
            "ebur128=peak=true:framelog=verbose",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    summary = report[report.rindex("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert integrated and peak, summary
    return float(integrated.group(1)), float(peak.group(1))


def assert_on_target(path: Path) -> None:
    """The MP3 measures -16 LUFS (ffmpeg and pyloudnorm agreeing) with true peak <= -1 dBTP."""
    integrated, peak = ebur128(path)
    assert integrated == pytest.approx(-16.0, abs=0.5)
    assert peak <= -1.0
    reference = pyloudnorm.Meter(OUT_RATE).integrated_loudness(decode(path))
    assert reference == pytest.approx(-16.0, abs=0.5)


def audible_runs(samples: np.ndarray, threshold_db: float = -40.0) -> list[tuple[float, float]]:
    """(start, end) seconds of the stretches louder than `threshold_db` below the peak,
    measured in 2 ms windows; gaps under 60 ms do not split a stretch."""
    window = round(0.002 * OUT_RATE)
    count = len(samples) // window
    level = np.abs(samples[: count * window]).reshape(count, window).max(axis=1)
    loud = level > np.max(level) * 10 ** (threshold_db / 20)
    runs: list[list[float]] = []
    for index in np.flatnonzero(loud):
        start, end = index * window / OUT_RATE, (index + 1) * window / OUT_RATE
        if runs and start - runs[-1][1] < 0.06:
            runs[-1][1] = end
        else:
            runs.append([start, end])
    return [(a, b) for a, b in runs]


# --- the episode all the property tests look at -------------------------------------------------


class MemoryStore:
    """Keeps measurements in a dict, as the cache keeps them in its sidecars."""

    def __init__(self) -> None:
        self.kept: dict[str, dict[str, Any]] = {}

    def measurements(self, key: str) -> Mapping[str, Any] | None:
        return self.kept.get(key)

    def keep_measurements(self, key: str, data: Mapping[str, Any]) -> None:
        self.kept[key] = dict(data)


@dataclass(frozen=True)
class Episode:
    folder: Path
    segments: list[Segment]
    timeline: Timeline
    mp3: Path
    chapter_dir: Path
    store: MemoryStore
    progress: list[tuple[str, float, float]]


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> Episode:
    folder = tmp_path_factory.mktemp("assemble")
    segments = cached_segments(folder)
    out = folder / "out"
    store = MemoryStore()
    progress: list[tuple[str, float, float]] = []
    timeline = assemble(
        segments,
        CHAPTERS,
        PAUSES,
        out / "episode.mp3",
        chapter_dir=out / "chapters",
        measurements=store,
        progress=lambda step, done, total: progress.append((step, done, total)),
    )
    return Episode(
        folder, segments, timeline, out / "episode.mp3", out / "chapters", store, progress
    )


def test_chapter_spans_cover_the_episode_without_gaps(episode: Episode) -> None:
    spans = episode.timeline.chapters
    assert [s.title for s in spans] == [c.title for c in CHAPTERS]
    assert spans[0].start == 0.0
    assert spans[-1].end == episode.timeline.duration
    for before, after in zip(spans, spans[1:], strict=False):
        assert before.end == after.start
        assert before.start < before.end
    placements = episode.timeline.placements
    for span, chapter in zip(spans, CHAPTERS, strict=True):
        first = placements[chapter.first_line]
        assert span.start <= first.start
        if chapter.first_line:
            assert span.start >= placements[chapter.first_line - 1].end


def test_timeline_matches_the_decoded_audio(episode: Episode) -> None:
    samples = decode(episode.mp3)
    assert len(samples) / OUT_RATE == pytest.approx(episode.timeline.duration, abs=0.03)
    runs = audible_runs(samples)
    assert len(runs) == len(episode.segments)
    for (start, end), placement in zip(runs, episode.timeline.placements, strict=True):
        # The placement keeps a 20 ms margin around the audible part.
        assert start == pytest.approx(placement.start + 0.02, abs=0.015)
        assert end == pytest.approx(placement.end - 0.02, abs=0.015)


def test_pauses_match_the_configuration(episode: Episode) -> None:
    runs = audible_runs(decode(episode.mp3))
    expected = [
        PAUSES.chapter,
        PAUSES.speaker_change,
        PAUSES.paragraph,
        PAUSES.chapter,
        PAUSES.speaker_change,
    ]
    measured = [after[0] - before[1] for before, after in zip(runs, runs[1:], strict=False)]
    # 50 ms would do for a listener; the assembler aims for exact, and a pause that forgot the
    # 2 x 20 ms trim margins must not pass.
    assert measured == pytest.approx(expected, abs=0.02)


def test_sentence_timings_are_in_episode_time(episode: Episode) -> None:
    for placement in episode.timeline.placements:
        (sentence,) = placement.sentences
        assert placement.start <= sentence.start < sentence.end <= placement.end
        # The sound began LEAD into the WAV; trimming kept 20 ms of it before the sound.
        assert sentence.start == pytest.approx(placement.start + 0.02, abs=0.002)


def test_loudness_and_true_peak_meet_the_targets(episode: Episode) -> None:
    assert_on_target(episode.mp3)


def test_the_peaky_voice_would_clip_without_the_limiter() -> None:
    """Makes the true-peak test meaningful: unlimited at -16 LUFS this voice passes -1 dBTP."""
    rate = 22050
    samples = voice(2.0, rate, 170, -6, peaky=True)
    loudness = pyloudnorm.Meter(rate).integrated_loudness(samples)
    over = np.abs(np.interp(np.arange(0, len(samples) - 1, 0.25), np.arange(len(samples)), samples))
    crest = 20 * math.log10(over.max()) - loudness
    assert -16.0 + crest > -1.0


def test_voices_come_out_equally_loud(episode: Episode) -> None:
    samples = decode(episode.mp3)
    meter = pyloudnorm.Meter(OUT_RATE)
    levels = [
        meter.integrated_loudness(samples[round(p.start * OUT_RATE) : round(p.end * OUT_RATE)])
        for p in episode.timeline.placements
    ]
    # The inputs were 24 dB apart (-30 and -6 dBFS peaks).
    assert max(levels) - min(levels) < 1.0
    assert np.mean(levels) == pytest.approx(-16.0, abs=1.0)


def test_chapters_start_in_the_middle_of_the_pause_before_them(episode: Episode) -> None:
    runs = audible_runs(decode(episode.mp3))
    spans = episode.timeline.chapters
    assert spans[0].start == 0.0
    for span, chapter in zip(spans[1:], CHAPTERS[1:], strict=True):
        before, after = runs[chapter.first_line - 1], runs[chapter.first_line]
        assert span.start == pytest.approx((before[1] + after[0]) / 2, abs=FRAME)


def test_chapter_files_play_alone_and_add_up_to_the_episode(episode: Episode) -> None:
    files = sorted(episode.chapter_dir.iterdir())
    assert [f.name for f in files] == ["01-开场.mp3", "02-AGI_时间表.mp3", "03-结尾.mp3"]
    assert [s.file for s in episode.timeline.chapters] == files
    whole = decode(episode.mp3)
    position = 0
    edge = round(0.1 * OUT_RATE)
    for number, (path, span) in enumerate(zip(files, episode.timeline.chapters, strict=True)):
        alone = decode(path)  # no warning from ffmpeg, on its own
        assert len(alone) / OUT_RATE == pytest.approx(span.end - span.start, abs=1 / OUT_RATE)
        # Sample for sample the episode's audio at that place: cut from the same frames.
        np.testing.assert_array_equal(alone, whole[position : position + len(alone)])
        position += len(alone)
        # Where it meets another chapter it starts or ends in the pause: no click, no
        # clipped word.
        if number > 0:
            assert np.max(np.abs(alone[:edge])) < 1e-3
        if number < len(files) - 1:
            assert np.max(np.abs(alone[-edge:])) < 1e-3
    assert position == len(whole)


def test_progress_follows_each_pass_over_the_audio(episode: Episode) -> None:
    steps = [step for step, _, _ in episode.progress]
    assert steps == sorted(steps, key=["measuring", "encoding"].index)
    assert set(steps) == {"measuring", "encoding"}
    for name in ("measuring", "encoding"):
        reports = [(done, total) for step, done, total in episode.progress if step == name]
        dones = [done for done, _ in reports]
        assert dones == sorted(dones)
        assert dones[0] == 0.0
        assert dones[-1] == reports[-1][1]
    # The encode covers the whole episode, pauses included.
    encoded = [total for step, _, total in episode.progress if step == "encoding"]
    assert encoded[-1] == pytest.approx(episode.timeline.duration, abs=1e-6)


class Checks:
    """Counts how the encoder's result gets measured: the whole MP3 while it is written, or
    regions of it afterwards."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.whole = 0
        self.regions = 0
        real_encoder, real_measure = encode_module.Mp3Encoder, encode_module.measure_loudness

        def encoder(*args: Any, **kwargs: Any) -> Any:
            self.whole += bool(kwargs.get("measure"))
            return real_encoder(*args, **kwargs)

        def measure(path: Path) -> Any:
            self.regions += 1
            return real_measure(path)

        monkeypatch.setattr(encode_module, "Mp3Encoder", encoder)
        monkeypatch.setattr(encode_module, "measure_loudness", measure)


def test_a_warm_assembly_measures_nothing_and_meets_the_targets(
    episode: Episode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert set(episode.store.kept) == {segment.key for segment in episode.segments}
    assert all(record["codec"] is not None for record in episode.store.kept.values())

    def no_analysis(*args: object, **kwargs: object) -> None:
        raise AssertionError("a line was analysed again")

    monkeypatch.setattr(assemble_module, "analyse", no_analysis)
    checks = Checks(monkeypatch)
    outputs = []
    progress: list[str] = []
    for number in (1, 2):
        folder = tmp_path / str(number)
        again = assemble(
            episode.segments,
            CHAPTERS,
            PAUSES,
            folder / "episode.mp3",
            chapter_dir=folder / "chapters",
            measurements=episode.store,
            progress=lambda step, done, total: progress.append(step),
        )
        outputs.append(folder)
    assert "measuring" not in progress
    # Known lines: the MP3's loudness and peak are known before encoding, nothing measured.
    assert (checks.whole, checks.regions) == (0, 0)
    integrated, peak = ebur128(outputs[0] / "episode.mp3")
    assert integrated == pytest.approx(-16.0, abs=0.5)
    assert peak <= -1.0
    # The same layout, and the same file every time from then on.
    assert again.duration == episode.timeline.duration
    assert [c.start for c in again.chapters] == [c.start for c in episode.timeline.chapters]
    first, second = (sorted(folder.rglob("*.mp3")) for folder in outputs)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def edited(segments: list[Segment], index: int, folder: Path, pitch: float) -> list[Segment]:
    """`segments` with line `index` spoken anew at `pitch`: other audio, another cache key
    ("edited")."""
    folder.mkdir()
    (replacement,) = make_segments(folder, (dataclasses.replace(EPISODE[index], pitch=pitch),))
    changed = list(segments)
    changed[index] = dataclasses.replace(replacement, line=segments[index].line, key="edited")
    return changed


def test_an_edited_line_is_measured_on_its_own(
    episode: Episode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MemoryStore()
    store.kept = dict(episode.store.kept)
    segments = edited(episode.segments, 4, tmp_path / "new", 150)
    checks = Checks(monkeypatch)
    steps: list[str] = []
    assemble(
        segments,
        CHAPTERS,
        PAUSES,
        tmp_path / "episode.mp3",
        measurements=store,
        progress=lambda step, done, total: steps.append(step),
    )
    assert "measuring" in steps
    assert (checks.whole, checks.regions) == (0, 1)
    assert store.kept["edited"]["codec"] is not None
    integrated, peak = ebur128(tmp_path / "episode.mp3")
    assert integrated == pytest.approx(-16.0, abs=0.5)
    assert peak <= -1.0


def test_a_re_render_starts_at_the_ceiling_the_last_encode_ended_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An encoder that overshoots more than the headroom (Debian's libmp3lame does on peaky
    # voices) makes the first render encode twice, the second time under a lower ceiling.
    monkeypatch.setattr(encode_module, "CODEC_HEADROOM_DB", -1.0)
    segments = cached_segments(tmp_path, EPISODE[2:4])
    store = MemoryStore()
    first: list[str] = []
    assemble(
        segments,
        [],
        PAUSES,
        tmp_path / "first.mp3",
        measurements=store,
        progress=lambda step, done, total: first.append(step),
    )
    assert "encoding again" in first
    # The re-render starts where that encode ended: one encode, predicted, nothing measured.
    checks = Checks(monkeypatch)
    again: list[str] = []
    assemble(
        segments,
        [],
        PAUSES,
        tmp_path / "again.mp3",
        measurements=store,
        progress=lambda step, done, total: again.append(step),
    )
    assert "encoding again" not in again and (checks.whole, checks.regions) == (0, 0)
    integrated, peak = ebur128(tmp_path / "again.mp3")
    assert peak <= -1.0
    assert integrated == pytest.approx(-16.0, abs=0.5)


def test_an_encode_that_misses_the_peak_target_is_done_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limiter lets the peaky voice's peaks up to 0 dBTP: whatever the encoder adds, the
    # first encode is over -1 dBTP.
    monkeypatch.setattr(encode_module, "CODEC_HEADROOM_DB", -1.0)
    segments = make_segments(tmp_path, EPISODE[2:4])
    steps: list[str] = []
    assemble(
        segments,
        [],
        PAUSES,
        tmp_path / "episode.mp3",
        progress=lambda step, done, total: steps.append(step),
    )
    assert "encoding again" in steps
    integrated, peak = ebur128(tmp_path / "episode.mp3")
    assert peak <= -1.0
    assert integrated == pytest.approx(-16.0, abs=0.5)


def test_files_are_mono_44k_cbr_96k(episode: Episode) -> None:
    for path in [episode.mp3, *episode.chapter_dir.iterdir()]:
        info = MP3(path).info
        assert (info.channels, info.sample_rate) == (1, 44100)
        # mutagen divides the bytes by the length, so a short file may read 95999.
        assert info.bitrate == pytest.approx(96000, rel=0.001)
        assert info.bitrate_mode == BitrateMode.CBR
        assert MP3(path).tags is None  # tags.py writes those


def test_no_temporary_files_are_left(episode: Episode) -> None:
    names = [p.name for p in (episode.folder / "out").rglob("*")]
    assert not [name for name in names if TEMP_MARKER in name or name.startswith(".")]


# --- failures and edge cases --------------------------------------------------------------------


def test_failure_midway_leaves_no_new_file_and_keeps_the_old(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = EPISODE[:4]
    segments = make_segments(tmp_path, specs)
    out = tmp_path / "out"
    out.mkdir()
    (out / "episode.mp3").write_bytes(b"the previous render")
    reads: list[int] = []
    real_read = assemble_module._read

    def failing_read(segment: Segment, rate: int) -> np.ndarray:
        reads.append(segment.line.index)
        # Midway through the encode, after the measuring pass read every line once.
        if len(reads) == len(specs) + 3:
            raise RenderError("the disk went away")
        return real_read(segment, rate)

    monkeypatch.setattr(assemble_module, "_read", failing_read)
    with pytest.raises(RenderError, match="disk went away"):
        assemble(segments, CHAPTERS[:2], PAUSES, out / "episode.mp3", chapter_dir=out / "ch")
    assert (out / "episode.mp3").read_bytes() == b"the previous render"
    leftovers = [p.name for p in out.rglob("*") if p.name != "episode.mp3" and p.is_file()]
    assert leftovers == []


def test_old_chapter_files_are_replaced(tmp_path: Path) -> None:
    segments = make_segments(tmp_path, EPISODE[:2])
    out = tmp_path / "out"
    (out / "ch").mkdir(parents=True)
    (out / "ch" / "07-旧章节.mp3").write_bytes(b"stale")
    (out / "ch" / "notes.txt").write_text("mine")
    timeline = assemble(
        segments,
        [EpisodeChapter("唯一", 0)],
        PAUSES,
        out / "episode.mp3",
        chapter_dir=out / "ch",
        options=AssembleOptions(bitrate="64k"),
    )
    assert sorted(p.name for p in (out / "ch").iterdir()) == ["01-唯一.mp3", "notes.txt"]
    assert MP3(out / "episode.mp3").info.bitrate == pytest.approx(64000, rel=0.001)
    assert timeline.chapters[0].end == timeline.duration


def test_without_chapters_there_are_no_spans_or_files(tmp_path: Path) -> None:
    segments = make_segments(tmp_path, EPISODE[1:3])
    timeline = assemble(segments, [], PAUSES, tmp_path / "out" / "episode.mp3")
    assert timeline.chapters == ()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["episode.mp3"]
    first, second = timeline.placements
    assert second.start - first.end == pytest.approx(PAUSES.speaker_change - 0.04, abs=0.001)
    assert timeline.duration == pytest.approx(
        len(decode(tmp_path / "out" / "episode.mp3")) / OUT_RATE, abs=0.03
    )


@pytest.mark.parametrize(
    ("chapters", "message"),
    [
        ([EpisodeChapter("a", 0), EpisodeChapter("b", 0)], "increasing"),
        ([EpisodeChapter("a", 0), EpisodeChapter("b", 9)], "lines 0 to 1"),
    ],
)
def test_bad_chapters_are_refused(
    tmp_path: Path, chapters: list[EpisodeChapter], message: str
) -> None:
    segments = make_segments(tmp_path, EPISODE[:2])
    with pytest.raises(RenderError, match=message):
        assemble(segments, chapters, PAUSES, tmp_path / "episode.mp3")
    assert not (tmp_path / "episode.mp3").exists()


def test_unreadable_segment_names_the_line(tmp_path: Path) -> None:
    segments = make_segments(tmp_path, EPISODE[:2])
    segments[1].path.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(RenderError, match=r"line 1 .*render again"):
        assemble(segments, [], PAUSES, tmp_path / "episode.mp3")
    assert not (tmp_path / "episode.mp3").exists()


def test_loudness_meter_agrees_with_pyloudnorm() -> None:
    rng = np.random.default_rng(7)
    for rate in (22050, 24000, 44100):
        # Noise in 100 ms steps of very different levels, so the gates matter.
        levels = np.repeat(10 ** (rng.uniform(-60, -6, 80) / 20), rate // 10)
        samples = rng.standard_normal(len(levels)) * levels * 0.3
        meter = LoudnessMeter(rate)
        for piece in np.array_split(samples, 37):  # fed in uneven pieces
            meter.feed(piece)
        reference = pyloudnorm.Meter(rate, filter_class="DeMan").integrated_loudness(samples)
        assert meter.integrated() == pytest.approx(reference, abs=0.05)


def test_a_peak_overshoot_known_beforehand_lowers_the_ceiling_without_a_second_encode(
    episode: Episode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Say the encoder had pushed these lines' peaks 2 dB over the limiter's ceiling.
    store = MemoryStore()
    for key, record in episode.store.kept.items():
        store.kept[key] = {**record, "codec": {**record["codec"], "overshoot": 2.0}}
    checks = Checks(monkeypatch)
    steps: list[str] = []
    assemble(
        episode.segments,
        CHAPTERS,
        PAUSES,
        tmp_path / "episode.mp3",
        measurements=store,
        progress=lambda step, done, total: steps.append(step),
    )
    assert "encoding again" not in steps and (checks.whole, checks.regions) == (0, 0)
    _, peak = ebur128(tmp_path / "episode.mp3")
    # The limiter held the peaks 2.3 dB under the target instead of 1.
    assert peak <= -2.8


def test_an_encode_that_misses_the_loudness_is_done_again_at_the_measured_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A wrong guess of what the encoder takes off: the first encode comes out 1.2 LU quiet.
    monkeypatch.setattr(encode_module, "CODEC_LOUDNESS_LOSS", -0.8)
    segments = make_segments(tmp_path, EPISODE[:3])
    steps: list[str] = []
    assemble(
        segments,
        [],
        PAUSES,
        tmp_path / "episode.mp3",
        progress=lambda step, done, total: steps.append(step),
    )
    assert "encoding again" in steps
    integrated, peak = ebur128(tmp_path / "episode.mp3")
    assert integrated == pytest.approx(-16.0, abs=0.3)
    assert peak <= -1.0
