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
