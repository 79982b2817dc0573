"""The benchmarks are run by hand, never by CI: at least their imports must follow the code."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


@pytest.mark.parametrize("script", sorted(BENCHMARKS.glob("*.py")), ids=lambda path: path.name)
def test_a_benchmark_script_loads(script: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # scripts import their siblings
    namespace = runpy.run_path(str(script), run_name="benchmark_loaded_by_a_test")
    assert callable(namespace.get("main")), f"{script.name} has no main()"


def test_the_seed_benchmark_finds_the_voice_it_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """render_seed.py edits one voice in voices.yaml by text; an edit of the file must not make
    it change another voice, or none."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    changes = runpy.run_path(str(BENCHMARKS / "render_seed.py"), run_name="loaded")["CHANGES"]
    text = (BENCHMARKS.parent / "voices.yaml").read_text(encoding="utf-8")
    for engine, (_, old, new) in changes.items():
        assert text.count(old) == 1 and old != new, engine
