"""The engine registry: names to engine factories, loaded lazily so heavy imports stay inside."""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from interview_audio.errors import EngineUnavailable, VoicesError
from interview_audio.synthesis.engines.base import Engine, EngineOptions

log = logging.getLogger(__name__)

# name -> "module:Class"; each class has a `load(options) -> Engine` classmethod.
ENGINES: dict[str, str] = {
    "edge": "interview_audio.synthesis.engines.edge:EdgeEngine",
    "kokoro": "interview_audio.synthesis.engines.kokoro.engine:KokoroEngine",
    "espeak": "interview_audio.synthesis.engines.espeak:EspeakEngine",
}
CHOICES = ("auto", *ENGINES)


def load_engine(name: str, options: EngineOptions) -> Engine:
    """Load one engine by name; raise EngineUnavailable (with the fix) when it cannot run."""
    if name not in ENGINES:
        raise VoicesError(f"Unknown engine {name!r}: choose one of {', '.join(CHOICES)}.")
    module_name, class_name = ENGINES[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EngineUnavailable(
            f"The {name} engine cannot be imported ({exc}): reinstall with "
            "`pip install --force-reinstall interview-audio` (or `pip install -e .` in a checkout)."
        ) from exc
    engine: Engine = getattr(module, class_name).load(options)
    return engine


@dataclass(frozen=True)
class EngineSpec:
    """How to load an engine again in another process (a Ray worker): its name and options."""

    name: str
    options: EngineOptions

    def load(self, cpus: int | None = None) -> Engine:
        """Load the engine here, using at most `cpus` cores (None: the whole machine)."""
        return load_engine(self.name, dataclasses.replace(self.options, cpus=cpus))


def select_engine(requested: str, options: EngineOptions) -> Engine:
    """Load the engine a render uses: the one asked for, or for "auto" Edge when it answers.

    "auto" asks the Edge service once, up front, so a run never switches voices halfway. A forced
    engine that cannot run is an error, not a silent fallback: the user asked for that sound.
    """
    if requested not in CHOICES:
        raise VoicesError(f"Unknown engine {requested!r}: choose one of {', '.join(CHOICES)}.")
    if requested != "auto":
        try:
            engine = load_engine(requested, options)
        except EngineUnavailable as exc:
            others = ", ".join(name for name in CHOICES if name != requested)
            raise EngineUnavailable(
                f"The {requested} engine was asked for but cannot run: {exc} "
                f"Fix that, or choose another engine ({others})."
            ) from exc
        log.info("Engine: %s (asked for)", requested)
        return engine
    online, why = _edge_reachable()
    if online:
        try:
            engine = load_engine("edge", options)
        except EngineUnavailable as exc:
            why = f"the Edge service answered but the engine cannot run: {exc}"
        else:
            log.info("Engine: edge (auto: %s)", why)
            return engine
    try:
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
    timeout = 3.0
    try:
        edge = importlib.import_module("interview_audio.synthesis.engines.edge")
        reachable: Callable[..., bool] = edge.reachable
        if reachable(timeout=timeout):
            return True, f"the Edge service answered within {timeout:g} s"
    except (ImportError, EngineUnavailable) as exc:
        return False, f"the Edge engine cannot be loaded ({exc})"
    return False, f"the Edge service did not answer within {timeout:g} s"
