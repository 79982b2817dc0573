"""Chapter files cut from an MP3's own frames, decoded by ffmpeg and read by mutagen.

The stream is encoded by our own encoder (ffmpeg + libmp3lame), from a signal that never falls
silent, so a cut in the middle of sound would show any damage the bit reservoir or the frame
overlap could do.
"""

from __future__ import annotations

import random
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from mutagen.mp3 import MP3

from interview_audio.audio.mp3frames import crc16, cut, read_stream
from interview_audio.errors import RenderError
from interview_audio.ffmpeg import Mp3Encoder, ffmpeg_exe, measure_loudness

pytestmark = pytest.mark.audio


def decode(path: Path) -> np.ndarray:
    """ffmpeg's decoding (it honours the LAME tag); any warning fails the test."""
    done = subprocess.run(
        [ffmpeg_exe(), "-v", "warning", "-i", str(path), "-f", "f32le", "-ac", "1", "-"],
        capture_output=True,
        check=True,
    )
    assert done.stderr == b"", done.stderr
    return np.frombuffer(done.stdout, "<f4")


def encode(path: Path, rate: int, output_rate: int, bitrate: str, seconds: float) -> None:
    t = np.arange(round(seconds * rate)) / rate
    rng = np.random.default_rng(3)
    sweep = np.sin(2 * np.pi * (200 + 300 * t) * t) * (0.4 + 0.3 * np.sin(2 * np.pi * 0.7 * t))
    signal = (sweep + 0.05 * rng.standard_normal(len(t))).astype("<f4")
    encoder = Mp3Encoder(
        path, input_rate=rate, output_rate=output_rate, bitrate=bitrate, what="encode a test"
    )
    encoder.write(signal.tobytes())
    encoder.finish()


@pytest.fixture(scope="module")
def stream_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mp3") / "episode.mp3"
    encode(path, 22050, 44100, "96k", 12.0)
    return path


def test_the_stream_reads_as_ffmpeg_decodes_it(stream_file: Path) -> None:
    stream = read_stream(stream_file)
    assert stream.samples == len(decode(stream_file)) == 2 * round(12.0 * 22050)
    assert (stream.format.sample_rate, stream.format.samples_per_frame) == (44100, 1152)
    assert stream.delay == 576
    info = MP3(stream_file).info
    assert len(stream.offsets) * 1152 == round(info.length * 44100)


def test_crc16_is_the_music_crc_ffmpeg_writes(stream_file: Path) -> None:
    data = stream_file.read_bytes()
    stream = read_stream(stream_file)
    stored = struct.unpack(">H", data[21 + 120 + 32 : 21 + 120 + 34])[0]
    assert crc16(data[stream.offsets[0] :]) == stored


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 2048, 5000, 70001])
def test_crc16_agrees_with_the_bitwise_definition(size: int) -> None:
    data = random.Random(size).randbytes(size)

    def bitwise(chunk: bytes, crc: int) -> int:
        for byte in chunk:
            crc ^= byte
            for _ in range(8):
                crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        return crc

    assert crc16(data) == bitwise(data, 0)
    assert crc16(data, 0x1234) == bitwise(data, 0x1234)


def test_cuts_anywhere_decode_to_exactly_the_episode_samples(
    stream_file: Path, tmp_path: Path
) -> None:
    stream = read_stream(stream_file)
    whole = decode(stream_file)
    # Cuts in the middle of sound, one of them within the first frames.
    bounds = [0, 9_000, 123_457, 300_001, 311_153, stream.samples]
    pieces = []
    for number, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        path = tmp_path / f"{number:02d}.mp3"
        cut(stream, start, end, path)
        piece = decode(path)
        assert len(piece) == end - start
        np.testing.assert_array_equal(piece, whole[start:end])
        assert read_stream(path).samples == end - start
        info = MP3(path).info
        assert (info.channels, info.sample_rate) == (1, 44100)
        assert info.bitrate == pytest.approx(96000, rel=0.001)
        pieces.append(piece)
    np.testing.assert_array_equal(np.concatenate(pieces), whole)


@pytest.mark.parametrize(("output_rate", "bitrate"), [(44100, "64k"), (24000, "48k")])
def test_other_rates_cut_to_the_exact_length(
    tmp_path: Path, output_rate: int, bitrate: str
) -> None:
    source = tmp_path / "episode.mp3"
    encode(source, 24000, output_rate, bitrate, 6.0)
    stream = read_stream(source)
    whole = decode(source)
    middle = stream.samples // 3
    cut(stream, middle, stream.samples, tmp_path / "tail.mp3")
    tail = decode(tmp_path / "tail.mp3")
    assert len(tail) == stream.samples - middle
    # A low bit rate may borrow more bytes than the skipped frames hold; past the first
    # frame of the cut the samples are the episode's.
    skip = 2 * stream.format.samples_per_frame
    np.testing.assert_allclose(tail[skip:], whole[middle + skip :], atol=1e-6)


def test_files_that_are_not_our_mp3_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"\xff\xfb\x90\x00" + bytes(500))  # a frame header, no Info frame
    with pytest.raises(RenderError, match="Info frame"):
        read_stream(junk)
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    with pytest.raises(RenderError, match="render again"):
        read_stream(empty)
    text = tmp_path / "text.mp3"
    text.write_bytes(b"not an mp3 at all" * 10)
    with pytest.raises(RenderError):
        read_stream(text)


def test_the_encoder_measures_what_it_writes_even_to_odd_names(tmp_path: Path) -> None:
    path = tmp_path / "we[ir]d|name's.mp3"
    rate = 22050
    t = np.arange(3 * rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype("<f4")
    encoder = Mp3Encoder(
        path, input_rate=rate, output_rate=44100, bitrate="96k", what="encode", measure=True
    )
    encoder.write(tone.tobytes())
    measured = encoder.finish()
    # What was measured on the way is what ffmpeg measures in the finished file.
    assert measured == measure_loudness(path)
    assert measured.true_peak == pytest.approx(-6.0, abs=0.6)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert len(decode(path)) == 2 * len(tone)
