"""The executor registry: where a render synthesizes its cache misses.

`local` (the default) runs them on threads in this process; `ray` on Ray workers that each keep
the engine loaded, on this machine or a cluster. Modules load lazily, so `import ray` happens
only when Ray is asked for.
"""

from __future__ import annotations

import importlib

from interview_audio.choices import ExecutorKind, choose
from interview_audio.synthesis.cache import Cache
from interview_audio.synthesis.engines.base import Engine
from interview_audio.synthesis.executors.base import (
    EngineLoader,
    Executor,
    ExecutorOptions,
    LineJob,
    RayOptions,
)

__all__ = [
    "Executor",
    "ExecutorOptions",
    "LineJob",
    "RayOptions",
    "open_executor",
]

# name -> "module:Class"; each class has `start(engine, loader, store, options) -> Executor`.
EXECUTORS: dict[ExecutorKind, str] = {
    ExecutorKind.LOCAL: "interview_audio.synthesis.executors.local:LocalExecutor",
    ExecutorKind.RAY: "interview_audio.synthesis.executors.ray:RayExecutor",
}


def open_executor(
    name: ExecutorKind | str,
    engine: Engine,
    loader: EngineLoader,
    store: Cache,
    options: ExecutorOptions,
) -> Executor:
    """Start executor `name` for `engine`; the caller closes it.

    `loader` loads the same engine in another process (Ray workers); audio goes to `store`.
    """
    module_name, class_name = EXECUTORS[choose(ExecutorKind, name, "executor")].split(":")
    module = importlib.import_module(module_name)
    executor: Executor = getattr(module, class_name).start(engine, loader, store, options)
    return executor
