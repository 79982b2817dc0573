"""How long a render takes to fail when the Edge service stalls, with the engine's defaults.

The loopback fake accepts every request, starts its turn, sends a few frames and then nothing,
keeping the connection open. The render (the bundled sample, `--jobs` lines at once) should
fail with its one-line error well under a minute; without stall detection each line would wait
out the 60 s per-request timeout on every one of its 6 attempts. Run from the repo root:

    PYTHONPATH=src python benchmarks/edge_stall.py [--jobs 4]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from edge_fake import FakeEdgeService  # noqa: E402
from interview_audio.errors import InterviewAudioError  # noqa: E402
from interview_audio.pipeline import RenderOptions, render  # noqa: E402
from interview_audio.synthesis.engines.base import EngineOptions  # noqa: E402

SAMPLE = ROOT / "examples" / "sample.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    defaults = EngineOptions()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["INTERVIEW_AUDIO_CACHE_DIR"] = str(Path(scratch) / "cache")
        options = RenderOptions(
            output=Path(scratch) / "out", engine="edge", jobs=args.jobs, use_cache=False
        )
        with FakeEdgeService(fault_rate=1.0, faults=["stall"]) as fake:
            started = time.monotonic()
            try:
                render(SAMPLE, options)
                outcome = "rendered (unexpected)"
            except InterviewAudioError as exc:
                outcome = f"error: {exc}"
            took = time.monotonic() - started
            requests = fake.stats.requests
    worst = (defaults.retries + 1) * defaults.timeout
    print(f"stalled service, --jobs {args.jobs}, stall_timeout {defaults.stall_timeout:g} s:")
    print(f"  failed after {took:.1f} s, {requests} synthesis requests")
    print(f"  {outcome}")
    print(f"  without stall detection: up to {worst:.0f} s per line plus backoff")
    print(f"  load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
