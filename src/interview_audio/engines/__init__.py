"""The engine registry: names to engine factories, loaded lazily so heavy imports stay inside."""

from __future__ import annotations

import importlib
import logging

from interview_audio.engines.base import Engine, EngineOptions
from interview_audio.errors import EngineUnavailable, VoicesError

log = logging.getLogger(__name__)

# name -> "module:Class"; each class has a `load(options) -> Engine` classmethod.
ENGINES: dict[str, str] = {
    "edge": "interview_audio.engines.edge:EdgeEngine",
    "kokoro": "interview_audio.engines.kokoro:KokoroEngine",
    "espeak": "interview_audio.engines.espeak:EspeakEngine",
}
CHOICES = ("auto", *ENGINES)


def load_engine(name: str, options: EngineOptions) -> Engine:
    """Load one engine by name; raise EngineUnavailable (with the fix) when it cannot run."""
    if name not in ENGINES:
        raise VoicesError(f"Unknown engine {name!r}: choose one of {', '.join(CHOICES)}.")
    module_name, class_name = ENGINES[name].split(":")
    module = importlib.import_module(module_name)
    engine: Engine = getattr(module, class_name).load(options)
    return engine
