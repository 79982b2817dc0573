"""How long parsing takes on a ~1 MB transcript (the seed's dialogue repeated), and on the seed;
how much of it goes to deciding who is who (speakers.identify); and what loading
gender-guesser's dictionary costs the first article with an English given name.

Run: python benchmarks/parse_speed.py
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from interview_audio.article import parse, speakers
from interview_audio.article.parse import parse_article

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed" / "000_79d8b0fa45fee915.txt"
SOURCE = SEED if SEED.exists() else ROOT / "examples" / "sample.txt"


def main() -> None:
    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores)")
    spent = [0.0]
    identify = speakers.identify

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        found = identify(*args, **kwargs)
        spent[0] += time.perf_counter() - start
        return found

    parse.identify = timed  # count the time spent deciding roles and genders
    text = SOURCE.read_text(encoding="utf-8")
    head, marker, dialogue = text.partition("## 访谈全文")
    dialogue = dialogue.split("## ", 1)[0]
    big = head + marker + dialogue * max(1, (1_000_000 // len(dialogue.encode())) + 1)
    print(f"source: {SOURCE.name}")
    for label, body in (("article", text), ("~1 MB", big)):
        best = (float("inf"), 0.0)
        for _ in range(5):
            spent[0] = 0.0
            start = time.perf_counter()
            script = parse_article(body)
            best = min(best, (time.perf_counter() - start, spent[0]))
        size = len(body.encode()) / 1e6
        turns = len(script.turns)
        print(
            f"{label:>8}: {size:6.2f} MB {turns:6d} turns  best of 5: {best[0] * 1000:7.1f} ms"
            f"  (who is who: {best[1] * 1000:5.1f} ms)"
        )
    start = time.perf_counter()
    speakers.name_gender("Geoffrey Hinton")
    print(
        f"gender-guesser's dictionary, loaded once: {(time.perf_counter() - start) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
