"""How counts and clock times are shown to a person, the same in every command, log and page.

Clock times are truncated to the second after rounding to the millisecond, as a player's clock
shows them: a chapter that starts at 66.89 s is reached when the player says 1:06, so every
place that lists it says 1:06 too (the episode page's script, `data/episode.js`, does the same).
"""

from __future__ import annotations


def counted(count: int, word: str, plural: str | None = None) -> str:
    """`1 article`, `2 articles`; `plural` for words that do not just take an s."""
    return f"{count} {word if count == 1 else plural or word + 's'}"


def whole_seconds(seconds: float) -> int:
    """The second a player's clock shows at `seconds` (never rounded up)."""
    return max(0, round(seconds * 1000)) // 1000


def clock(seconds: float) -> str:
    """1:06 or 1:02:03, as a player shows the time."""
    minutes, secs = divmod(whole_seconds(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
