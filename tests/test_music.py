"""Intro and outro music, on real WAVs and real MP3s, checked in the decoded audio.

The voices are test_assemble's buzzes (nothing above 2.4 kHz); the music is made by ffmpeg's
lavfi sources as a 5 kHz tone, so its level can be read in the episode on its own, in a band
where the voices have nothing, under the speech as well as alone.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from mutagen.id3 import ID3
from scipy.signal import butter, sosfilt
from typer.testing import CliRunner

import interview_audio.audio.assemble as assemble_module
from interview_audio.audio.assemble import Timeline, assemble
from interview_audio.audio.music import Music, MusicOptions, load_music, load_music_options
from interview_audio.cli import app
from interview_audio.errors import InputError
from interview_audio.ffmpeg import ffmpeg_exe
from interview_audio.synthesis.cache import Cache
from interview_audio.synthesis.queue import Segment
from interview_audio.voices.load import load_voices
from test_assemble import (
    CHAPTERS,
    EPISODE,
    OUT_RATE,
    PAUSES,
    Checks,
    MemoryStore,
    assert_on_target,
    cached_segments,
    decode,
    edited,
    make_segments,
)

pytestmark = pytest.mark.audio

TONE = 5000.0
LEAD, OUTRO, DUCK, FADE = 4.0, 6.0, 15.0, 2.0
SHORT = Path(__file__).parent / "fixtures" / "listen_short.txt"


def make_music(path: Path, seconds: float = 30.0) -> Path:
    """A steady 5 kHz tone, as an MP3 (what users give), from lavfi."""
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i"]
        + [f"sine=frequency={TONE:g}:sample_rate=44100:duration={seconds:g}", str(path)],
        check=True,
        timeout=60,
    )
    return path


def band(samples: np.ndarray) -> np.ndarray:
    """The music's band alone: the voices have no energy there."""
    sos = butter(6, [TONE - 400, TONE + 400], "bandpass", fs=OUT_RATE, output="sos")
    filtered: np.ndarray = sosfilt(sos, samples)
    return filtered


def level(samples: np.ndarray, start: float, end: float) -> float:
    """RMS level in dB of `samples` (at 44.1 kHz) from `start` to `end` seconds."""
    piece = samples[round(start * OUT_RATE) : round(end * OUT_RATE)]
    return float(20 * np.log10(np.sqrt(np.mean(piece**2)) + 1e-12))


@dataclass(frozen=True)
class Pair:
    """The same episode assembled without music and with it."""

    segments: list[Segment]
    plain: Timeline
    mp3: Path
    timeline: Timeline
    music: Music
    store: MemoryStore


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    folder = tmp_path_factory.mktemp("music")
    segments = cached_segments(folder)
    plain = assemble(segments, CHAPTERS, PAUSES, folder / "plain.mp3")
    options = MusicOptions(
        intro=make_music(folder / "theme.mp3"),
        intro_seconds=LEAD,
        outro_seconds=OUTRO,
        duck=DUCK,
        fade=FADE,
    )
    music = load_music(options, Cache(folder / "cache"))
    assert music is not None
    store = MemoryStore()
    mp3 = folder / "music.mp3"
    timeline = assemble(segments, CHAPTERS, PAUSES, mp3, measurements=store, music=music)
    return Pair(segments, plain, mp3, timeline, music, store)


def test_lines_chapters_and_sentences_move_by_the_intro(pair: Pair) -> None:
    shift = [
        after.start - before.start
        for before, after in zip(pair.plain.placements, pair.timeline.placements, strict=True)
    ]
    # The narrator is audible from LEAD on; every line after moves by as much.
    assert pair.timeline.placements[0].start + 0.02 == pytest.approx(LEAD, abs=1e-3)
    assert shift == pytest.approx([shift[0]] * len(shift), abs=1e-9)
    assert shift[0] == pytest.approx(LEAD - pair.plain.placements[0].start - 0.02, abs=1e-3)
    starts = [span.start for span in pair.timeline.chapters]
    assert starts[0] == 0.0
    plain = [span.start for span in pair.plain.chapters]
    assert [a - b for a, b in zip(starts[1:], plain[1:], strict=True)] == pytest.approx(
        [shift[0]] * (len(starts) - 1), abs=1e-9
    )
    for before, after in zip(pair.plain.placements, pair.timeline.placements, strict=True):
        (old,), (new,) = before.sentences, after.sentences
        assert new.start - old.start == pytest.approx(shift[0], abs=1e-9)
    # The outro follows the last line after a chapter's pause and plays OUTRO seconds.
    assert pair.timeline.duration == pytest.approx(
        pair.timeline.placements[-1].end + PAUSES.chapter - 0.02 + OUTRO, abs=0.01
    )
    assert pair.timeline.chapters[-1].end == pair.timeline.duration


def test_music_is_ducked_under_the_narrator_by_the_amount_chosen(pair: Pair) -> None:
    music = band(decode(pair.mp3))
    narrator = pair.timeline.placements[0]
    alone = level(music, 1.0, LEAD - 1.0)
    under = level(music, narrator.start + 0.3, narrator.end - 0.3)
    assert alone - under == pytest.approx(DUCK, abs=1.0)
    # Alone the music sits `level` LU under the speech: well above the ducked bed.
    assert alone > -40


def test_music_fades_out_after_the_introduction_and_at_the_end(pair: Pair) -> None:
    music = band(decode(pair.mp3))
    narrator = pair.timeline.placements[0]
    steps = [level(music, t, t + 0.25) for t in np.arange(narrator.end, narrator.end + FADE, 0.25)]
    assert steps == sorted(steps, reverse=True)  # going down all the way
    under = level(music, narrator.start + 0.3, narrator.end - 0.3)
    assert steps[-1] < under - 12
    # Nothing of it under the conversation.
    host = pair.timeline.placements[1]
    assert level(music, host.start + 0.5, pair.timeline.placements[-1].end) < under - 30
    # The outro: full after the last line, fading over its last FADE seconds.
    end = pair.timeline.duration
    outro = level(music, end - OUTRO + 0.5, end - FADE)
    assert outro == pytest.approx(level(music, 1.0, LEAD - 1.0), abs=1.0)
    tail = [level(music, t, t + 0.25) for t in np.arange(end - FADE, end - 0.2, 0.25)]
    assert tail == sorted(tail, reverse=True)
    assert tail[-1] < outro - 15
    # Between the last line and the outro: a pause, without music.
    last = pair.timeline.placements[-1]
    assert level(music, last.end, end - OUTRO) < outro - 40


def test_the_episode_with_music_meets_the_loudness_targets(pair: Pair) -> None:
    assert_on_target(pair.mp3)
    samples = decode(pair.mp3)
    meter = pyloudnorm.Meter(OUT_RATE)
    # The voices stay as loud as each other and as without music.
    voices = [
        meter.integrated_loudness(samples[round(p.start * OUT_RATE) : round(p.end * OUT_RATE)])
        for p in pair.timeline.placements[1:]
    ]
    assert max(voices) - min(voices) < 1.0


def true_peak(samples: np.ndarray) -> float:
    """dBTP of 44.1 kHz samples, 4x oversampled as BS.1770 does."""
    from scipy.signal import resample_poly

    return float(20 * np.log10(np.max(np.abs(resample_poly(samples, 4, 1)))))


def test_loud_music_under_a_peaky_narrator_raises_no_peak(tmp_path: Path) -> None:
    """The mix of a line and the music under it is limited again: the narrator's part of the
    episode peaks no higher than the speech alone does elsewhere."""
    specs = (dataclasses.replace(EPISODE[0], peaky=True, peak_dbfs=-6), *EPISODE[1:])
    segments = make_segments(tmp_path, specs)
    options = MusicOptions(intro=make_music(tmp_path / "theme.mp3"), level=0.0, duck=3.0)
    music = load_music(options, Cache(tmp_path / "cache"))
    mp3 = tmp_path / "loud.mp3"
    timeline = assemble(segments, CHAPTERS, PAUSES, mp3, music=music)
    samples = decode(mp3)
    regions = [
        true_peak(samples[round(p.start * OUT_RATE) : round(p.end * OUT_RATE)])
        for p in timeline.placements
    ]
    assert regions[0] <= max(regions[1:]) + 0.3
    assert_on_target(mp3)


def test_music_is_measured_once_and_then_predicted(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert pair.music.intro is not None
    # Kept at the episode's stream rate (the first line's engine's), measured there.
    _, key = pair.music.intro.at(EPISODE[0].rate)
    record = pair.store.kept[key]
    assert record["codec"] is not None  # the encoder's effect on it, kept with it

    def no_analysis(*args: object, **kwargs: object) -> None:
        raise AssertionError("something was analysed again")

    monkeypatch.setattr(assemble_module, "analyse", no_analysis)
    checks = Checks(monkeypatch)
    caplog.set_level(logging.INFO, "interview_audio.audio.assemble")
    mp3 = tmp_path / "again.mp3"
    again = assemble(
        pair.segments, CHAPTERS, PAUSES, mp3, measurements=pair.store, music=pair.music
    )
    assert (checks.whole, checks.regions) == (0, 0)
    assert "predicted from earlier renders" in caplog.text
    assert again.duration == pair.timeline.duration
    assert_on_target(mp3)


def test_a_new_line_over_the_music_has_the_whole_episode_measured(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MemoryStore()
    store.kept = dict(pair.store.kept)
    segments = edited(pair.segments, 0, tmp_path / "new", 180)  # the narrator's line
    checks = Checks(monkeypatch)
    mp3 = tmp_path / "edited.mp3"
    assemble(segments, CHAPTERS, PAUSES, mp3, measurements=store, music=pair.music)
    assert (checks.whole, checks.regions) == (1, 0)
    assert_on_target(mp3)


def test_without_music_nothing_changes(pair: Pair, tmp_path: Path) -> None:
    assert load_music(MusicOptions(), Cache(tmp_path / "cache")) is None
    assert (
        load_music(MusicOptions(outro=tmp_path / "x.mp3", outro_seconds=0), Cache(tmp_path)) is None
    )
    again = assemble(pair.segments, CHAPTERS, PAUSES, tmp_path / "plain.mp3")
    assert again == pair.plain
    assert pair.plain.placements[0].start == 0.0


def test_settings_come_from_the_config_file_next_to_the_music(tmp_path: Path) -> None:
    config = tmp_path / "interview-audio.toml"
    config.write_text(
        '[music]\nintro = "sounds/theme.mp3"\nduck = 12\nfade = 1.5\n', encoding="utf-8"
    )
    options = load_music_options(config)
    assert options.intro == tmp_path / "sounds" / "theme.mp3"
    assert (options.duck, options.fade, options.intro_seconds) == (12.0, 1.5, 5.0)
    assert load_music_options(config, tmp_path / "other.mp3").intro == tmp_path / "other.mp3"
    config.write_text('[music]\nduck = "loud"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"\[music\] duck must be a number, not 'loud'"):
        load_music_options(config)
    config.write_text("[music]\nvolume = 3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no setting 'volume': use one of intro, outro"):
        load_music_options(config)
    config.write_text("[music]\nduck = 80\n", encoding="utf-8")
    with pytest.raises(InputError, match="duck is 80; give a value from 0 to 40"):
        load_music_options(config)


def test_a_file_that_is_not_music_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    notes = tmp_path / "notes.mp3"
    notes.write_text("not music", encoding="utf-8")
    with pytest.raises(InputError, match="could not be read as audio"):
        load_music(MusicOptions(intro=notes), Cache(tmp_path / "cache"))
    with pytest.raises(InputError, match="Cannot read the music file"):
        load_music(MusicOptions(intro=tmp_path / "missing.mp3"), Cache(tmp_path / "cache"))


def test_render_with_music_from_the_config_moves_chapters_captions_and_tags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_music(tmp_path / "theme.mp3", 12.0)
    (tmp_path / "interview-audio.toml").write_text(
        '[music]\nintro = "theme.mp3"\nintro_seconds = 3\noutro_seconds = 4\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    folders = {}
    for name, flags in (("with", []), ("without", ["--no-music"])):
        result = CliRunner().invoke(
            app,
            ["render", str(SHORT), "--engine", "espeak", "-o", name, "--cache-dir", "cache"]
            + flags,
        )
        assert result.exit_code == 0, result.output
        (folders[name],) = [p for p in (tmp_path / name).iterdir() if p.is_dir()]

    def chapters(folder: Path) -> list[float]:
        document = json.loads((folder / "chapters.json").read_text(encoding="utf-8"))
        return [chapter["startTime"] for chapter in document["chapters"]]

    def cues(folder: Path) -> list[str]:
        text = (folder / "episode.vtt").read_text(encoding="utf-8")
        return [line.split(" --> ")[0] for line in text.splitlines() if " --> " in line]

    def marks(folder: Path) -> list[int]:
        return [frame.start_time for frame in ID3(folder / "episode.mp3").getall("CHAP")]

    shift = cues_seconds(cues(folders["with"]))[0] - cues_seconds(cues(folders["without"]))[0]
    assert shift == pytest.approx(3.0, abs=0.1)
    with_music, without = chapters(folders["with"]), chapters(folders["without"])
    assert with_music[0] == without[0] == 0.0
    assert [a - b for a, b in zip(with_music[1:], without[1:], strict=True)] == pytest.approx(
        [shift] * (len(without) - 1), abs=0.01
    )
    assert [
        a - b
        for a, b in zip(marks(folders["with"])[1:], marks(folders["without"])[1:], strict=True)
    ] == pytest.approx([shift * 1000] * (len(without) - 1), abs=10)
    later = [
        a - b
        for a, b in zip(
            cues_seconds(cues(folders["with"])), cues_seconds(cues(folders["without"])), strict=True
        )
    ]
    assert later == pytest.approx([shift] * len(later), abs=0.01)
    assert_on_target(folders["with"] / "episode.mp3")


def cues_seconds(cues: list[str]) -> list[float]:
    seconds = []
    for cue in cues:
        hours, minutes, rest = cue.split(":")
        seconds.append(int(hours) * 3600 + int(minutes) * 60 + float(rest))
    return seconds


def test_a_dry_run_estimates_with_the_music(tmp_path: Path) -> None:
    from interview_audio.pipeline import RenderOptions, render

    def estimate(music: MusicOptions) -> tuple[tuple[tuple[str, float], ...], float]:
        options = RenderOptions(
            output=tmp_path / "out", engine="espeak", dry_run=True, music=music, cache_dir=tmp_path
        )
        report = render(SHORT, options)
        return report.outline, report.estimate

    plain, length = estimate(MusicOptions())
    outline, longer = estimate(
        MusicOptions(intro=tmp_path / "theme.mp3", intro_seconds=3, outro_seconds=8)
    )
    assert [start for _, start in outline] == pytest.approx(
        [0.0] + [start + 3 for _, start in plain[1:]]
    )
    pause = load_voices(None).pauses.chapter  # the packaged voices.yaml's, before the outro
    assert longer == pytest.approx(length + 3 + pause + 8)
