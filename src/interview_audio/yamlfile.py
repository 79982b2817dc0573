"""Read user-edited YAML safely and report mistakes with the file and line they are on.

Both voices.yaml and script.yaml are edited by hand, so every error names where it is.
Only the safe loader is used: no tags, no Python objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from interview_audio.errors import InterviewAudioError


@dataclass(frozen=True)
class Node:
    """A YAML node with the place it came from, for precise error messages."""

    node: yaml.Node
    source: str
    path: str

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    @property
    def place(self) -> str:
        """Where the node is, as errors name it: `voices.yaml line 12 under narrator.espeak`."""
        where = f" under {self.path}" if self.path else ""
        return f"{self.source} line {self.line}{where}"

    def fail(self, error: type[InterviewAudioError], message: str) -> InterviewAudioError:
        return error(f"{self.place}: {message}")

    @property
    def is_null(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and self.node.tag.endswith(":null")

    def items(
        self, error: type[InterviewAudioError], allowed: tuple[str, ...] | None = None
    ) -> Iterator[tuple[str, Node]]:
        """The pairs of a mapping; unknown keys are errors that list the valid ones."""
        if self.is_null:
            return
        if not isinstance(self.node, yaml.MappingNode):
            raise self.fail(error, "expected a mapping of `key: value` lines.")
        seen: set[str] = set()
        for key_node, value_node in self.node.value:
            key = str(yaml.safe_load(yaml.serialize(key_node)))
            child = Node(value_node, self.source, f"{self.path}.{key}" if self.path else key)
            if allowed is not None and key not in allowed:
                raise Node(key_node, self.source, self.path).fail(
                    error, f"unknown key {key!r}; valid keys: {', '.join(allowed)}."
                )
            if key in seen:
                raise Node(key_node, self.source, self.path).fail(error, f"{key!r} appears twice.")
            seen.add(key)
            yield key, child

    def elements(self, error: type[InterviewAudioError]) -> Iterator[Node]:
        if self.is_null:
            return
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.fail(error, "expected a list of `- item` lines.")
        for index, item in enumerate(self.node.value):
            yield Node(item, self.source, f"{self.path}[{index}]")

    def scalar(self) -> object:
        if not isinstance(self.node, yaml.ScalarNode):
            return None
        value: object = yaml.safe_load(yaml.serialize(self.node))
        return value

    def string(self, error: type[InterviewAudioError], allow_empty: bool = False) -> str:
        value = self.scalar()
        if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
            if value is None and allow_empty and isinstance(self.node, yaml.ScalarNode):
                return ""
            raise self.fail(error, "expected text.")
        text = str(value)
        if not text.strip() and not allow_empty:
            raise self.fail(error, "must not be empty.")
        return text

    def number(self, error: type[InterviewAudioError], low: float, high: float) -> float:
        value = self.scalar()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(error, f"expected a number from {low:g} to {high:g}.")
        if not low <= float(value) <= high:
            raise self.fail(
                error, f"{value} is out of range; use a number from {low:g} to {high:g}."
            )
        return float(value)

    def integer(self, error: type[InterviewAudioError], low: int, high: int) -> int:
        value = self.scalar()
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(error, f"expected a whole number from {low} to {high}.")
        if not low <= value <= high:
            raise self.fail(
                error, f"{value} is out of range; use a whole number from {low} to {high}."
            )
        return value


def load(text: str, source: str, error: type[InterviewAudioError]) -> Node:
    """Compose `text` with the safe loader; a syntax error names the file and line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.context_mark or exc.problem_mark
        line = f" line {mark.line + 1}" if mark else ""
        raise error(
            f"{source}{line}: invalid YAML ({exc.problem}). Fix the syntax there."
        ) from None
    except yaml.YAMLError as exc:
        raise error(f"{source}: invalid YAML ({exc}). Fix the syntax.") from None
    if node is None:
        raise error(f"{source} is empty. Write the settings or regenerate the file.")
    return Node(node, source, "")


def read(path: Path, error: type[InterviewAudioError]) -> Node:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise error(f"{path}: no such file. Check the path.") from None
    except IsADirectoryError:
        raise error(f"{path} is a directory. Pass a YAML file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read it as UTF-8 text ({exc}).") from None
    return load(text, str(path), error)
