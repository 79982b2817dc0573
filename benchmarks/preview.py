"""How long `preview` takes beyond the engine's own synthesis of the sentence, cold and warm.

For eSpeak NG and Kokoro (the engine given, so no Edge probe), two ways:
  new process   the real command line, `interview-audio preview --speaker host --engine E`, in a
                fresh Python process each round (what a user waits for every time)
  same process  a second `preview()` in a process that already made one (what an editor or a
                notebook auditioning voices pays)
Each row prints the wall time, the engine's own `synthesize` of the sentence, the overhead (the
rest) and, for a new process, where the overhead went: start-up and imports until the preview
begins, loading the engine (model, session, text front end), speaking beyond the synthesis (the
voice transform), encoding the MP3, and exiting.

Run: python benchmarks/preview.py [--rounds 3] [--engines espeak kokoro]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ENGINE_CLASSES = {
    "espeak": ("interview_audio.synthesis.engines.espeak.engine", "EspeakEngine"),
    "kokoro": ("interview_audio.synthesis.engines.kokoro.engine", "KokoroEngine"),
}


@contextmanager
def timed_synthesis(engine: str, spent: list[float]) -> Iterator[None]:
    """Add the seconds each `synthesize` of the engine's class takes to `spent`."""
    import importlib

    module_name, class_name = ENGINE_CLASSES[engine]
    cls = getattr(importlib.import_module(module_name), class_name)
    original = cls.synthesize

    def synthesize(self: Any, text: str, voice: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, text, voice)
        finally:
            spent.append(time.perf_counter() - start)

    cls.synthesize = synthesize
    try:
        yield
    finally:
        cls.synthesize = original


def child_cli(engine: str, output: str, report: str) -> None:
    """One command line run in this (new) process, its steps timed through the status lines."""
    import interview_audio.cli as cli
    import interview_audio.preview as preview_module

    steps: list[tuple[str, float]] = []
    spent: list[float] = []
    original = preview_module.preview

    def recorded(*args: Any, **kwargs: Any) -> Any:
        given: Callable[[str], None] = kwargs["status"]

        def status(line: str) -> None:
            steps.append((line.split(" ")[0], time.time()))
            given(line)

        steps.append(("Start", time.time()))
        result = original(*args, **{**kwargs, "status": status})
        steps.append(("Done", time.time()))
        return result

    preview_module.preview = recorded  # the command imports it when it runs
    with timed_synthesis(engine, spent):
        cli.app(
            ["preview", "--speaker", "host", "--engine", engine, "-o", output],
            standalone_mode=False,
        )
    Path(report).write_text(json.dumps({"steps": steps, "synthesis": sum(spent)}))


def child_warm(engine: str, output: str, report: str) -> None:
    """Two previews in this process; the second one's time."""
    from interview_audio.preview import preview

    walls: list[float] = []
    spent: list[float] = []
    with timed_synthesis(engine, spent):
        for _ in range(2):
            start = time.perf_counter()
            preview(None, speaker="host", engine=engine, output=Path(output))
            walls.append(time.perf_counter() - start)
    Path(report).write_text(json.dumps({"wall": walls[1], "synthesis": spent[-1]}))


def run_child(mode: str, engine: str, folder: Path) -> tuple[float, dict[str, Any]]:
    report = folder / "report.json"
    started = time.time()
    subprocess.run(
        [sys.executable, __file__, "--child", mode, engine, str(folder / "p.mp3"), str(report)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.time() - started
    data: dict[str, Any] = json.loads(report.read_text())
    data["process_start"] = started
    data["process_end"] = time.time()
    return wall, data


def new_process_parts(wall: float, data: dict[str, Any]) -> dict[str, float]:
    """Where the wall time of one command went, from its status lines' timestamps."""
    at = {name: stamp for name, stamp in data["steps"]}
    return {
        "start-up": at["Start"] - data["process_start"],
        "loading": at["Speaking"] - at["Loading"],
        "before loading": at["Loading"] - at["Start"],
        "speaking beyond synthesis": at["Encoding"] - at["Speaking"] - data["synthesis"],
        "encoding": at["Done"] - at["Encoding"],
        "exit": data["process_end"] - at["Done"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engines", nargs="+", default=["espeak", "kokoro"])
    parser.add_argument("--child", nargs=4, metavar=("MODE", "ENGINE", "OUTPUT", "REPORT"))
    args = parser.parse_args()
    if args.child:
        mode, engine, output, report = args.child
        (child_cli if mode == "cli" else child_warm)(engine, output, report)
        return
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    print(f"{'engine':<7} {'run':<28} {'wall':>7} {'synthesis':>10} {'overhead':>9}")
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        for engine in args.engines:
            cold: list[tuple[float, dict[str, Any]]] = []
            warm: list[dict[str, Any]] = []
            for _ in range(args.rounds):  # interleaved, so load from others hits both alike
                cold.append(run_child("cli", engine, folder))
                warm.append(run_child("warm", engine, folder)[1])
            for label, rows in (
                ("new process, 1st round", cold[:1]),
                (f"new process, median of {len(cold)}", cold),
            ):
                walls = [wall for wall, _ in rows]
                synth = [data["synthesis"] for _, data in rows]
                wall, spent = statistics.median(walls), statistics.median(synth)
                print(f"{engine:<7} {label:<28} {wall:>6.2f}s {spent:>9.2f}s {wall - spent:>8.2f}s")
            parts = [new_process_parts(wall, data) for wall, data in cold]
            for name in parts[0]:
                value = statistics.median(part[name] for part in parts)
                print(f"{'':<7}   {name:<26} {value:>6.2f}s")
            wall = statistics.median(data["wall"] for data in warm)
            spent = statistics.median(data["synthesis"] for data in warm)
            label = f"same process, 2nd (med. {len(warm)})"
            print(f"{engine:<7} {label:<28} {wall:>6.2f}s {spent:>9.2f}s {wall - spent:>8.2f}s")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
