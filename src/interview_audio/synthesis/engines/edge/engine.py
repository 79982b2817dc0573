"""Microsoft Edge neural voices through the `edge-tts` client, hardened against the service.

The client (7.3.1) truncates audio silently when the connection drops, hangs when the service
stalls and cuts long texts mid-sentence, wherever a space falls. So this engine splits
text at sentence ends itself, bounds every request with its own timeout, notices a stall by
silence (no message for `stall_timeout` seconds, however long the whole answer may take),
checks each answer for truncation (decoded length and sentence coverage) and retries with
backoff before giving up with a SynthesisError.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import json
import logging
import math
import os
import random
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from xml.sax.saxutils import escape

from interview_audio.display import counted
from interview_audio.errors import (
    EngineError,
    EngineUnavailable,
    RenderError,
    SynthesisError,
    VoicesError,
)
from interview_audio.files import default_cache_dir
from interview_audio.synthesis.engines.base import EngineOptions, SentenceTiming, Speech, VoiceInfo
from interview_audio.synthesis.engines.edge.voice import EdgeVoice
from interview_audio.voices.model import Voice
from interview_audio.voices.suggest import suggest

log = logging.getLogger(__name__)

T = TypeVar("T")

INSTALL = "pip install edge-tts"
MIN_VERSION = (7, 2)  # `boundary="SentenceBoundary"` arrived in 7.2
SAMPLE_RATE = 24_000
TICKS_PER_SECOND = 10_000_000
DEFAULT_JOBS = 4
# The client cuts requests above 4096 bytes of escaped UTF-8 wherever a space falls; our own
# chunks stay far below. A piece from split_sentences has at most SENTENCE_CHARS characters and
# escaping costs at most 5 bytes per character (`&amp;`), so any piece fits in one chunk.
CHUNK_BYTES = 3000
SENTENCE_CHARS = 500
TRUNCATION_TOLERANCE = 0.05  # seconds (two MP3 frames) the audio may end before the last sentence
COVERAGE_FALLBACK = 0.9  # share of characters the boundaries must report if their text differs
# How long `auto` and `doctor` wait for the service to answer before going offline.
REACH_TIMEOUT = 3.0
VOICE_CACHE_SECONDS = 24 * 3600
VOICE_CACHE_FILE = "edge-voices.json"
RATE_OR_VOLUME = re.compile(r"^[+-]\d+%$")
PITCH = re.compile(r"^[+-]\d+Hz$")
OFFLINE_HINT = "use an offline engine (--engine kokoro or --engine espeak)"
UNREACHABLE = "the Edge service could not be reached (no network or DNS)"
# A request that stalls this many times is not tried again: a service that goes silent twice on
# the same text is not coming back within a render, and each stall costs stall_timeout seconds.
STALL_ATTEMPTS = 2


class _Retryable(Exception):
    """A failed attempt worth repeating; the message says what went wrong.

    `hint` is advice for the final error if every attempt fails this way.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class _Stalled(_Retryable):
    """The connection stayed open but the service sent nothing for `stall_timeout` seconds."""


def describe_failure(exc: BaseException) -> str:
    """What went wrong talking to the service, in words a user can act on (nothing internal:
    no exception class names, addresses or SSL objects)."""
    import aiohttp

    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(e, (aiohttp.ClientConnectorDNSError, socket.gaierror)) for e in chain):
        return UNREACHABLE
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or "connection failed"
        return f"the Edge service could not be reached ({reason.lower()})"
    if isinstance(exc, TimeoutError):
        return "the Edge service did not answer in time"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"the Edge service answered HTTP {exc.status}"
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        return "the connection to the Edge service failed"
    return "the Edge service sent an answer that could not be read"


@dataclass(frozen=True)
class _Boundary:
    """A sentence the service reported, in seconds from the start of its chunk."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class _Clip:
    pcm: bytes
    boundaries: tuple[_Boundary, ...]

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / SAMPLE_RATE


def _import_edge_tts() -> Any:
    try:
        import edge_tts
    except ImportError as exc:
        raise EngineUnavailable(
            f"The edge engine needs the edge-tts package: run `{INSTALL}`, or {OFFLINE_HINT}."
        ) from exc
    return edge_tts


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def _configure_pydub() -> None:
    """Point pydub at the project's ffmpeg, or raise EngineUnavailable saying how to get one."""
    from interview_audio.ffmpeg import audio_segment

    try:
        audio_segment()
    except RenderError as exc:
        raise EngineUnavailable(f"The edge engine needs ffmpeg to decode MP3: {exc}") from exc


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh event loop, in a helper thread if this one already has a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _speakable(text: str) -> str:
    """Letters and digits only: what the service reads, for comparing texts loosely."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _escaped_bytes(text: str) -> int:
    return len(escape(text).encode("utf-8"))


def _join(left: str, right: str) -> str:
    """Join two pieces; Latin words keep a space between them, Chinese needs none."""
    if left and right and left[-1].isascii() and right[0].isascii():
        return f"{left} {right}"
    return left + right


def _hard_split(piece: str) -> list[str]:
    """Cut a piece too long for one request at character boundaries (a last resort)."""
    parts: list[str] = []
    current = ""
    for ch in piece:
        if current and _escaped_bytes(current + ch) > CHUNK_BYTES:
            parts.append(current)
            current = ""
        current += ch
    if current:
        parts.append(current)
    return parts


def chunk_text(text: str) -> list[str]:
    """Group whole sentences into requests well under the client's 4096-byte cut.

    Pieces with nothing to read (stray punctuation) ride along with their neighbour, since the
    service answers a request without words with no audio at all.
    """
    from interview_audio.synthesis.sentences import split_sentences

    if not _speakable(text):
        return []
    pieces: list[str] = []
    for piece in split_sentences(text, max_chars=SENTENCE_CHARS):
        piece = piece.strip()
        if not piece:
            continue
        if pieces and not (_speakable(piece) and _speakable(pieces[-1])):
            pieces[-1] = _join(pieces[-1], piece)
        else:
            pieces.append(piece)
    chunks: list[str] = []
    for piece in pieces:
        if _escaped_bytes(piece) > CHUNK_BYTES:
            chunks.extend(_hard_split(piece))
        elif chunks and _escaped_bytes(_join(chunks[-1], piece)) <= CHUNK_BYTES:
            chunks[-1] = _join(chunks[-1], piece)
        else:
            chunks.append(piece)
    return [chunk for chunk in chunks if _speakable(chunk)]


def _missing_tail(chunk: str, boundaries: Sequence[_Boundary]) -> str:
    """Text at the end of `chunk` that no reported sentence covers ("" when all is covered).

    The service echoes each sentence's text in its boundary, so a stream that stopped between
    sentences shows up as text nobody reported. If the echoed texts cannot be found in the
    request (the service rewrote them), fall back to comparing how much text they cover.
    """
    wanted = _speakable(chunk)
    position = 0
    for boundary in boundaries:
        piece = _speakable(boundary.text)
        if not piece:
            continue
        found = wanted.find(piece, position)
        if found < 0:
            covered = sum(len(_speakable(b.text)) for b in boundaries)
            return "" if covered >= COVERAGE_FALLBACK * len(wanted) else chunk[-20:]
        position = found + len(piece)
    if position >= len(wanted):
        return ""
    tail = wanted[position:]
    return tail if len(tail) <= 20 else tail[:20] + "…"


def check_prosody(voice: EdgeVoice) -> None:
    """Reject prosody strings the client would refuse, naming the accepted shapes."""
    for field, value, pattern, example in (
        ("rate", voice.rate, RATE_OR_VOLUME, "'+10%' or '-5%'"),
        ("volume", voice.volume, RATE_OR_VOLUME, "'+0%' or '-20%'"),
        ("pitch", voice.pitch, PITCH, "'+0Hz' or '-2Hz'"),
    ):
        if not pattern.match(value):
            raise VoicesError(
                f"Edge voice {voice.name!r}: {field} {value!r} is not valid; "
                f"write a signed whole number like {example}."
            )


def cache_dir(override: Path | None = None) -> Path:
    """Where the voice list is cached: the argument, $INTERVIEW_AUDIO_CACHE_DIR, or the user's."""
    return override if override is not None else default_cache_dir()


async def _fetch_voices(timeout: float) -> list[dict[str, Any]]:
    edge_tts = _import_edge_tts()
    data = await asyncio.wait_for(edge_tts.list_voices(), timeout)
    if not isinstance(data, list):
        raise ValueError("the voice list is not a JSON array")
    return [dict(item) for item in data if isinstance(item, dict)]


def _voice_info(item: dict[str, Any]) -> VoiceInfo:
    return VoiceInfo(
        name=str(item["ShortName"]),
        gender=str(item.get("Gender", "")),
        locale=str(item.get("Locale", "")),
        notes=", ".join(str(tag) for tag in item.get("VoiceTag", {}).get("VoicePersonalities", [])),
    )


def _has_voice(items: list[dict[str, Any]], name: str) -> bool:
    """Whether the list holds `name`, as a short name or a full `Microsoft Server …` name."""
    return any(name in (item.get("ShortName"), item.get("Name")) for item in items)


def _age(timestamp: float) -> str:
    hours = max(0.0, time.time() - timestamp) / 3600
    return f"{hours:.0f} hours ago" if hours < 48 else f"{hours / 24:.0f} days ago"


def reachable(timeout: float = REACH_TIMEOUT) -> bool:
    """Whether the Edge service answers: its voice list arrives within `timeout` seconds."""
    try:
        voices = _run(_fetch_voices(timeout))
    except Exception as exc:  # any failure at all means "not usable now"
        log.debug("Edge TTS service not reachable: %s: %s", type(exc).__name__, exc)
        return False
    return bool(voices)


def selftest(options: EngineOptions) -> str:
    """`doctor`'s test: whether the service answers within 3 s, as `auto` asks it before a
    render (no voice is spoken: that would cost a request per run of `doctor`)."""
    _import_edge_tts()
    started = time.monotonic()
    if not reachable(REACH_TIMEOUT):
        raise EngineUnavailable(
            f"The Edge service did not answer within {REACH_TIMEOUT:g} s (offline, or the "
            "network blocks it)."
        )
    return f"the service answered in {time.monotonic() - started:.1f} s"


class EdgeEngine:
    """The Edge engine. Each `synthesize` call runs its own event loop (`asyncio.run`).

    Why a loop per call rather than one shared background loop: the synthesis stage calls from
    a thread pool, and a private loop per call shares nothing between threads (the client opens
    a new aiohttp session per request anyway), needs no shutdown and cannot leak a loop thread.
    Creating a loop costs microseconds against a network round trip of hundreds of milliseconds.
    """

    name: ClassVar[str] = "edge"

    def __init__(
        self,
        options: EngineOptions | None = None,
        *,
        cache_dir: Path | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
    ) -> None:
        options = options or EngineOptions()
        edge_tts = _import_edge_tts()
        version = str(edge_tts.__version__)
        if _version(version) < MIN_VERSION:
            raise EngineUnavailable(
                f"edge-tts {version} is too old for the edge engine: run "
                f"`pip install -U 'edge-tts>=7.2'`."
            )
        if options.jobs is not None and options.jobs < 1:
            raise EngineError(f"--jobs must be 1 or more, not {options.jobs}.")
        if options.retries < 0 or options.timeout <= 0 or options.stall_timeout <= 0:
            raise EngineError("Retries must be 0 or more and the timeouts more than 0 seconds.")
        self._version = version
        self._jobs = options.jobs or DEFAULT_JOBS
        self._timeout = options.timeout
        self._stall_timeout = options.stall_timeout
        self._attempts = options.retries + 1
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._cache_dir = cache_dir
        _configure_pydub()
        self._lock = threading.Lock()
        self._voices_lock = threading.Lock()
        self._voice_list: list[dict[str, Any]] | None = None
        self._asked_service = False  # for the voice list in this run (not only the cache file)
        self._retry_count = 0

    @classmethod
    def load(cls, options: EngineOptions) -> EdgeEngine:
        return cls(options)

    @property
    def identity(self) -> str:
        return f"edge:{self._version}"

    @property
    def jobs(self) -> int:
        return self._jobs

    @property
    def retry_count(self) -> int:
        """How many retries this engine has made so far (for benchmarks and logs)."""
        with self._lock:
            return self._retry_count

    # --- synthesis -----------------------------------------------------------------------------

    def synthesize(self, text: str, voice: Voice) -> Speech:
        edge_voice = self._edge_voice(voice)
        check_prosody(edge_voice)
        chunks = chunk_text(text)
        if not chunks:
            return Speech(pcm=b"", sample_rate=SAMPLE_RATE, sentences=())
        clips = _run(self._speak(chunks, edge_voice))
        sentences: list[SentenceTiming] = []
        at = 0.0
        for clip in clips:
            for boundary in clip.boundaries:
                start = min(at + boundary.start, at + clip.duration)
                if sentences:
                    start = max(start, sentences[-1].start)
                end = max(start, min(at + boundary.end, at + clip.duration))
                sentences.append(SentenceTiming(text=boundary.text, start=start, end=end))
            at += clip.duration
        return Speech(
            pcm=b"".join(clip.pcm for clip in clips),
            sample_rate=SAMPLE_RATE,
            sentences=tuple(sentences),
        )

    async def _speak(self, chunks: Sequence[str], voice: EdgeVoice) -> list[_Clip]:
        return [await self._speak_chunk(chunk, voice) for chunk in chunks]

    async def _speak_chunk(self, chunk: str, voice: EdgeVoice) -> _Clip:
        reason = hint = ""
        stalls = 0
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._attempt(chunk, voice)
            except _Retryable as exc:
                reason, hint = str(exc), exc.hint
                stalls = stalls + 1 if isinstance(exc, _Stalled) else 0
            if stalls >= STALL_ATTEMPTS:
                raise SynthesisError(
                    f"The Edge TTS service stalled: it accepted the request, then sent nothing "
                    f"for {self._stall_timeout:g} s, {stalls} times in a row. Try again later, "
                    f"or {OFFLINE_HINT}."
                )
            if attempt == self._attempts:
                break
            delay = random.uniform(
                0, min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1))
            )
            with self._lock:
                self._retry_count += 1
            log.log(
                logging.INFO if attempt == 1 else logging.WARNING,
                "Edge TTS: %s for %r; retry %d of %d in %.2f s",
                reason,
                chunk[:16],
                attempt,
                self._attempts - 1,
                delay,
            )
            await asyncio.sleep(delay)
        raise SynthesisError(
            f"The Edge TTS service failed {counted(self._attempts, 'time')} in a row "
            f"(last: {reason}). {hint}Check the network connection and try again later, "
            f"lower --jobs, or {OFFLINE_HINT}."
        )

    async def _attempt(self, chunk: str, voice: EdgeVoice) -> _Clip:
        """One request, classified: success, a _Retryable failure, or a final SynthesisError."""
        import aiohttp
        from edge_tts.exceptions import (
            NoAudioReceived,
            SkewAdjustmentError,
            UnexpectedResponse,
            UnknownResponse,
            WebSocketError,
        )

        try:
            mp3, boundaries = await asyncio.wait_for(self._request(chunk, voice), self._timeout)
        except TimeoutError as exc:
            raise _Retryable(f"no complete answer within {self._timeout:g} s") from exc
        except NoAudioReceived as exc:
            raise _Retryable(
                "the service sent no audio",
                hint=f"If {voice.name!r} is not in `interview-audio voices --engine edge`, "
                "pick one that is. ",
            ) from exc
        except (WebSocketError, SkewAdjustmentError) as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        except aiohttp.ClientResponseError as exc:
            if exc.status in (403, 429) or exc.status >= 500:
                raise _Retryable(f"the service answered HTTP {exc.status}") from exc
            raise SynthesisError(
                f"The Edge TTS service refused the request with HTTP {exc.status} "
                f"({exc.message}); upgrade the client with `pip install -U edge-tts`, "
                f"or {OFFLINE_HINT}."
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise _Retryable(describe_failure(exc)) from exc
        except (UnknownResponse, UnexpectedResponse, KeyError, TypeError, ValueError) as exc:
            raise SynthesisError(
                f"The Edge TTS service answered in a way edge-tts {self._version} does not "
                f"understand ({exc}); upgrade it with `pip install -U edge-tts`, or {OFFLINE_HINT}."
            ) from exc
        if not mp3:
            raise _Retryable("the service sent no audio")
        if not boundaries:
            raise _Retryable("the service sent audio but no sentence boundaries")
        clip = _Clip(pcm=self._decode(mp3), boundaries=tuple(boundaries))
        needed = max(boundary.end for boundary in boundaries)
        if clip.duration + TRUNCATION_TOLERANCE < needed:
            raise _Retryable(
                f"audio truncated ({clip.duration:.2f} s received, the sentences reported "
                f"need {needed:.2f} s)"
            )
        missing = _missing_tail(chunk, boundaries)
        if missing:
            raise _Retryable(f"audio truncated (the stream ended before {missing!r})")
        return clip

    async def _request(self, chunk: str, voice: EdgeVoice) -> tuple[bytes, list[_Boundary]]:
        import edge_tts

        seconds = max(1, math.ceil(self._timeout))
        try:
            communicate = edge_tts.Communicate(
                chunk,
                voice.name,
                rate=voice.rate,
                volume=voice.volume,
                pitch=voice.pitch,
                boundary="SentenceBoundary",
                connect_timeout=seconds,
                receive_timeout=seconds,
            )
        except ValueError as exc:
            raise VoicesError(
                f"Edge voice {voice.name!r} is not usable ({exc}); use a name such as "
                "'zh-CN-YunxiNeural' (see `interview-audio voices --engine edge`)."
            ) from exc
        audio = bytearray()
        boundaries: list[_Boundary] = []
        async for message in self._until_silent(communicate.stream()):
            if message["type"] == "audio":
                audio += message.get("data", b"")
            elif message["type"] == "SentenceBoundary":
                start = message.get("offset", 0.0) / TICKS_PER_SECOND
                duration = message.get("duration", 0.0) / TICKS_PER_SECOND
                boundaries.append(_Boundary(message.get("text", ""), start, start + duration))
        return bytes(audio), boundaries

    async def _until_silent(self, stream: AsyncIterator[T]) -> AsyncIterator[T]:
        """The stream's messages; _Stalled once none arrives for `stall_timeout` seconds.

        Separate from the per-request timeout, so a long answer that keeps flowing may take its
        time while a silent connection is given up on within seconds.
        """
        iterator = aiter(stream)
        try:
            while True:
                try:
                    message = await asyncio.wait_for(anext(iterator), self._stall_timeout)
                except StopAsyncIteration:
                    return
                except TimeoutError as exc:
                    raise _Stalled(
                        f"the service sent nothing for {self._stall_timeout:g} s (stalled)"
                    ) from exc
                yield message
        finally:
            close = getattr(iterator, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()

    def _decode(self, mp3: bytes) -> bytes:
        """MP3 to mono 16-bit PCM at 24 kHz; undecodable audio is worth another request."""
        from interview_audio.ffmpeg import audio_segment

        reader = audio_segment()  # imports pydub quietly first
        from pydub.exceptions import CouldntDecodeError

        try:
            # codec= makes pydub decode directly, without probing (imageio-ffmpeg has no ffprobe).
            clip = reader.from_file(io.BytesIO(mp3), format="mp3", codec="mp3")
        except (CouldntDecodeError, OSError, IndexError) as exc:
            raise _Retryable(f"the audio received is not decodable MP3 ({exc})") from exc
        clip = clip.set_channels(1).set_sample_width(2).set_frame_rate(SAMPLE_RATE)
        if not len(clip.raw_data):
            raise _Retryable("the audio received is not decodable MP3 (no samples)")
        pcm: bytes = clip.raw_data
        return pcm

    @staticmethod
    def _edge_voice(voice: Voice) -> EdgeVoice:
        if not isinstance(voice, EdgeVoice):
            raise VoicesError(
                f"The edge engine needs an edge voice (a name such as 'zh-CN-YunxiNeural'), "
                f"not a {voice.engine} voice; fix voices.yaml or choose --engine {voice.engine}."
            )
        return voice

    # --- voices --------------------------------------------------------------------------------

    def voices(self, locale: str | None = None, *, refresh: bool = False) -> list[VoiceInfo]:
        def matching(items: list[dict[str, Any]]) -> list[VoiceInfo]:
            infos = [_voice_info(item) for item in items]
            if locale:
                wanted = locale.casefold()
                infos = [
                    info
                    for info in infos
                    if info.locale.casefold() == wanted
                    or info.locale.casefold().startswith(wanted + "-")
                ]
            return sorted(infos, key=lambda info: (info.locale, info.name))

        found = matching(self._voices(refresh=refresh))
        if not found and locale:
            # A list cached by an earlier run may be partial or old: ask the service once.
            found = matching(self._voices(want=f"{locale} voices"))
        return found

    def check_voice(self, voice: Voice) -> None:
        edge_voice = self._edge_voice(voice)
        check_prosody(edge_voice)
        items = self._voices()
        if not _has_voice(items, edge_voice.name):
            items = self._voices(want=f"the voice {edge_voice.name}")
        if _has_voice(items, edge_voice.name):
            return
        short = [str(item["ShortName"]) for item in items]
        hint = suggest(edge_voice.name, short) or "no voice name is close."
        raise VoicesError(
            f"Edge voice {edge_voice.name!r} does not exist: {hint} "
            "`interview-audio voices --engine edge --locale zh-CN` lists the Mandarin voices."
        )

    def _voices(self, *, refresh: bool = False, want: str = "") -> list[dict[str, Any]]:
        """The voice list, loaded once. `want` names what a cached list lacks: the list is then
        fetched again (once per run); if that fails, the cached one stays, with a warning."""
        with self._voices_lock:
            if self._voice_list is None or refresh:
                self._voice_list, self._asked_service = self._load_voices(refresh)
            elif want and not self._asked_service:
                log.info("The cached Edge voice list has no %s; fetching it again", want)
                self._asked_service = True
                try:
                    self._voice_list, _ = self._load_voices(True)
                except EngineUnavailable as exc:
                    log.warning(
                        "The cached Edge voice list has no %s, and a fresh one could not be "
                        "fetched: %s",
                        want,
                        exc,
                    )
            return self._voice_list

    def _load_voices(self, refresh: bool) -> tuple[list[dict[str, Any]], bool]:
        """The service's voice list and whether the service was asked for it: from a day-old
        cache file when possible, unless `refresh`."""
        path = cache_dir(self._cache_dir) / VOICE_CACHE_FILE
        cached = self._read_cache(path)
        if not refresh and cached is not None and time.time() - cached[0] < VOICE_CACHE_SECONDS:
            return cached[1], False
        try:
            voices = [item for item in _run(_fetch_voices(self._timeout)) if "ShortName" in item]
            if not voices:
                raise ValueError("the voice list is empty")
        except Exception as exc:  # network, HTTP, JSON: all mean "no fresh list"
            reason = describe_failure(exc)
            if cached is not None and not refresh:
                log.warning(
                    "Edge voice list not refreshed (%s); using the one cached %s",
                    reason,
                    _age(cached[0]),
                )
                return cached[1], True
            raise EngineUnavailable(
                f"Could not fetch the Edge voice list: {reason}. Check the network connection "
                f"and try again, or {OFFLINE_HINT}."
            ) from exc
        self._write_cache(path, voices)
        return voices, True

    @staticmethod
    def _read_cache(path: Path) -> tuple[float, list[dict[str, Any]]] | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            fetched = float(data["fetched_at"])
            voices = [item for item in data["voices"] if isinstance(item, dict)]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return (fetched, voices) if voices else None

    def _write_cache(self, path: Path, voices: list[dict[str, Any]]) -> None:
        data = {"fetched_at": time.time(), "edge_tts": self._version, "voices": voices}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            temporary.replace(path)
        except OSError as exc:
            log.warning("Could not cache the Edge voice list in %s: %s", path, exc)
