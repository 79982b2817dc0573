"""A voice name an engine does not have: the file and line that set it, and the closest names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge_fake import FakeEdgeService, fake_edge_service
from interview_audio.cli import app
from interview_audio.errors import VoicesError
from interview_audio.pipeline import RenderOptions, render
from interview_audio.synthesis.engines.kokoro.engine import parse_style
from interview_audio.synthesis.engines.kokoro.voice import KokoroVoice
from interview_audio.voices.casting import check_voices
from interview_audio.voices.load import load_voices
from interview_audio.voices.model import Voice
from interview_audio.voices.suggest import closest, suggest

SAMPLE = Path(__file__).parents[1] / "examples" / "sample.txt"
runner = CliRunner()

VOICES = """\
narrator:
  edge: {voice: zh-CN-XiaoxiaoNeural}
  kokoro: {style: jf_alpha}
  espeak: {variant: cmn+f3}
roles:
  host:
    edge: {voice: zh-CN-YunyangNeural}
    kokoro:
      style: jm_kumo
    espeak:
      variant: cmn+m3
pool:
  - edge: {voice: zh-CN-YunxiNeural}
    kokoro: {style: jf_nezumi}
    espeak: {variant: cmn+m1}
  - edge: {voice: zh-CN-YunjianNeural}
    kokoro: {style: jf_tebukuro}
    espeak: {variant: cmn+f4}
"""


def voices_file(tmp_path: Path, old: str, new: str) -> Path:
    assert old in VOICES
    path = tmp_path / "voices.yaml"
    path.write_text(VOICES.replace(old, new, 1), encoding="utf-8")
    return path


def test_unknown_espeak_variant_names_file_line_and_closest(tmp_path: Path) -> None:
    path = voices_file(tmp_path, "variant: cmn+m3", "variant: cmn+stef")
    options = RenderOptions(output=tmp_path / "out", engine="espeak", voices=path)
    with pytest.raises(VoicesError) as error:
        render(SAMPLE, options)
    message = str(error.value)
    assert message.startswith(f"{path} line 11 under roles.host.espeak: ")
    assert "did you mean cmn+steph" in message
    assert "klatt" not in message and "robosoft" not in message
    assert len(message) < 300


def test_the_issue_example_from_the_cli(tmp_path: Path) -> None:
    path = voices_file(tmp_path, "espeak: {variant: cmn+f3}", "espeak: {variant: cmn+nosuchvoice}")
    result = runner.invoke(
        app,
        ["preview", "--speaker", "narrator", "--engine", "espeak", "--voices", str(path)]
        + ["-o", str(tmp_path / "p.mp3")],
    )
    assert result.exit_code == 2
    error = result.output.strip().splitlines()[-1]
    assert error.startswith(f"error: {path} line 4 under narrator.espeak: Unknown eSpeak NG voice")
    assert "voices --engine espeak" in error and "announcer" not in error


def test_a_voice_set_in_two_places_names_both(tmp_path: Path) -> None:
    path = voices_file(tmp_path, "style: jm_kumo", "style: jm_kuma")
    path.write_text(
        path.read_text(encoding="utf-8").replace("{style: jf_nezumi}", "{style: jm_kuma}"),
        encoding="utf-8",
    )
    config = load_voices(path)
    styles = dict.fromkeys(("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"))

    def check(voice: Voice) -> None:
        assert isinstance(voice, KokoroVoice)
        parse_style(voice.style, styles)

    with pytest.raises(VoicesError) as error:
        check_voices(config, [config.narrator.for_engine("kokoro"), KokoroVoice("jm_kuma")], check)
    message = str(error.value)
    assert message.startswith(
        f"{path} line 9 under roles.host.kokoro (also set at {path} line 14 under pool[0].kokoro)"
    )
    assert "did you mean jm_kumo?" in message


def test_a_voice_named_on_the_command_line_has_no_place(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["preview", "--voice", "cmn+stef", "--engine", "espeak", "-o", str(tmp_path / "p.mp3")],
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("error: Unknown eSpeak NG voice")


@pytest.fixture
def fake() -> Iterator[FakeEdgeService]:
    yield from fake_edge_service()


def test_unknown_edge_voice_in_a_render(
    fake: FakeEdgeService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERVIEW_AUDIO_CACHE_DIR", str(tmp_path / "cache"))
    path = voices_file(tmp_path, "zh-CN-YunjianNeural", "zh-CN-YunjianNeuarl")
    options = RenderOptions(output=tmp_path / "out", engine="edge", voices=path)
    with pytest.raises(VoicesError) as error:
        render(SAMPLE, options)
    message = str(error.value)
    assert message.startswith(f"{path} line 16 under pool[1].edge: Edge voice")
    assert "did you mean zh-CN-YunjianNeural?" in message
    assert fake.stats.requests == 0  # checked before any line was synthesized


def test_suggestions() -> None:
    names = ["zh-CN-YunyangNeural", "zh-CN-YunxiNeural", "en-US-AriaNeural"]
    assert closest("zh-cn-yunxineural", names) == ["zh-CN-YunxiNeural"]
    assert suggest("x", ["f3", "m3"]) == "choose from f3, m3."  # a short list is given whole
    assert suggest("qqqq", [f"voice{n}" for n in range(50)]) == ""
    assert suggest("voice7x", [f"voice{n}" for n in range(50)]).startswith("did you mean voice7")


def test_voices_lists_what_each_entry_sounds_like_on_the_engine(tmp_path: Path) -> None:
    """Transforms and genders are part of a voice, so `voices` shows them next to who uses it."""
    path = tmp_path / "voices.yaml"
    path.write_text(
        VOICES.replace(
            "  espeak: {variant: cmn+f3}",
            "  espeak: {variant: cmn+f3, transform: {formants: +12%, median_pitch: 220Hz}}\n"
            "  gender: female",
            1,
        ),
        encoding="utf-8",
    )
    args = ["voices", "--engine", "espeak", "--voices", str(path)]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})  # one table row per line
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "female" in rows["narrator"]
    assert "cmn+f3 rate 175 pitch 50, formants +12% median_pitch 220Hz" in rows["narrator"]
    assert "cmn+m3" in rows["host (default)"] and "cmn+f4" in rows["pool #2"]
