"""Section headings found and chapter titles cut from questions, over real articles.

Run: PYTHONPATH=src python benchmarks/chapter_titles.py [-v] [FILE or FOLDER …]
Default: the corpus (tests/fixtures/corpus), the heading excerpts (tests/fixtures/headings) and
the seed (../shared/seed). For every article it counts the section headings the parser finds
and the chapters they make, and checks every title `--chapters shift` cuts from a question
(the titles an article without headings gets): a title starts or ends inside a word when its
first or last character is not at one of jieba's word boundaries in the sentence it was cut
from (Traditional text segmented through its Simplified form, as interview_audio.words does).
-v prints every title.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from interview_audio.article.chapters import find_chapters
from interview_audio.article.parse import read_source
from interview_audio.article.script import Chapter, Script
from interview_audio.errors import InputError, InterviewAudioError
from interview_audio.words import boundaries

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = [
    ROOT / "tests/fixtures/corpus",
    ROOT / "tests/fixtures/headings",
    ROOT.parent / "shared/seed",
]
_SENTENCE = re.compile(r"[^。？！?!…]+[。？！?!…]*")


def articles(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.iterdir())
                if p.suffix in (".md", ".txt") and not p.name.startswith(("README", "FINDINGS"))
            )
        elif path.exists():
            found.append(path)
    return found


def cut_inside_a_word(script: Script, chapter: Chapter) -> bool | None:
    """Whether the title starts or ends inside a word of the sentence it comes from; None when
    no sentence of the chapter's first turns holds it (the article's title, a heading)."""
    title = re.sub(r"（\d+）$", "", chapter.title)
    for turn in script.turns[chapter.start_turn : chapter.start_turn + 3]:
        for sentence in _SENTENCE.findall(turn.text):
            start = sentence.find(title)
            if start >= 0 and title:
                cuts = boundaries(sentence)
                return start not in cuts or start + len(title) not in cuts
    return None


def _heading_chapters(script: Script) -> tuple[Chapter, ...]:
    try:
        return find_chapters(script, "headings")
    except InputError:  # no heading comes before a turn
        return ()


def main() -> int:
    verbose = "-v" in sys.argv[1:]
    paths = [Path(arg) for arg in sys.argv[1:] if arg != "-v"] or DEFAULT
    files = articles(paths)
    titles = inside = headed = headings = 0
    for path in files:
        try:
            script = read_source(path).script
        except InterviewAudioError as error:
            print(f"{path.name}: not read ({error})")
            continue
        chapters = find_chapters(script, "shift")
        bad = []
        for chapter in chapters:
            verdict = cut_inside_a_word(script, chapter)
            titles += verdict is not None
            if verdict:
                bad.append(chapter.title)
        inside += len(bad)
        from_headings = len(_heading_chapters(script))
        headings += len(script.headings)
        headed += from_headings > 0
        print(
            f"{path.name}: {len(script.turns)} turns, {len(script.headings)} headings "
            f"({from_headings} chapters), {len(chapters)} shift titles, {len(bad)} cut inside a "
            "word" + (f": {' / '.join(bad)}" if bad else "")
        )
        if verbose:
            for chapter in chapters:
                print(f"    {chapter.start_turn:3d} {chapter.title}")
    print(
        f"\n{len(files)} articles: {headings} section headings found, {headed} articles with "
        f"heading chapters; {titles} titles cut from questions, {inside} start or end inside "
        "a word"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
