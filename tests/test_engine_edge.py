"""The Edge engine against the loopback fake service: the real client, real MP3, real faults."""

from __future__ import annotations

import json
import logging
import socket
import sys
import time
from array import array
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.sax.saxutils import escape

import edge_tts
import pytest
from typer.testing import CliRunner

from conftest import NonLoopbackConnect
from edge_fake import FAULTS, FakeEdgeService, expected_duration, fake_edge_service, sentences_of
from edge_fake import VOICES as FAKE_VOICES
from interview_audio.cli import app
from interview_audio.errors import EngineUnavailable, SynthesisError, VoicesError
from interview_audio.files import CACHE_ENV_VAR as CACHE_ENV
from interview_audio.synthesis.engines import load_engine
from interview_audio.synthesis.engines.base import EngineOptions, Speech
from interview_audio.synthesis.engines.edge.engine import (
    VOICE_CACHE_FILE,
    EdgeEngine,
    chunk_text,
    reachable,
)
from interview_audio.synthesis.engines.edge.voice import EdgeVoice
from interview_audio.synthesis.engines.kokoro.voice import KokoroVoice

pytestmark = pytest.mark.audio

YUNXI = EdgeVoice("zh-CN-YunxiNeural")
TEXT = "你好，欢迎收听本期节目。今天我们请到了一位嘉宾！你觉得人工智能会改变什么？"
FRAME = 0.024  # one MP3 frame: durations agree to within this


def test_guard_blocks_non_loopback(loopback_only: list[str]) -> None:
    with pytest.raises(NonLoopbackConnect):
        socket.create_connection(("192.0.2.1", 9), timeout=0.2)
    assert loopback_only == ["192.0.2.1"]
    loopback_only.clear()
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("speech.platform.bing.com", 443)
    assert socket.getaddrinfo("localhost", 80)


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeEdgeService]:
    yield from fake_edge_service()


def make_engine(
    tmp_path: Path,
    *,
    jobs: int = 4,
    timeout: float = 2.0,
    retries: int = 4,
    stall_timeout: float = 10.0,
) -> EdgeEngine:
    options = EngineOptions(
        jobs=jobs, timeout=timeout, retries=retries, stall_timeout=stall_timeout
    )
    return EdgeEngine(options, cache_dir=tmp_path, backoff_base=0.01, backoff_cap=0.05)


def rms(speech: Speech) -> float:
    samples = array("h", speech.pcm)
    return float((sum(s * s for s in samples[::50]) / max(1, len(samples[::50]))) ** 0.5)


def assert_complete(speech: Speech, text: str, seconds_per_char: float = 0.2) -> None:
    expected = sum(expected_duration(chunk, seconds_per_char) for chunk in chunk_text(text))
    assert abs(speech.duration - expected) <= FRAME, (speech.duration, expected)
    assert [s.text for s in speech.sentences] == [
        s for chunk in chunk_text(text) for s in sentences_of(chunk)
    ]


# --- plain synthesis ---------------------------------------------------------------------------


def test_plain_synthesis_duration_matches_text(fake: FakeEdgeService, tmp_path: Path) -> None:
    speech = make_engine(tmp_path).synthesize(TEXT, YUNXI)

    assert speech.sample_rate == 24_000
    assert_complete(speech, TEXT)
    assert len(speech.sentences) == 3
    assert rms(speech) > 1000  # the fake's tone, decoded, not silence
    (request,) = fake.stats.log
    assert request.voice == "Microsoft Server Speech Text to Speech Voice (zh-CN, YunxiNeural)"
    assert request.text == TEXT
    assert request.output_format == "audio-24khz-48kbitrate-mono-mp3"
    assert request.sentence_boundaries
    assert fake.stats.faults_served == 0


def test_timings_are_monotonic_across_chunks(tmp_path: Path) -> None:
    sentence = "这是一个用来测试分段的句子，里面有足够多的汉字和一些标点符号。"
    text = sentence * 60  # about 1,900 characters: more than one request
    with FakeEdgeService(seconds_per_char=0.01) as service:
        speech = make_engine(tmp_path).synthesize(text, YUNXI)

    requests = service.stats.log
    assert len(requests) >= 2
    for request in requests:
        assert len(escape(request.text).encode()) < 4096
        assert request.text.endswith("。")  # cut at a sentence end, never mid-sentence
    assert "".join(r.text for r in requests) == text
    assert_complete(speech, text, seconds_per_char=0.01)
    starts = [s.start for s in speech.sentences]
    assert starts == sorted(starts)
    assert all(s.start <= s.end <= speech.duration + 1e-9 for s in speech.sentences)
    for earlier, later in zip(speech.sentences, speech.sentences[1:], strict=False):
        assert earlier.end <= later.start + 1e-9
    # the second request's sentences are shifted by the first request's audio
    first_count = len(sentences_of(requests[0].text))
    first_audio = expected_duration(requests[0].text, 0.01)
    assert speech.sentences[first_count].start == pytest.approx(first_audio + 0.1, abs=FRAME)


def test_prosody_reaches_the_service(fake: FakeEdgeService, tmp_path: Path) -> None:
    voice = EdgeVoice("zh-CN-XiaoxiaoNeural", rate="+50%", pitch="-2Hz", volume="-10%")
    speech = make_engine(tmp_path).synthesize(TEXT, voice)

    (request,) = fake.stats.log
    assert (request.rate, request.pitch, request.volume) == ("+50%", "-2Hz", "-10%")
    assert speech.duration == pytest.approx(expected_duration(TEXT, rate="+50%"), abs=FRAME)


def test_text_without_words_makes_no_request(fake: FakeEdgeService, tmp_path: Path) -> None:
    speech = make_engine(tmp_path).synthesize("……！", YUNXI)
    assert speech.pcm == b"" and speech.sentences == ()
    assert fake.stats.requests == 0


def test_chunks_keep_every_word_and_stay_small() -> None:
    text = ("R&D <说明> 这是一段很长的话，没有句号只有逗号" * 200) + "。最后一句！"
    chunks = chunk_text(text)
    assert len(chunks) >= 2
    assert all(len(escape(chunk).encode()) < 4096 for chunk in chunks)
    assert "".join(c.replace(" ", "") for c in chunks) == text.replace(" ", "")


# --- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FAULTS)
def test_each_fault_recovers(kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A stall is caught by silence; the total per-request limit stays roomy so a loaded machine
    # does not turn a good answer into a second retry.
    engine = make_engine(tmp_path, timeout=10.0, stall_timeout=1.0)
    with FakeEdgeService(schedule=[kind]) as service, caplog.at_level(logging.INFO):
        speech = engine.synthesize(TEXT, YUNXI)

    assert_complete(speech, TEXT)
    assert service.stats.faults[kind] == 1
    assert service.stats.requests == 2
    assert service.stats.completed == 1
    if kind == "403":
        assert engine.retry_count == 0  # the client's own retry after fixing its clock
    else:
        assert engine.retry_count == 1
        assert any("retry 1 of 4" in r.getMessage() for r in caplog.records)


def test_403_twice_is_retried_by_the_engine(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    with FakeEdgeService(schedule=["403", "403"]) as service:
        speech = engine.synthesize(TEXT, YUNXI)
    assert_complete(speech, TEXT)
    assert service.stats.requests == 3
    assert engine.retry_count == 1


@pytest.mark.parametrize("kind", ["drop", "drop_sentence"])
def test_truncation_is_never_returned(kind: str, tmp_path: Path) -> None:
    engine = make_engine(tmp_path, retries=2)
    with FakeEdgeService(schedule=[kind] * 3) as service, pytest.raises(SynthesisError) as error:
        engine.synthesize(TEXT, YUNXI)
    assert "truncated" in str(error.value)
    assert service.stats.requests == 3


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("503", "HTTP 503"), ("429", "HTTP 429"), ("no_audio", "no audio"), ("stall", "within 0.3 s")],
)
def test_endless_faults_give_a_clear_error(kind: str, reason: str, tmp_path: Path) -> None:
    engine = make_engine(tmp_path, timeout=0.3, retries=2)
    with (
        FakeEdgeService(fault_rate=1.0, faults=[kind]) as service,
        pytest.raises(SynthesisError) as error,
    ):
        engine.synthesize(TEXT, YUNXI)
    message = str(error.value)
    assert reason in message
    assert "3 times" in message
    assert "--engine kokoro" in message
    assert service.stats.completed == 0


def test_a_stalled_service_is_given_up_on_by_silence(tmp_path: Path) -> None:
    # The service accepts, starts its turn, sends a little, then nothing: the per-request total
    # (3 s) is not what ends it, the silence (0.5 s) is, and only twice.
    engine = make_engine(tmp_path, timeout=3.0, retries=5, stall_timeout=0.5)
    with (
        FakeEdgeService(fault_rate=1.0, faults=["stall"]) as service,
        pytest.raises(SynthesisError) as error,
    ):
        engine.synthesize(TEXT, YUNXI)
    message = str(error.value)
    assert "stalled" in message and "nothing for 0.5 s, 2 times in a row" in message
    assert "--engine kokoro" in message
    assert service.stats.requests == 2
    assert engine.retry_count == 1


def test_a_slow_answer_that_keeps_flowing_is_not_a_stall(tmp_path: Path) -> None:
    text = "慢慢地说一句话。"
    engine = make_engine(tmp_path, timeout=20.0, retries=0, stall_timeout=0.5)
    # About 2 s of audio in 4-frame messages every 0.1 s: 2.2 s of streaming, no gap of 0.5 s.
    with FakeEdgeService(message_interval=0.1, frames_per_message=4) as service:
        started = time.monotonic()
        speech = engine.synthesize(text, YUNXI)
        took = time.monotonic() - started
    assert took > 4 * 0.5  # the whole answer took far longer than the silence allowed
    assert_complete(speech, text)
    assert service.stats.completed == 1 and engine.retry_count == 0


def test_protocol_change_fails_at_once(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    with (
        FakeEdgeService(schedule=["unknown_path"]) as service,
        pytest.raises(SynthesisError, match="does not understand.*pip install -U edge-tts"),
    ):
        engine.synthesize(TEXT, YUNXI)
    assert service.stats.requests == 1
    assert engine.retry_count == 0


def test_random_faults_lose_no_line(tmp_path: Path) -> None:
    lines = [f"第{n}个问题。我们聊聊第{n}件事情吧！" + "好" * (n % 7) for n in range(30)]
    engine = make_engine(tmp_path, timeout=0.5, retries=8)
    with (
        FakeEdgeService(fault_rate=0.2, seed=7) as service,
        ThreadPoolExecutor(engine.jobs) as pool,
    ):
        speeches = list(pool.map(lambda line: engine.synthesize(line, YUNXI), lines))

    assert service.stats.faults_served > 0
    assert service.stats.completed == len(lines)
    assert engine.retry_count > 0
    for line, speech in zip(lines, speeches, strict=True):
        assert_complete(speech, line)


def test_requests_really_overlap(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, jobs=4)
    with (
        FakeEdgeService(latency=0.3, seconds_per_char=0.02) as service,
        ThreadPoolExecutor(engine.jobs) as pool,
    ):
        list(pool.map(lambda n: engine.synthesize(f"第{n}句话。", YUNXI), range(8)))
    assert service.stats.completed == 8
    assert service.stats.max_concurrent >= 2


# --- voices ------------------------------------------------------------------------------------


def test_voice_list_is_parsed_and_cached(fake: FakeEdgeService, tmp_path: Path) -> None:
    voices = make_engine(tmp_path).voices("zh-CN")
    names = {v.name for v in voices}
    assert {"zh-CN-YunxiNeural", "zh-CN-XiaoxiaoNeural", "zh-CN-liaoning-XiaobeiNeural"} <= names
    assert all(v.locale.startswith("zh-CN") for v in voices)
    yunxi = next(v for v in voices if v.name == "zh-CN-YunxiNeural")
    assert (yunxi.gender, yunxi.locale) == ("Male", "zh-CN")
    assert "Lively" in yunxi.notes
    assert fake.stats.voice_list_requests == 1

    again = make_engine(tmp_path)  # a new process would read the same file
    assert {v.name for v in again.voices("en-US")} >= {"en-US-AriaNeural"}
    again.check_voice(YUNXI)
    assert fake.stats.voice_list_requests == 1


def test_expired_voice_cache_refreshes(fake: FakeEdgeService, tmp_path: Path) -> None:
    make_engine(tmp_path).voices()
    path = tmp_path / VOICE_CACHE_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["fetched_at"] = time.time() - 2 * 24 * 3600
    data["voices"] = data["voices"][:1]
    path.write_text(json.dumps(data), encoding="utf-8")

    voices = make_engine(tmp_path).voices()
    assert fake.stats.voice_list_requests == 2
    assert len(voices) == len(fake.voices)
    assert json.loads(path.read_text(encoding="utf-8"))["fetched_at"] > time.time() - 60


def test_stale_cache_serves_when_service_is_down(tmp_path: Path) -> None:
    with FakeEdgeService():
        make_engine(tmp_path).voices()
    path = tmp_path / VOICE_CACHE_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["fetched_at"] = 0
    path.write_text(json.dumps(data), encoding="utf-8")
    with FakeEdgeService(voice_list_status=503) as service:
        voices = make_engine(tmp_path).voices("zh-CN")
        assert service.stats.voice_list_requests == 1
    assert "zh-CN-YunxiNeural" in {v.name for v in voices}


def test_voice_list_failure_without_cache_is_engine_unavailable(tmp_path: Path) -> None:
    with FakeEdgeService(voice_list_status=500), pytest.raises(EngineUnavailable) as error:
        make_engine(tmp_path).voices()
    assert "voice list" in str(error.value)


def _cache_only(tmp_path: Path, locales: tuple[str, ...]) -> Path:
    """A fresh cache file, as an earlier run left it, holding only voices of `locales`."""
    path = tmp_path / VOICE_CACHE_FILE
    voices = [voice for voice in FAKE_VOICES if voice["Locale"] in locales]
    path.write_text(json.dumps({"fetched_at": time.time(), "voices": voices}), encoding="utf-8")
    return path


def test_cached_list_without_the_locale_is_fetched_again(
    fake: FakeEdgeService, tmp_path: Path
) -> None:
    path = _cache_only(tmp_path, ("en-US",))
    engine = make_engine(tmp_path)
    assert {v.name for v in engine.voices("en-US")} == {
        "en-US-AriaNeural",
        "en-US-GuyNeural",
        "en-US-EmmaMultilingualNeural",
    }
    assert fake.stats.voice_list_requests == 0  # a fresh cache that has what is asked

    zh = engine.voices("zh-CN")
    assert "zh-CN-YunxiNeural" in {v.name for v in zh}
    assert fake.stats.voice_list_requests == 1
    assert len(json.loads(path.read_text(encoding="utf-8"))["voices"]) == len(fake.voices)
    assert engine.voices("xx-YY") == []  # fetched once this run: not again
    assert fake.stats.voice_list_requests == 1


def test_cached_list_without_the_voice_is_fetched_again(
    fake: FakeEdgeService, tmp_path: Path
) -> None:
    _cache_only(tmp_path, ("en-US",))
    make_engine(tmp_path).check_voice(YUNXI)
    assert fake.stats.voice_list_requests == 1


def test_refresh_fetches_even_a_fresh_cache(fake: FakeEdgeService, tmp_path: Path) -> None:
    _cache_only(tmp_path, ("zh-CN", "en-US"))
    engine = make_engine(tmp_path)
    engine.voices("zh-CN")
    assert fake.stats.voice_list_requests == 0
    assert "zh-HK-HiuMaanNeural" in {v.name for v in engine.voices(refresh=True)}
    assert fake.stats.voice_list_requests == 1


def test_voices_refresh_from_the_cli(
    fake: FakeEdgeService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    _cache_only(tmp_path, ("en-US",))
    runner = CliRunner()
    args = ["voices", "--engine", "edge", "--locale", "zh-TW"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "zh-TW-HsiaoChenNeural" in result.output  # the partial cache was fetched again
    result = runner.invoke(app, [*args, "--refresh"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert fake.stats.voice_list_requests == 2


def test_partial_cache_offline_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _cache_only(tmp_path, ("en-US",))
    with caplog.at_level(logging.WARNING):
        assert make_engine(tmp_path).voices("zh-CN") == []
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "cached Edge voice list has no zh-CN voices" in warning
    assert "could not be reached (no network or DNS)" in warning


# --- offline -----------------------------------------------------------------------------------

INTERNALS = ("ssl", "0x", "SSLContext", "Error", "Cannot connect to host", "bing.com")


def test_offline_voice_list_error_is_plain(tmp_path: Path) -> None:
    # No fake: the client asks the real host, and this suite resolves no names (conftest).
    with pytest.raises(EngineUnavailable) as error:
        make_engine(tmp_path).check_voice(YUNXI)
    message = str(error.value)
    assert "the Edge service could not be reached (no network or DNS)" in message
    assert "Check the network connection" in message and "--engine kokoro" in message
    assert not [word for word in INTERNALS if word in message], message


def test_offline_synthesis_error_is_plain(tmp_path: Path) -> None:
    with pytest.raises(SynthesisError) as error:
        make_engine(tmp_path, retries=1).synthesize(TEXT, YUNXI)
    message = str(error.value)
    assert "the Edge service could not be reached (no network or DNS)" in message
    assert not [word for word in INTERNALS if word in message], message


def test_offline_from_the_cli_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    result = CliRunner().invoke(
        app, ["preview", "--speaker", "narrator", "--engine", "edge", "-o", str(tmp_path / "p")]
    )
    assert result.exit_code == 1
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert "could not be reached (no network or DNS)" in line
    assert not [word for word in INTERNALS if word in line], line


def test_cache_dir_from_environment(
    fake: FakeEdgeService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env-cache"))
    EdgeEngine(EngineOptions()).voices()
    assert (tmp_path / "env-cache" / VOICE_CACHE_FILE).is_file()


def test_check_voice_rejects_unknown_names(fake: FakeEdgeService, tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    engine.check_voice(YUNXI)
    engine.check_voice(
        EdgeVoice("Microsoft Server Speech Text to Speech Voice (zh-CN, YunxiNeural)")
    )
    with pytest.raises(VoicesError) as error:
        engine.check_voice(EdgeVoice("zh-CN-YunxiNeurall"))
    message = str(error.value)
    assert "'zh-CN-YunxiNeurall' does not exist: did you mean zh-CN-YunxiNeural" in message
    assert "en-US-AriaNeural" not in message and "zh-HK-HiuMaanNeural" not in message
    with pytest.raises(VoicesError) as error:
        engine.check_voice(EdgeVoice("Nobody"))
    assert "voices --engine edge --locale zh-CN" in str(error.value)
    with pytest.raises(VoicesError, match="edge voice"):
        engine.check_voice(KokoroVoice("zf_xiaobei"))


@pytest.mark.parametrize(
    ("field", "voice"),
    [
        ("rate", EdgeVoice("zh-CN-YunxiNeural", rate="10%")),
        ("rate", EdgeVoice("zh-CN-YunxiNeural", rate="+1.5%")),
        ("volume", EdgeVoice("zh-CN-YunxiNeural", volume="+5Hz")),
        ("pitch", EdgeVoice("zh-CN-YunxiNeural", pitch="+5%")),
    ],
)
def test_check_voice_rejects_bad_prosody(
    field: str, voice: EdgeVoice, fake: FakeEdgeService, tmp_path: Path
) -> None:
    engine = make_engine(tmp_path)
    with pytest.raises(VoicesError, match=field):
        engine.check_voice(voice)
    with pytest.raises(VoicesError, match=field):
        engine.synthesize(TEXT, voice)
    assert fake.stats.requests == 0


# --- reachability and loading ------------------------------------------------------------------


def test_reachable_against_the_fake(fake: FakeEdgeService) -> None:
    assert reachable(timeout=2.0)


def test_unreachable_on_a_closed_port(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    module = sys.modules[edge_tts.list_voices.__module__]
    monkeypatch.setattr(module, "VOICE_LIST", f"http://127.0.0.1:{port}/voices/list?x=1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    assert not reachable(timeout=1.0)


def test_load_through_the_registry() -> None:
    engine = load_engine("edge", EngineOptions())
    assert isinstance(engine, EdgeEngine)
    assert engine.identity == f"edge:{edge_tts.__version__}"
    assert engine.jobs == 4
    assert load_engine("edge", EngineOptions(jobs=2)).jobs == 2


def test_missing_client_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "edge_tts", None)
    with pytest.raises(EngineUnavailable, match="pip install edge-tts"):
        EdgeEngine.load(EngineOptions())
    assert not reachable(timeout=0.5)
