"""Articles that could not be rendered into the output folder: `.failures.json` beside
`feed.xml`, written by the watcher and shown on the library page with the reason.

Each record keeps the article's size and modification time when it failed, so the watcher
tries it again only once the file has changed, also after a restart. The file is hidden, so
`serve` never hands out the paths in it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from interview_audio.files import write_text

log = logging.getLogger(__name__)

FAILURES_NAME = ".failures.json"
_FORMAT = 1


@dataclass(frozen=True)
class Failure:
    """One article that failed: its path inside the watched folder, why, when (ISO 8601, UTC),
    and the file's size and modification time (ns) at that attempt."""

    article: str
    reason: str
    failed: str
    size: int
    mtime_ns: int


def read_failures(output: Path) -> tuple[Failure, ...]:
    """The failures recorded in `output`, oldest first; none when there is no readable record
    (a damaged one is said once and then rewritten by the next failure)."""
    path = output / FAILURES_NAME
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != _FORMAT:
            raise ValueError(f"format {document.get('format')!r}")
        return tuple(Failure(**entry) for entry in document["failures"])
    except FileNotFoundError:
        return ()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("Ignoring %s (%s): failed articles are tried again.", path, exc)
        return ()


def write_failures(output: Path, failures: Iterable[Failure]) -> None:
    """Record `failures` (atomically); no failures removes the record."""
    path = output / FAILURES_NAME
    entries = sorted(failures, key=lambda failure: (failure.failed, failure.article))
    if not entries:
        path.unlink(missing_ok=True)
        return
    document = {"format": _FORMAT, "failures": [asdict(failure) for failure in entries]}
    write_text(path, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
