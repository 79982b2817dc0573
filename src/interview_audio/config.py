"""`interview-audio.toml`: settings that belong to the folder commands run in, one table per
concern (`[feed]` for the podcast feed, `[music]` for intro and outro music).

A table's keys are checked against what it knows and each value against its kind, so a typo
is reported with the file and the valid keys instead of being ignored.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from interview_audio.errors import InputError

CONFIG_NAME = "interview-audio.toml"
# The kinds a setting may be, as TOML writes them, and how a mistake names them.
TEXT, BOOL, NUMBER = "text", "true or false", "a number"


def config_table(config: Path | None, table: str, kinds: Mapping[str, str]) -> dict[str, Any]:
    """The `[table]` of `config` (default: ./interview-audio.toml when it exists), its keys
    checked against `kinds` (name -> TEXT, BOOL or NUMBER); {} when there is no such file."""
    path = config if config is not None else Path(CONFIG_NAME)
    if config is None and not path.is_file():
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"The config file {path} does not exist: check the path.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read {path} ({exc}); check the file.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path} is not valid TOML ({exc}); fix that line.") from exc
    values = document.get(table, {})
    if not isinstance(values, dict):
        raise InputError(f"In {path}, `{table}` must be a table: write it as [{table}].")
    for key, value in values.items():
        if key not in kinds:
            raise InputError(
                f"In {path}, [{table}] has no setting {key!r}: use one of {', '.join(kinds)}."
            )
        if not _is(value, kinds[key]):
            raise InputError(f"In {path}, [{table}] {key} must be {kinds[key]}, not {value!r}.")
    return dict(values)


def _is(value: Any, kind: str) -> bool:
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)
