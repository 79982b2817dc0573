"""Short interviews written on the fly for the batch tests: a few lines of audio each."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def write_article(path: Path, title: str, guest: str, answers: Sequence[str]) -> Path:
    """A short interview: the host asks, `guest` answers, one turn each."""
    parts = [f"# {title}", ""]
    for number, answer in enumerate(answers, 1):
        parts += [f"主持人：第{number}个问题，你怎么看？", "", f"{guest}：{answer}", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def articles(folder: Path) -> list[Path]:
    return [
        write_article(
            folder / "a-running.txt",
            "对话：慢跑的意义",
            "李雷",
            ["因为跑步让我清醒。", "下雨天也跑，只是跑得短一些。"],
        ),
        write_article(
            folder / "b-books.md",
            "访谈：一家小书店的二十年",
            "韩梅梅",
            ["到今年正好二十年。", "现在有四十个书架，还有一个咖啡角。"],
        ),
    ]


def render_fresh(paths: list[Path], output: Path, cache: Path) -> Any:
    """Render with eSpeak on the local executor, one line at a time, in this process: the entry
    point of a spawned child, so the engine starts from a fresh state (see test_ray)."""
    from interview_audio.pipeline import RenderOptions, render_many

    options = RenderOptions(output=output, engine="espeak", cache_dir=cache, jobs=1)
    return render_many(paths, options)
