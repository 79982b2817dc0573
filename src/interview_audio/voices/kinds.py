"""The engines' voices as voices.yaml writes them: each engine plugin says what its entries hold,
reads them, and gives a default where it has one. This is all the voices stage knows of engines.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from interview_audio import yamlfile
from interview_audio.errors import VoicesError
from interview_audio.plugins import engine_plugins
from interview_audio.voices.model import Voice, VoiceTransform


@runtime_checkable
class VoiceKind(Protocol):
    """What an engine plugin tells the voices stage (the plugin object implements more: see
    `synthesis.engines.base.EnginePlugin`)."""

    name: str
    # Keys of a voice entry (`edge: {voice: …, rate: …}`), besides `transform` which every
    # engine's voices take.
    voice_keys: tuple[str, ...]
    # How to write an entry, for messages: "`edge: {voice: ...}`".
    voice_example: str
    # Whether every voice set (narrator, roles, pool) must name a voice for this engine;
    # otherwise one that does not gets `default_voice()`.
    required: bool
    # Keys of the engine's own top-level section in voices.yaml (none: it has no section).
    settings_keys: tuple[str, ...]

    def default_voice(self) -> Voice | None:
        """The voice a set that names none for this engine gets (None: there is none)."""
        ...

    def parse_voice(
        self,
        fields: Mapping[str, yamlfile.Node],
        node: yamlfile.Node,
        transform: VoiceTransform | None,
    ) -> Voice:
        """The voice an entry describes; `fields` hold only `voice_keys`. Mistakes raise
        VoicesError through `node.fail` or a field's, so they name the file and line."""
        ...

    def named_voice(self, name: str) -> Voice:
        """A voice given by its engine name alone (`preview --voice NAME`)."""
        ...

    def parse_settings(self, fields: Mapping[str, yamlfile.Node], base: Path) -> object:
        """The engine's top-level section (`fields` hold only `settings_keys`); paths in it are
        relative to `base`, the folder of voices.yaml."""
        ...


@functools.cache
def voice_kinds() -> dict[str, VoiceKind]:
    """Every registered engine's voice kind by name, in the registry's order."""
    kinds: dict[str, VoiceKind] = {}
    for name, plugin in engine_plugins().items():
        if not isinstance(plugin, VoiceKind):
            raise VoicesError(
                f"The engine plugin {name!r} does not describe its voices (voice_keys, "
                "parse_voice, …): update or uninstall the package that provides it."
            )
        kinds[name] = plugin
    return kinds


def engine_names() -> tuple[str, ...]:
    """The engines a render can use, in the registry's order."""
    return tuple(voice_kinds())


def engine_choices() -> tuple[str, ...]:
    """What `--engine` and voices.yaml's `engine:` accept: `auto` and every engine."""
    return ("auto", *engine_names())


def check_engine(engine: str) -> None:
    """VoicesError naming the engines there are, unless `engine` is one of them."""
    names = engine_names()
    if engine not in names:
        raise VoicesError(f"Unknown engine {engine!r}: choose one of {', '.join(names)}.")


def check_engine_choice(engine: str) -> None:
    """VoicesError naming the choices, unless `engine` is `auto` or an engine."""
    choices = engine_choices()
    if engine not in choices:
        raise VoicesError(f"Unknown engine {engine!r}: choose one of {', '.join(choices)}.")
