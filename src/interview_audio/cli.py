"""The command line: a thin layer over the library that turns errors into one-line messages."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from interview_audio import __version__
from interview_audio.errors import InterviewAudioError
from interview_audio.script import Script, dump_yaml, read_script, to_dict

log = logging.getLogger(__name__)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Turn a Chinese interview transcript into a chaptered podcast episode.",
)

T = TypeVar("T")

ArticleArg = Annotated[
    Path, typer.Argument(help="The interview article (.txt/.md) or an edited script.yaml.")
]


def _run(action: Callable[[], T]) -> T:
    """Run a library call; our errors become one line on stderr and an exit code."""
    try:
        return action()
    except InterviewAudioError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("Interrupted. Run the same command again to resume from the cache.", err=True)
        raise typer.Exit(130) from None


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command("script")
def script_command(
    article: ArticleArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the script as JSON.")] = False,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write an editable YAML script to this file."),
    ] = None,
) -> None:
    """Show how the article was read: speakers, roles, topics and every turn."""
    script = _run(lambda: read_script(article))
    if output is not None:
        _run(lambda: _write_text(output, dump_yaml(script)))
        typer.echo(f"Wrote {output} ({len(script.turns)} turns). Edit it, then render it.")
        return
    if as_json:
        typer.echo(json.dumps(to_dict(script), ensure_ascii=False, indent=2))
        return
    _print_script(script)


def _write_text(path: Path, text: str) -> None:
    from interview_audio.errors import InputError

    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"Cannot write {path}: {exc.strerror}. Choose another path.") from exc


def _print_script(script: Script) -> None:
    meta = script.meta
    typer.echo(f"Title:    {meta.title}")
    for label, value in (
        ("Author", meta.author),
        ("Date", meta.date),
        ("Source", meta.source_url),
    ):
        if value:
            typer.echo(f"{label + ':':<9} {value}")
    typer.echo(f"Turns:    {len(script.turns)}")
    typer.echo("Speakers:")
    for speaker in script.speakers:
        aliases = f" (also {', '.join(speaker.aliases)})" if speaker.aliases else ""
        typer.echo(
            f"  {speaker.name} [{speaker.role.value}]: "
            f"{script.turn_count(speaker.name)} turns{aliases}"
        )
    if script.topics:
        typer.echo("Topics:")
        for number, topic in enumerate(script.topics, 1):
            typer.echo(f"  {number}. {topic.title}")
    if script.chapters:
        typer.echo("Chapters:")
        for chapter in script.chapters:
            typer.echo(f"  turn {chapter.start_turn:>3}  {chapter.title}")
    typer.echo("Dialogue:")
    for index, turn in enumerate(script.turns):
        first = turn.paragraphs[0]
        preview = first if len(first) <= 40 else first[:40] + "…"
        typer.echo(f"  {index:>3} {turn.speaker}: {preview}")


def main() -> None:
    app()
