"""A loopback fake of the Edge read-aloud service that speaks its real wire protocol.

The real `edge_tts` client is pointed at it (see /work/shared/docs/edge-tts-service.md), so
tests and benchmarks exercise the client's own parsing, its 403 retry and its silent
truncation, not a mock of them. Audio is real MPEG-2 layer III (24 kHz mono 48 kbit/s CBR)
whose length follows the text, so callers can check durations. Faults are switchable per
request (a schedule) or drawn at a seeded rate, and counters prove what was served.

Use it as a context manager; it patches the client's URLs, NO_PROXY and the DRM clock skew
for the duration and restores them after:

    with FakeEdgeService(latency=0.3, fault_rate=0.1) as fake:
        ...

or as a pytest fixture (this module does not import pytest, so benchmarks can use it):

    @pytest.fixture
    def fake() -> Iterator[FakeEdgeService]:
        yield from fake_edge_service(latency=0.3)
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from xml.sax.saxutils import escape, unescape

from aiohttp import WSMsgType, web

FRAME_SECONDS = 576 / 24_000  # one MPEG-2 layer III frame at 24 kHz
FRAME_BYTES = 144  # 48 kbit/s * 24 ms / 8
TICKS = 10_000_000  # the service counts time in 100-ns ticks
LEAD_SECONDS = 0.1  # silence before the first sentence, as the service sends
TAIL_SECONDS = 0.3  # silence after the last one

FAULTS = ("drop", "drop_sentence", "no_audio", "stall", "403", "429", "503")
"""drop: close mid-sentence after some audio (the client truncates silently).
drop_sentence: close after the first whole sentence, before the next one's metadata.
no_audio: turn.end without audio. stall: stop sending and keep the socket open.
403 (with a Date header), 429, 503: refuse the websocket handshake with that status."""

HANDSHAKE_FAULTS = ("403", "429", "503")
PROTOCOL_FAULTS = ("unknown_path",)
"""unknown_path: a text frame whose Path the client does not know (a changed protocol). Only on
request: retrying cannot help, so it is not among the FAULTS drawn at random by default."""

_SENTENCE = re.compile(r"[^。！？!?；;]+(?:[。！？!?；;]+[”’」』）)\"']*|$)")


def _voice(
    locale: str, name: str, gender: str, friendly: str, tags: Sequence[str]
) -> dict[str, Any]:
    return {
        "Name": f"Microsoft Server Speech Text to Speech Voice ({locale}, {name})",
        "ShortName": f"{locale}-{name}",
        "Gender": gender,
        "Locale": locale,
        "SuggestedCodec": "audio-24khz-48kbitrate-mono-mp3",
        "FriendlyName": f"Microsoft {friendly} Online (Natural) - {_LANGUAGE[locale]}",
        "Status": "GA",
        "VoiceTag": {"ContentCategories": ["General"], "VoicePersonalities": list(tags)},
    }


_LANGUAGE = {
    "zh-CN": "Chinese (Mainland)",
    "zh-CN-liaoning": "Chinese (Northeastern Mandarin)",
    "zh-CN-shaanxi": "Chinese (Zhongyuan Mandarin Shaanxi)",
    "zh-HK": "Chinese (Cantonese Traditional)",
    "zh-TW": "Chinese (Taiwanese Mandarin)",
    "en-US": "English (United States)",
}

VOICES: tuple[dict[str, Any], ...] = (
    _voice("zh-CN", "XiaoxiaoNeural", "Female", "Xiaoxiao", ["Warm"]),
    _voice("zh-CN", "XiaoyiNeural", "Female", "Xiaoyi", ["Lively"]),
    _voice("zh-CN", "YunjianNeural", "Male", "Yunjian", ["Passion"]),
    _voice("zh-CN", "YunxiNeural", "Male", "Yunxi", ["Lively", "Sunshine"]),
    _voice("zh-CN", "YunxiaNeural", "Male", "Yunxia", ["Cute"]),
    _voice("zh-CN", "YunyangNeural", "Male", "Yunyang", ["Professional", "Reliable"]),
    _voice("zh-CN-liaoning", "XiaobeiNeural", "Female", "Xiaobei", ["Humorous"]),
    _voice("zh-CN-shaanxi", "XiaoniNeural", "Female", "Xiaoni", ["Bright"]),
    _voice("zh-HK", "HiuMaanNeural", "Female", "HiuMaan", ["Friendly", "Positive"]),
    _voice("zh-TW", "HsiaoChenNeural", "Female", "HsiaoChen", ["Friendly", "Positive"]),
    _voice("zh-TW", "YunJheNeural", "Male", "YunJhe", ["Friendly", "Positive"]),
    _voice("en-US", "AriaNeural", "Female", "Aria", ["Positive", "Confident"]),
    _voice("en-US", "GuyNeural", "Male", "Guy", ["Passion"]),
    _voice("en-US", "EmmaMultilingualNeural", "Female", "Emma", ["Cheerful", "Clear"]),
)

# --- real MP3 frames, made once per process ----------------------------------------------------

_frames_lock = threading.Lock()
_frames: list[bytes] = []


def _ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


def mp3_frames() -> list[bytes]:
    """Ten seconds of a tone as self-contained 144-byte frames (no bit reservoir, no Xing tag).

    Without the reservoir every frame decodes on its own, so any run of N frames (cycled as
    needed) is a valid stream lasting exactly N * 24 ms, as the service's stream is.
    """
    with _frames_lock:
        if not _frames:
            command = [
                _ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "lavfi",
                "-i", "sine=frequency=330:sample_rate=24000:duration=10",
                "-ac", "1", "-ar", "24000", "-c:a", "libmp3lame", "-b:a", "48k",
                "-reservoir", "0", "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3", "pipe:1",
            ]  # fmt: skip
            data = subprocess.run(command, capture_output=True, check=True, timeout=60).stdout
            chunks = [data[i : i + FRAME_BYTES] for i in range(0, len(data), FRAME_BYTES)]
            if not chunks or any(len(c) != FRAME_BYTES or c[:2] != b"\xff\xf3" for c in chunks):
                raise RuntimeError("ffmpeg did not produce 24 kHz 48 kbit/s MPEG-2 layer III")
            _frames.extend(chunks)
        return list(_frames)


# --- what the fake saw and served ---------------------------------------------------------------


@dataclass(frozen=True)
class FakeRequest:
    """One synthesis request as the fake parsed it from the client's frames."""

    voice: str
    rate: str
    pitch: str
    volume: str
    text: str
    output_format: str
    sentence_boundaries: bool
    fault: str | None


@dataclass
class FakeStats:
    """Counters, guarded by the service's lock; read them after the work is done."""

    requests: int = 0  # websocket handshakes attempted
    completed: int = 0  # requests answered with full audio and turn.end
    active: int = 0
    max_concurrent: int = 0
    voice_list_requests: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    log: list[FakeRequest] = field(default_factory=list)

    @property
    def faults_served(self) -> int:
        return sum(self.faults.values())


@dataclass(frozen=True)
class _Sentence:
    text: str
    start: float
    end: float


def sentences_of(text: str) -> list[str]:
    """Split like the service reports boundaries: at 。！？!?；; keeping closing quotes."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def _speed(rate: str) -> float:
    match = re.fullmatch(r"([+-]\d+)%", rate)
    return max(0.1, 1 + int(match.group(1)) / 100) if match else 1.0


def _frame(headers: Iterable[tuple[str, str]], body: str) -> str:
    head = "".join(f"{key}:{value}\r\n" for key, value in headers)
    return f"{head}\r\n{body}"


def _parse_frame(data: str) -> tuple[dict[str, str], str]:
    head, _, body = data.partition("\r\n\r\n")
    headers: dict[str, str] = {}
    for line in head.split("\r\n"):
        key, _, value = line.partition(":")
        headers[key.strip()] = value.strip()
    return headers, body


def _audio_frame(request_id: str, stream_id: str, payload: bytes) -> bytes:
    """A binary frame as the client parses it: the header block ends with CRLF, Path last."""
    if payload:
        head = (
            f"X-RequestId:{request_id}\r\nContent-Type:audio/mpeg\r\n"
            f"X-StreamId:{stream_id}\r\nPath:audio\r\n"
        ).encode()
    else:
        head = f"X-RequestId:{request_id}\r\nX-StreamId:{stream_id}\r\nPath:audio\r\n".encode()
    return len(head).to_bytes(2, "big") + head + payload


class FakeEdgeService:
    """The fake service on 127.0.0.1 and an ephemeral port, served from a background thread.

    `seconds_per_char` sets how long the audio for each character of text lasts (divided by
    the requested rate), so a caller can predict durations. `message_interval` spaces the audio
    messages out in time: a slow answer that keeps flowing, unlike a stall. `schedule` lists the fault (or
    None) for each coming synthesis request in order; once it runs out, each request is
    faulted with probability `fault_rate`, the kind drawn from `faults` by a seeded RNG.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        fault_rate: float = 0.0,
        faults: Sequence[str] = FAULTS,
        schedule: Sequence[str | None] = (),
        seed: int = 0,
        seconds_per_char: float = 0.2,
        frames_per_message: int = 16,
        message_interval: float = 0.0,
        voices: Sequence[dict[str, Any]] = VOICES,
        voice_list_status: int = 200,
    ) -> None:
        known = (*FAULTS, *PROTOCOL_FAULTS)
        unknown = [kind for kind in [*faults, *schedule] if kind is not None and kind not in known]
        if unknown:
            raise ValueError(f"unknown fault {unknown[0]!r}: choose from {', '.join(known)}")
        self.latency = latency
        self.fault_rate = fault_rate
        self.faults = tuple(faults)
        self.schedule = list(schedule)
        self.seconds_per_char = seconds_per_char
        self.frames_per_message = frames_per_message
        self.message_interval = message_interval
        self.voices = list(voices)
        self.voice_list_status = voice_list_status
        self.stats = FakeStats()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._frames = mp3_frames()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._port = 0
        self._saved: dict[str, Any] = {}

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def wss_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/edge/v1?TrustedClientToken=fake"

    @property
    def voice_list_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/voices/list?trustedclienttoken=fake"

    def start(self) -> Self:
        """Start serving; returns once the port is bound."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="edge-fake", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), loop).result(timeout=10)
        return self

    def stop(self) -> None:
        """Close every connection (stalled ones too) and stop the thread, within seconds."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        try:
            self.patch_client()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.unpatch_client()
        finally:
            self.stop()

    def patch_client(self) -> None:
        """Point the real edge_tts client here and keep loopback traffic off any proxy."""
        import edge_tts
        from edge_tts.drm import DRM

        communicate = sys.modules[edge_tts.Communicate.__module__]
        voices = sys.modules[edge_tts.list_voices.__module__]
        self._saved = {
            "wss": communicate.WSS_URL,
            "list": voices.VOICE_LIST,
            "skew": DRM.clock_skew_seconds,
            "env": {key: os.environ.get(key) for key in ("NO_PROXY", "no_proxy")},
        }
        communicate.WSS_URL = self.wss_url  # type: ignore[attr-defined]
        voices.VOICE_LIST = self.voice_list_url  # type: ignore[attr-defined]
        for key in ("NO_PROXY", "no_proxy"):
            os.environ[key] = "127.0.0.1,localhost"

    def unpatch_client(self) -> None:
        if not self._saved:
            return
        import edge_tts
        from edge_tts.drm import DRM

        sys.modules[edge_tts.Communicate.__module__].WSS_URL = self._saved["wss"]  # type: ignore[attr-defined]
        sys.modules[edge_tts.list_voices.__module__].VOICE_LIST = self._saved["list"]  # type: ignore[attr-defined]
        DRM.clock_skew_seconds = self._saved["skew"]
        for key, value in self._saved["env"].items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved = {}

    def configure(
        self,
        *,
        latency: float | None = None,
        fault_rate: float | None = None,
        faults: Sequence[str] | None = None,
        schedule: Sequence[str | None] | None = None,
    ) -> None:
        """Switch behaviour while running; applies to requests that start afterwards."""
        with self._lock:
            if latency is not None:
                self.latency = latency
            if fault_rate is not None:
                self.fault_rate = fault_rate
            if faults is not None:
                self.faults = tuple(faults)
            if schedule is not None:
                self.schedule = list(schedule)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/edge/v1", self._synthesis)
        app.router.add_get("/voices/list", self._voice_list)
        self._closing = asyncio.Event()
        self._runner = web.AppRunner(app, shutdown_timeout=2.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def _stop(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- handlers --------------------------------------------------------------------------

    def _draw(self) -> str | None:
        with self._lock:
            self.stats.requests += 1
            if self.schedule:
                kind = self.schedule.pop(0)
            elif self.fault_rate > 0 and self._rng.random() < self.fault_rate:
                kind = self._rng.choice(self.faults)
            else:
                kind = None
            if kind is not None:
                self.stats.faults[kind] += 1
            return kind

    async def _voice_list(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            self.stats.voice_list_requests += 1
        if self.voice_list_status != 200:
            return web.Response(
                status=self.voice_list_status,
                headers={"Date": email.utils.formatdate(usegmt=True)},
            )
        return web.json_response(self.voices)

    async def _synthesis(self, request: web.Request) -> web.StreamResponse:
        kind = self._draw()
        if kind in HANDSHAKE_FAULTS:
            return web.Response(
                status=int(kind or 0),
                headers={"Date": email.utils.formatdate(usegmt=True)},
                text="refused by the fake service",
            )
        ws = web.WebSocketResponse(compress=True)
        await ws.prepare(request)
        with self._lock:
            self.stats.active += 1
            self.stats.max_concurrent = max(self.stats.max_concurrent, self.stats.active)
        try:
            await self._converse(ws, kind)
        finally:
            with self._lock:
                self.stats.active -= 1
            await ws.close()
        return ws

    async def _receive_text(self, ws: web.WebSocketResponse) -> tuple[dict[str, str], str] | None:
        message = await ws.receive(timeout=10)
        if message.type != WSMsgType.TEXT:
            return None
        return _parse_frame(str(message.data))

    async def _converse(self, ws: web.WebSocketResponse, kind: str | None) -> None:
        config = await self._receive_text(ws)
        ssml = await self._receive_text(ws)
        if config is None or ssml is None:
            return
        if config[0].get("Path") != "speech.config" or ssml[0].get("Path") != "ssml":
            await ws.close(code=1002, message=b"expected speech.config then ssml")
            return
        audio = json.loads(config[1])["context"]["synthesis"]["audio"]
        request = self._parse_ssml(ssml[1], audio, kind)
        with self._lock:
            self.stats.log.append(request)
        request_id = ssml[0].get("X-RequestId", uuid.uuid4().hex)
        stream_id = uuid.uuid4().hex.upper()
        if self.latency > 0:
            await asyncio.sleep(self.latency)

        async def send(path: str, body: str, content_type: str = "application/json") -> None:
            await ws.send_str(
                _frame(
                    [("X-RequestId", request_id), ("Content-Type", content_type), ("Path", path)],
                    body,
                )
            )

        await send("turn.start", json.dumps({"context": {"serviceTag": uuid.uuid4().hex}}))
        await send("response", json.dumps({"context": {"serviceTag": uuid.uuid4().hex}}))
        if kind == "unknown_path":
            await send("speech.novelty", "{}")
            return
        known = any(v["Name"] == request.voice for v in self.voices)
        if kind == "no_audio" or not known or not request.text.strip():
            await send("turn.end", "{}")
            return
        plan = self._plan(request)
        total_frames = math.ceil((plan[-1].end + TAIL_SECONDS) / FRAME_SECONDS)
        sent = 0
        for index, sentence in enumerate(plan):
            if kind == "drop_sentence" and index == 1:
                return  # the handler closes the socket: a clean-looking early end
            await send("audio.metadata", self._metadata(sentence))
            last = index == len(plan) - 1
            end = total_frames if last else math.ceil(sentence.end / FRAME_SECONDS)
            if last and (kind == "drop" or (kind == "drop_sentence" and len(plan) == 1)):
                middle = (sentence.start + sentence.end) / 2  # half the last sentence is lost
                end = max(sent + 1, math.ceil(middle / FRAME_SECONDS))
            if kind == "stall":
                end = min(end, sent + 4)
            while sent < end:
                count = min(self.frames_per_message, end - sent)
                payload = b"".join(
                    self._frames[i % len(self._frames)] for i in range(sent, sent + count)
                )
                await ws.send_bytes(_audio_frame(request_id, stream_id, payload))
                sent += count
                if self.message_interval > 0:
                    await asyncio.sleep(self.message_interval)
            if kind == "stall":
                await self._stall(ws)
                return
            if last and sent < total_frames:
                return  # dropped mid-sentence
        with self._lock:
            self.stats.completed += 1  # counted first: the client may hang up once it has turn.end
        await ws.send_bytes(_audio_frame(request_id, stream_id, b""))
        await send("turn.end", "{}")

    async def _stall(self, ws: web.WebSocketResponse) -> None:
        """Send nothing more until the client gives up or the service stops (at most 60 s)."""
        assert self._closing is not None
        receive = asyncio.ensure_future(ws.receive())
        closing = asyncio.ensure_future(self._closing.wait())
        _, pending = await asyncio.wait(
            {receive, closing}, timeout=60, return_when="FIRST_COMPLETED"
        )
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _parse_ssml(self, body: str, audio: dict[str, Any], kind: str | None) -> FakeRequest:
        voice = re.search(r"<voice name='([^']*)'>", body)
        prosody = re.search(
            r"<prosody pitch='([^']*)' rate='([^']*)' volume='([^']*)'>(.*)</prosody>", body, re.S
        )
        if voice is None or prosody is None:
            raise ValueError(f"unexpected SSML: {body[:200]}")
        options = audio.get("metadataoptions", {})
        return FakeRequest(
            voice=voice.group(1),
            pitch=prosody.group(1),
            rate=prosody.group(2),
            volume=prosody.group(3),
            text=unescape(prosody.group(4)),
            output_format=str(audio.get("outputFormat", "")),
            sentence_boundaries=str(options.get("sentenceBoundaryEnabled")).lower() == "true",
            fault=kind,
        )

    def _plan(self, request: FakeRequest) -> list[_Sentence]:
        """Each sentence lasts seconds_per_char per non-space character, divided by the rate."""
        per_char = self.seconds_per_char / _speed(request.rate)
        plan: list[_Sentence] = []
        at = LEAD_SECONDS
        for text in sentences_of(request.text) or [request.text.strip()]:
            length = len(re.sub(r"\s", "", text)) * per_char
            plan.append(_Sentence(text, at, at + length))
            at += length
        return plan

    @staticmethod
    def _metadata(sentence: _Sentence) -> str:
        escaped = escape(sentence.text)
        item = {
            "Type": "SentenceBoundary",
            "Data": {
                "Offset": round(sentence.start * TICKS),
                "Duration": round((sentence.end - sentence.start) * TICKS),
                "text": {
                    "Text": escaped,
                    "Length": len(escaped),
                    "BoundaryType": "SentenceBoundary",
                },
            },
        }
        return json.dumps({"Metadata": [item]}, ensure_ascii=False)


def fake_edge_service(**settings: Any) -> Iterator[FakeEdgeService]:
    """Generator for a pytest fixture: `yield from fake_edge_service(latency=0.3)`."""
    with FakeEdgeService(**settings) as service:
        yield service


def expected_duration(text: str, seconds_per_char: float = 0.2, rate: str = "+0%") -> float:
    """How long the fake's audio for `text` lasts, to within one 24 ms frame."""
    chars = len(re.sub(r"\s", "", text))
    return LEAD_SECONDS + chars * seconds_per_char / _speed(rate) + TAIL_SECONDS
