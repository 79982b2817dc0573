"""Counts and clock times as every command, log and page shows them."""

from __future__ import annotations

import pytest

from interview_audio.display import clock, counted


def test_counts_agree_with_their_number() -> None:
    assert counted(1, "article") == "1 article"
    assert counted(0, "article") == "0 articles"
    assert counted(2, "entry", "entries") == "2 entries"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (66.89, "1:06"),  # the player's clock says 1:06 at this chapter's start
        (66.5, "1:06"),
        (66.9996, "1:07"),  # a millisecond away: what a CHAP frame in ms would say
        (59.4, "0:59"),
        (3599.9996, "1:00:00"),
        (3723.2, "1:02:03"),
        (-0.2, "0:00"),
    ],
)
def test_clock_shows_whole_seconds_as_a_player_does(seconds: float, shown: str) -> None:
    assert clock(seconds) == shown
