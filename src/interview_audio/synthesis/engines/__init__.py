"""The engine registry: the engine plugins found through the entry-point group
`interview_audio.engines` (`plugins.py`), by name; an engine's heavy imports happen when it
loads, never when the registry is read."""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from interview_audio import plugins
from interview_audio.errors import EngineUnavailable, VoicesError
from interview_audio.synthesis.engines.base import (
    Engine,
    EngineOptions,
    EnginePlugin,
    speak_a_word,
)
from interview_audio.voices.kinds import check_engine_choice, engine_choices
from interview_audio.voices.model import Voice

log = logging.getLogger(__name__)

# Seconds "auto" waits for the Edge service to answer before it renders offline.
EDGE_TIMEOUT = 3.0


def engine_plugins() -> dict[str, EnginePlugin]:
    """Every registered engine's plugin by name, in the registry's order."""
    found: dict[str, EnginePlugin] = {}
    for name, plugin in plugins.engine_plugins().items():
        if not isinstance(plugin, EnginePlugin):
            raise EngineUnavailable(
                f"The engine plugin {name!r} cannot load an engine (it has no `load`): update "
                "or uninstall the package that provides it."
            )
        found[name] = plugin
    return found


def load_engine(name: str, options: EngineOptions) -> Engine:
    """Load one engine by name; raise EngineUnavailable (with the fix) when it cannot run."""
    found = engine_plugins()
    if name not in found:
        raise VoicesError(f"Unknown engine {name!r}: choose one of {', '.join(engine_choices())}.")
    return found[name].load(options)


def selftest(name: str, options: EngineOptions, voice: Voice | None = None) -> str:
    """`doctor`'s test of one engine: what worked, in a few words, or the error naming the fix.

    `voice` is the one voices.yaml gives the narrator on this engine, if any."""
    plugin = engine_plugins()[name]
    own: Callable[[EngineOptions, Voice | None], str] | None = getattr(plugin, "selftest", None)
    if own is not None:
        return own(options, voice)
    return speak_a_word(
        lambda: plugin.load(options), voice or plugin.default_voice(), plugin.named_voice
    )


@dataclass(frozen=True)
class EngineSpec:
    """How to load an engine again in another process (a Ray worker): its name and options."""

    name: str
    options: EngineOptions

    def load(self, cpus: int | None = None) -> Engine:
        """Load the engine here, using at most `cpus` cores (None: the whole machine)."""
        return load_engine(self.name, dataclasses.replace(self.options, cpus=cpus))


def _quiet(message: str) -> None:
    """Say nothing: the default `status` of `select_engine`."""


def select_engine(
    requested: str, options: EngineOptions, status: Callable[[str], None] = _quiet
) -> Engine:
    """Load the engine a render uses: the one asked for, or for "auto" Edge when it answers.

    "auto" asks the Edge service once, up front, so a run never switches voices halfway; an
    engine named (not "auto") is loaded without asking. A forced engine that cannot run is an
    error, not a silent fallback: the user asked for that sound. `status` hears what takes
    time before it starts (asking Edge, loading an engine), for a command to show.
    """
    check_engine_choice(requested)
    choices = engine_choices()
    if requested != "auto":
        try:
            status(f"Loading {requested}…")
            engine = load_engine(requested, options)
        except EngineUnavailable as exc:
            others = ", ".join(name for name in choices if name != requested)
            raise EngineUnavailable(
                f"The {requested} engine was asked for but cannot run: {exc} "
                f"Fix that, or choose another engine ({others})."
            ) from exc
        log.info("Engine: %s (asked for)", requested)
        return engine
    status(f"Asking the Edge service whether it answers (up to {EDGE_TIMEOUT:g} s)…")
    online, why = _edge_reachable()
    if online:
        try:
            status("Loading edge…")
            engine = load_engine("edge", options)
        except EngineUnavailable as exc:
            why = f"the Edge service answered but the engine cannot run: {exc}"
        else:
            log.info("Engine: edge (auto: %s)", why)
            return engine
    try:
        status("Loading kokoro…")
        engine = load_engine("kokoro", options)
    except EngineUnavailable as exc:
        raise EngineUnavailable(
            f"No engine can run: {why}, and offline Kokoro cannot run either: {exc} "
            "Fix one of them, or choose espeak for a robotic preview."
        ) from exc
    log.info("Engine: kokoro (auto: %s; using the offline voices)", why)
    return engine


def _edge_reachable() -> tuple[bool, str]:
    """Whether the Edge service answers within a few seconds, and the reason in words."""
    timeout = EDGE_TIMEOUT
    try:
        edge = importlib.import_module("interview_audio.synthesis.engines.edge.engine")
        reachable: Callable[..., bool] = edge.reachable
        if reachable(timeout=timeout):
            return True, f"the Edge service answered within {timeout:g} s"
    except (ImportError, EngineUnavailable) as exc:
        return False, f"the Edge engine cannot be loaded ({exc})"
    return False, f"the Edge service did not answer within {timeout:g} s"
