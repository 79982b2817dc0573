"""How long parsing takes on a ~1 MB transcript (the seed's dialogue repeated), and on the seed.

Run: python benchmarks/parse_speed.py
"""

from __future__ import annotations

import time
from pathlib import Path

from interview_audio.parse import parse_article

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed" / "000_79d8b0fa45fee915.txt"
SOURCE = SEED if SEED.exists() else ROOT / "examples" / "sample.txt"


def main() -> None:
    text = SOURCE.read_text(encoding="utf-8")
    head, marker, dialogue = text.partition("## 访谈全文")
    dialogue = dialogue.split("## ", 1)[0]
    big = head + marker + dialogue * max(1, (1_000_000 // len(dialogue.encode())) + 1)
    print(f"source: {SOURCE.name}")
    for label, body in (("article", text), ("~1 MB", big)):
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            script = parse_article(body)
            best = min(best, time.perf_counter() - start)
        size = len(body.encode()) / 1e6
        turns = len(script.turns)
        print(f"{label:>8}: {size:6.2f} MB {turns:6d} turns  best of 5: {best * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
