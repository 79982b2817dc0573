"""Suggestions for a mistyped name: the valid names closest to it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

# Suggestions for a mistyped name: difflib ratio of the best match, and how far below it others
# may be and still be shown.
_CLOSE = 0.6


_AS_CLOSE = 0.05


def closest(name: str, choices: Iterable[str], count: int = 3) -> list[str]:
    """The valid names closest to a mistyped one (difflib), best first; case does not count.

    Only names about as close as the best one are kept: voice names share long parts
    (`zh-CN-…Neural`), so a loose cutoff alone would suggest voices that merely share those.
    """
    folded: dict[str, str] = {}
    for choice in choices:
        folded.setdefault(choice.casefold(), choice)
    matcher = difflib.SequenceMatcher(b=name.casefold())
    scored: list[tuple[float, str]] = []
    for key, choice in folded.items():
        matcher.set_seq1(key)
        scored.append((matcher.ratio(), choice))
    scored.sort(key=lambda pair: -pair[0])
    if not scored or scored[0][0] < _CLOSE:
        return []
    floor = scored[0][0] - _AS_CLOSE
    return [choice for ratio, choice in scored[:count] if ratio >= floor]


def did_you_mean(names: Sequence[str]) -> str:
    """`did you mean a, b or c?`, or "" when nothing is close."""
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"did you mean {listed}?"


def suggest(name: str, choices: Iterable[str], whole_list: int = 10) -> str:
    """`did you mean …?` for the valid names closest to `name`. When none is close, a short
    list of choices is given whole; for a long one, "" (callers point at `voices`)."""
    names = list(choices)
    hint = did_you_mean(closest(name, names))
    if not hint and len(names) <= whole_list:
        hint = f"choose from {', '.join(sorted(names))}."
    return hint
