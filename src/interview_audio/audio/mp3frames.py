"""MP3 frames: chapter files cut from the episode's own stream instead of encoded again.

A Layer III frame is not independent: its data may begin in the frames before it (the bit
reservoir, up to 511 bytes back), and its first samples overlap the previous frame's and pass
the decoder's synthesis filter. So a chapter file starts a few frames (about 80 ms) before the
chapter, and the LAME tag of its Info frame tells decoders how many samples to skip there (the
encoder delay, up to 4095) and how many to drop at the end (the padding), as they already do
for the encoder's own delay. The first frames, whose reservoir lies before the cut, decode as
silence or not at all (decoders treat them like the first frames after a seek), and the frames
after them take part of a frame to recover; all of that falls within the skipped samples at
96 kbit/s (ffmpeg: identical samples from the first one kept). At much lower bit rates the
reservoir spans more frames and the recovery can reach the first milliseconds of the chapter,
which lie in the pause before it. Decoders that ignore the tag play a little more of that
pause at both ends.

(Emptying the borrowing frames' side information would make them valid silent frames, but
ffmpeg's decoder then loses its place in the reservoir for two more frames.)
"""

from __future__ import annotations

import functools
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

from interview_audio.errors import RenderError

# Decoders add this many samples of their own delay to the encoder delay in the LAME tag.
DECODER_DELAY = 529
# The LAME tag stores delay and padding in 12 bits each.
MAX_PADDING = 4095
_BITRATES = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {1: (44100, 48000, 32000), 2: (22050, 24000, 16000), 25: (11025, 12000, 8000)}
# The frame header bits that stay the same from frame to frame of a CBR stream (all but the
# padding bit and the private bit).
_SAME = 0xFFFFFCFF
_WRITE_CHUNK = 1 << 22


@dataclass(frozen=True)
class _Format:
    """What a frame header says about the stream: MPEG version, mono or not, rate."""

    version: int
    mono: bool
    sample_rate: int

    @property
    def samples_per_frame(self) -> int:
        return 1152 if self.version == 1 else 576

    @property
    def side_info(self) -> int:
        if self.version == 1:
            return 17 if self.mono else 32
        return 9 if self.mono else 17


@dataclass(frozen=True)
class Mp3Stream:
    """An MP3 file as our encoder wrote it: the Info frame, where each audio frame lies, and
    the encoder delay and padding in samples."""

    path: Path
    format: _Format
    info: bytes
    offsets: tuple[int, ...]
    end: int
    delay: int
    padding: int

    @property
    def samples(self) -> int:
        """How many samples a decoder that honours the LAME tag puts out."""
        return len(self.offsets) * self.format.samples_per_frame - self.delay - self.padding

    @property
    def seconds(self) -> float:
        return self.samples / self.format.sample_rate


def read_stream(path: Path) -> Mp3Stream:
    """Find the frames of an MP3 with a Xing/Info frame and a LAME tag (what ffmpeg writes)."""
    try:
        with (
            open(path, "rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            return _parse(path, data)
    except (OSError, ValueError) as exc:
        raise RenderError(f"Cannot read the encoded episode {path} ({exc}); render again.") from exc


def _parse(path: Path, data: mmap.mmap) -> Mp3Stream:
    start = _skip_id3(data)
    header = _header(data, start, path)
    fmt, size = _describe(header, path)
    info = bytes(data[start : start + size])
    tag = _tag_offsets(info, fmt)
    if tag is None:
        raise RenderError(
            f"{path} has no Info frame with a LAME tag; it cannot be cut into chapters."
        )
    lame = tag[1]
    packed = int.from_bytes(info[lame + 21 : lame + 24], "big")
    offsets: list[int] = []
    position = start + size
    total = len(data)
    expected = -1
    base = 0
    while position + 4 <= total:
        word = struct.unpack_from(">I", data, position)[0]
        if word & _SAME != expected:
            if data[position : position + 3] == b"TAG":
                break  # an ID3v1 tag at the end
            here, length = _describe(word, path)
            if here != fmt:
                raise RenderError(f"{path} changes format mid-stream; it cannot be cut.")
            expected, base = word & _SAME, length - ((word >> 9) & 1)
        length = base + ((word >> 9) & 1)
        if position + length > total:
            break  # a truncated last frame
        offsets.append(position)
        position += length
    return Mp3Stream(path, fmt, info, tuple(offsets), position, packed >> 12, packed & 0xFFF)


def _skip_id3(data: mmap.mmap) -> int:
    if data[:3] != b"ID3" or len(data) < 10:
        return 0
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | (byte & 0x7F)
    return 10 + size + (10 if data[5] & 0x10 else 0)


def _header(data: mmap.mmap, at: int, path: Path) -> int:
    if at + 4 > len(data):
        raise RenderError(f"{path} ends before its first MP3 frame; render again.")
    header: int = struct.unpack_from(">I", data, at)[0]
    return header


def _describe(header: int, path: Path) -> tuple[_Format, int]:
    """The stream format and frame length (bytes) of a Layer III frame header."""
    version_bits = (header >> 19) & 3
    bitrate_index = (header >> 12) & 15
    rate_index = (header >> 10) & 3
    if (
        header >> 21 != 0x7FF
        or version_bits == 1
        or (header >> 17) & 3 != 1
        or bitrate_index in (0, 15)
        or rate_index == 3
    ):
        raise RenderError(f"{path} is not the MP3 (Layer III) stream the encoder writes.")
    if not (header >> 16) & 1:
        raise RenderError(f"{path} has CRC-protected frames; it cannot be cut into chapters.")
    version = {3: 1, 2: 2, 0: 25}[version_bits]
    fmt = _Format(version, (header >> 6) & 3 == 3, _SAMPLE_RATES[version][rate_index])
    bitrate = _BITRATES[1 if version == 1 else 2][bitrate_index] * 1000
    per_frame = 144 if version == 1 else 72
    return fmt, per_frame * bitrate // fmt.sample_rate + ((header >> 9) & 1)


def _tag_offsets(info: bytes, fmt: _Format) -> tuple[int, int] | None:
    """Offsets of the Xing/Info tag and of its LAME extension within the Info frame."""
    xing = 4 + fmt.side_info
    if info[xing : xing + 4] not in (b"Info", b"Xing"):
        return None
    flags = int.from_bytes(info[xing + 4 : xing + 8], "big")
    if flags & 3 != 3:
        return None
    lame = xing + 8 + 4 + 4 + (100 if flags & 4 else 0) + (4 if flags & 8 else 0)
    if lame + 36 > len(info) or info[lame : lame + 4] not in (b"LAME", b"Lavc", b"Lavf"):
        return None
    return xing, lame


def cut(stream: Mp3Stream, start: int, end: int, output: Path) -> None:
    """Write the decoded samples [start, end) of `stream` as an MP3 file of their own.

    Samples count as a decoder that honours the LAME tag puts them out, at the stream's rate.
    """
    per_frame = stream.format.samples_per_frame
    if not 0 <= start <= end <= stream.samples:
        raise RenderError(
            f"Cannot cut samples {start} to {end} from {stream.path}, which has {stream.samples}."
        )
    lead = stream.delay + DECODER_DELAY
    # Start as early as the delay field allows, so everything the cut disturbs is skipped.
    first = max(0, -(-(start + lead - DECODER_DELAY - MAX_PADDING) // per_frame))
    delay = start + lead - DECODER_DELAY - first * per_frame
    last = min(len(stream.offsets), -(-(end + lead) // per_frame))
    padding = (last - first) * per_frame - delay - (end - start)
    if not (0 <= delay <= MAX_PADDING and 0 <= padding <= MAX_PADDING):
        raise RenderError(f"Cannot cut samples {start} to {end} from {stream.path} cleanly.")
    with (
        open(stream.path, "rb") as handle,
        mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
    ):
        begin = stream.offsets[first]
        stop = stream.offsets[last] if last < len(stream.offsets) else stream.end
        info = _info_frame(stream, last - first, stop - begin, delay, padding)
        music_crc = 0
        try:
            with open(output, "wb") as out:
                out.write(info)
                for position in range(begin, stop, _WRITE_CHUNK):
                    chunk = data[position : min(stop, position + _WRITE_CHUNK)]
                    out.write(chunk)
                    music_crc = crc16(chunk, music_crc)
                out.seek(0)
                out.write(_sign(info, stream.format, music_crc))
        except OSError as exc:
            raise RenderError(
                f"Cannot write the chapter file {output} ({exc.strerror}); check the folder is "
                "writable and has space."
            ) from exc


def _info_frame(
    stream: Mp3Stream, frames: int, audio_bytes: int, delay: int, padding: int
) -> bytearray:
    """The episode's Info frame, rewritten for a file of `frames` frames (CRC still to sign)."""
    info = bytearray(stream.info)
    offsets = _tag_offsets(stream.info, stream.format)
    assert offsets is not None  # read_stream checked it
    xing, lame = offsets
    total = len(info) + audio_bytes
    struct.pack_into(">II", info, xing + 8, frames, total)
    flags = int.from_bytes(info[xing + 4 : xing + 8], "big")
    if flags & 4:
        # TOC: at each percent of the duration, the byte position (as 256ths of the file).
        size = len(info)
        step = audio_bytes / max(frames, 1)
        info[xing + 16 : xing + 116] = bytes(
            min(255, int(256 * (size + step * (frames * i // 100)) / total)) for i in range(100)
        )
    info[lame + 21 : lame + 24] = ((delay << 12) | padding).to_bytes(3, "big")
    struct.pack_into(">I", info, lame + 28, total)
    return info


def _sign(info: bytearray, fmt: _Format, music_crc: int) -> bytearray:
    """Fill in the LAME tag's CRC of the audio frames and its own CRC (of the bytes before it)."""
    offsets = _tag_offsets(bytes(info), fmt)
    assert offsets is not None
    lame = offsets[1]
    struct.pack_into(">H", info, lame + 32, music_crc)
    struct.pack_into(">H", info, lame + 34, crc16(info[: lame + 34]))
    return info


# The CRC is computed over blocks of this many bytes side by side, then the blocks combined.
_CRC_BLOCK = 1024


@functools.cache
def _crc_table() -> tuple[int, ...]:
    """CRC-16/ARC (polynomial 0x8005, reflected) of each byte value."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


@functools.cache
def _crc_shift() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """What `_CRC_BLOCK` zero bytes do to a CRC, per low byte and per high byte: the update is
    linear, so a CRC moves past a whole block with two look-ups."""
    import numpy as np

    table = np.array(_crc_table(), dtype=np.uint16)
    states = np.concatenate([np.arange(256), np.arange(256) << 8]).astype(np.uint16)
    for _ in range(_CRC_BLOCK):
        states = table[states & 0xFF] ^ (states >> 8)
    return tuple(int(v) for v in states[:256]), tuple(int(v) for v in states[256:])


def crc16(data: bytes | bytearray | mmap.mmap, crc: int = 0) -> int:
    """CRC-16/ARC, as the LAME tag uses it; `crc` continues an earlier one.

    Large inputs are cut into blocks whose CRCs numpy computes side by side, one byte column
    at a time; they are then chained with `_crc_shift`.
    """
    import numpy as np

    table = _crc_table()
    raw = np.frombuffer(data, dtype=np.uint8)
    blocks = len(raw) // _CRC_BLOCK
    if blocks >= 2:
        columns = np.ascontiguousarray(raw[: blocks * _CRC_BLOCK].reshape(blocks, _CRC_BLOCK).T)
        lookup = np.array(table, dtype=np.uint16)
        states = np.zeros(blocks, dtype=np.uint16)
        states[0] = crc
        for column in columns:
            states = lookup[(states ^ column) & 0xFF] ^ (states >> 8)
        low, high = _crc_shift()
        crc = int(states[0])
        for state in states[1:].tolist():
            crc = low[crc & 0xFF] ^ high[crc >> 8] ^ state
        raw = raw[blocks * _CRC_BLOCK :]
    for byte in raw.tolist():
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc
