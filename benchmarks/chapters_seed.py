"""Chapters found on the seed article, and how long finding them takes.

Run: PYTHONPATH=src python benchmarks/chapters_seed.py [method] [path]
Times are wall-clock seconds in a fresh process: importing the chapter module, parsing the
article (for reference), and finding the chapters. The target is under a second for the
chapter stage without jieba; a chapter titled from its question loads it (the script says so).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

SEED = Path(__file__).resolve().parents[2] / "shared/seed/000_79d8b0fa45fee915.txt"


def main() -> int:
    method = sys.argv[1] if len(sys.argv) > 1 else "auto"
    path = Path(sys.argv[2]) if len(sys.argv) > 2 else SEED
    if not path.exists():
        print(f"No article at {path}; pass its path as the second argument.")
        return 1
    start = time.perf_counter()
    from interview_audio.article.chapters import exchanges, find_chapters

    imported = time.perf_counter()
    from interview_audio.article.parse import read_article

    script = read_article(path)
    parsed = time.perf_counter()
    chapters = find_chapters(script, method)
    found = time.perf_counter()

    print(
        f"{path.name}: {len(script.turns)} turns, {len(exchanges(script))} exchanges, "
        f"{len(script.topics)} summary topics, {len(script.headings)} headings"
    )
    print(f"method={method}: {len(chapters)} chapters")
    for chapter in chapters:
        turn = script.turns[chapter.start_turn]
        print(f"  turn {chapter.start_turn:3d}  {chapter.title}  <- {turn.text[:24]}…")
    print(f"import chapters  {imported - start:7.3f} s")
    print(f"parse article    {parsed - imported:7.3f} s")
    print(
        f"find chapters    {found - parsed:7.3f} s"
        f"{'  (jieba loaded)' if 'jieba' in sys.modules else ''}"
    )
    print(f"chapter stage    {found - parsed + imported - start:7.3f} s (target < 1 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
