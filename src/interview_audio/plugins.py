"""Engines as plugins: every speech engine, the built-in ones too, is found through the
entry-point group `interview_audio.engines`, so another package can add one (a native-Mandarin
model, one on a GPU) without editing this one.

An entry point names an object that speaks for its engine (see `voices.kinds.VoiceKind` and
`synthesis.engines.base.EnginePlugin`): how voices.yaml writes its voices and settings, and how
to load it. Loading the object must stay light; the engine's heavy imports happen in `load`.
"""

from __future__ import annotations

import functools
import logging
from importlib.metadata import entry_points

from interview_audio.errors import EngineUnavailable

log = logging.getLogger(__name__)

GROUP = "interview_audio.engines"
# Listed first, in this order (choices, `voices`, messages); other engines follow by name.
BUILT_IN = ("edge", "kokoro", "espeak")
REINSTALL = (
    "reinstall interview-audio (`pip install -e .` in a checkout, else "
    "`pip install --force-reinstall interview-audio`)"
)


@functools.cache
def engine_plugins() -> dict[str, object]:
    """Every registered engine's plugin object by name, loaded once per process.

    A plugin that cannot be loaded is left out with a warning, so one broken package does not
    take the others down; the built-in engines missing means a stale install.
    """
    found: dict[str, object] = {}
    for entry in entry_points(group=GROUP):
        if entry.name in found:
            log.warning("Two packages register the engine %r; using the first", entry.name)
            continue
        try:
            plugin = entry.load()
        # A third-party plugin may fail in any way while importing; it must not stop a render
        # on the other engines.
        except Exception as exc:
            log.warning(
                "The engine plugin %r (%s) cannot be loaded and is left out: %s. Reinstall or "
                "uninstall the package that provides it.",
                entry.name,
                entry.value,
                exc,
            )
            continue
        if getattr(plugin, "name", None) != entry.name:
            log.warning(
                "The engine plugin %r (%s) calls itself %r; it is left out",
                entry.name,
                entry.value,
                getattr(plugin, "name", None),
            )
            continue
        found[entry.name] = plugin
    missing = [name for name in BUILT_IN if name not in found]
    if missing:
        raise EngineUnavailable(
            f"The built-in engines {', '.join(missing)} are not registered (entry points "
            f"{GROUP}): {REINSTALL}."
        )
    others = sorted(name for name in found if name not in BUILT_IN)
    return {name: found[name] for name in (*BUILT_IN, *others)}
