"""`preview --article`: every name render prints in an article's cast is heard as render casts it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from mutagen.mp3 import MP3
from typer.testing import CliRunner

from interview_audio.cli import app
from interview_audio.episode import Episode
from interview_audio.errors import InputError, VoicesError
from interview_audio.pipeline import QuietReporter, RenderOptions, render
from interview_audio.preview import preview

pytestmark = pytest.mark.audio

SAMPLE = Path(__file__).parents[1] / "examples" / "sample.txt"
PACKAGED = Path(__file__).parents[1] / "src" / "interview_audio" / "data" / "voices.yaml"
runner = CliRunner()


class CastRecorder(QuietReporter):
    def __init__(self) -> None:
        self.cast: tuple[str, ...] = ()

    def started(self, engine: str, episodes: Sequence[Episode]) -> None:
        self.cast = episodes[0].cast


def render_cast(tmp_path: Path, voices: Path | None = None) -> dict[str, str]:
    """Speaker name -> the cast line render prints, from a dry run."""
    recorder = CastRecorder()
    options = RenderOptions(output=tmp_path / "out", engine="espeak", voices=voices, dry_run=True)
    render(SAMPLE, options, recorder)
    return {line.split(" → ")[0]: line for line in recorder.cast}


def test_every_cast_name_previews_with_its_render_voice(tmp_path: Path) -> None:
    cast = render_cast(tmp_path)
    sources = " ".join(cast.values())
    assert "role default: host" in sources and "pool #" in sources  # both ways are covered
    for name, line in cast.items():
        result = preview(
            None, speaker=name, engine="espeak", article=SAMPLE, output=tmp_path / "p.mp3"
        )
        assert result.cast == line
        assert MP3(result.path).info.length > 1.0


def test_cli_preview_of_a_name_render_printed(tmp_path: Path) -> None:
    out = tmp_path / "host.mp3"
    result = runner.invoke(
        app,
        ["preview", "--article", str(SAMPLE), "--speaker", "主持人林晓", "--engine", "espeak"]
        + ["-o", str(out), "你好。"],
    )
    assert result.exit_code == 0, result.output
    assert "林晓 → cmn+" in result.output and "role default: host" in result.output
    assert 0.3 < MP3(out).info.length < 5  # the given text, not the article's words


@pytest.mark.parametrize(
    ("asked", "meant"),
    [
        ("主持人 林晓", "林晓"),  # the label as written; spacing and width do not count
        ("ＣＨＥＮ  MO", "陈默"),  # a voices.yaml alias
        ("host", "林晓"),
        ("guest", "陈默"),  # the first guest to speak
        ("旁白", "narrator"),
    ],
)
def test_other_spellings_and_roles(tmp_path: Path, asked: str, meant: str) -> None:
    voices = tmp_path / "voices.yaml"
    text = PACKAGED.read_text(encoding="utf-8").replace(
        "speakers:\n",
        "speakers:\n  陈默:\n    aliases: [Chen Mo]\n    espeak: {variant: cmn+f4}\n",
        1,
    )
    voices.write_text(text, encoding="utf-8")
    cast = render_cast(tmp_path, voices)
    result = preview(
        "你好。",
        speaker=asked,
        engine="espeak",
        voices_path=voices,
        article=SAMPLE,
        output=tmp_path / "p.mp3",
    )
    assert result.cast == cast[meant]
    if meant == "陈默":
        assert "cmn+f4" in result.cast and "voices.yaml speakers" in result.cast


def test_a_name_not_in_the_article_lists_its_cast(tmp_path: Path) -> None:
    with pytest.raises(VoicesError) as error:
        preview(None, speaker="山姆", engine="espeak", article=SAMPLE, output=tmp_path / "p.mp3")
    message = str(error.value)
    assert "does not speak in" in message
    assert "narrator, 林晓, 陈默, 周一鸣" in message


def test_without_article_the_error_says_how(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["preview", "--speaker", "主持人林晓", "--engine", "espeak", "-o", str(tmp_path / "p")]
    )
    assert result.exit_code == 2
    assert "--article ARTICLE --speaker 主持人林晓" in result.output


def test_article_needs_a_speaker(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--speaker"):
        preview(None, voice="cmn+f3", article=SAMPLE, output=tmp_path / "p.mp3")


# What a preview says while it works, and what it loads ----------------------------------------


def test_preview_says_each_step_in_order(tmp_path: Path) -> None:
    said: list[str] = []
    preview(
        "你好。",
        speaker="host",
        engine="espeak",
        article=SAMPLE,
        output=tmp_path / "p.mp3",
        status=said.append,
    )
    assert [line.split(" ")[0] for line in said] == ["Reading", "Loading", "Speaking", "Encoding"]
    assert said[0] == f"Reading {SAMPLE}…" and said[1] == "Loading espeak…"
    assert said[2] == "Speaking 3 characters…" and said[3] == f"Encoding {tmp_path / 'p.mp3'}…"


def test_cli_preview_prints_its_steps_on_stderr(tmp_path: Path) -> None:
    out = tmp_path / "p.mp3"
    result = runner.invoke(
        app, ["preview", "--speaker", "host", "--engine", "espeak", "-o", str(out), "你好。"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[:3] == [
        "Loading espeak…",
        "Speaking 3 characters…",
        f"Encoding {out}…",
    ]
    assert result.stdout.startswith(f"Wrote {out}")


def _no_probe(timeout: float = 3.0) -> bool:
    raise AssertionError("the Edge service was asked although the engine was given")


@pytest.mark.parametrize("given", ["flag", "voices.yaml"])
def test_no_edge_probe_when_the_engine_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.setattr("interview_audio.synthesis.engines.edge.engine.reachable", _no_probe)
    voices = tmp_path / "voices.yaml"
    engine_line = "engine: auto" if given == "flag" else "engine: espeak"
    voices.write_text(
        PACKAGED.read_text(encoding="utf-8").replace("engine: auto", engine_line, 1),
        encoding="utf-8",
    )
    said: list[str] = []
    result = preview(
        "你好。",
        speaker="guest",
        engine="espeak" if given == "flag" else None,
        voices_path=voices,
        output=tmp_path / "p.mp3",
        status=said.append,
    )
    assert result.engine == "espeak"
    assert not any("Edge" in line for line in said)


def test_kokoro_loads_before_speaking_and_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interview_audio.synthesis.engines.kokoro import model, phonemes

    # A process that has loaded nothing yet: no model, session or front end.
    monkeypatch.setattr(model, "_models", {})
    monkeypatch.setattr(phonemes, "_frontends", {})
    opened: list[str] = []
    open_session = model._open_session

    def counting(*args: object) -> object:
        opened.append("session")
        return open_session(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(model, "_open_session", counting)
    said: list[str] = []

    def status(line: str) -> None:
        # What was loaded when each step begins.
        said.append(f"{line} session={len(opened)} frontend={len(phonemes._frontends)}")

    for name in ("first", "second"):
        preview(
            "你好。",
            speaker="host",
            engine="kokoro",
            output=tmp_path / f"{name}.mp3",
            status=status,
        )
    assert said == [
        "Loading kokoro… session=0 frontend=0",
        "Speaking 3 characters… session=1 frontend=1",
        f"Encoding {tmp_path / 'first.mp3'}… session=1 frontend=1",
        "Loading kokoro… session=1 frontend=1",
        "Speaking 3 characters… session=1 frontend=1",
        f"Encoding {tmp_path / 'second.mp3'}… session=1 frontend=1",
    ]
