"""The default executor: a few threads in this process sharing the one loaded engine."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ClassVar, Self

from interview_audio.synthesis.cache import Cache, CachedAudio
from interview_audio.synthesis.engines.base import Engine
from interview_audio.synthesis.executors.base import EngineLoader, ExecutorOptions, LineJob, speak

log = logging.getLogger(__name__)


class LocalExecutor:
    """`jobs` threads (default: the engine's `jobs`); each stores the line it made itself, so
    whatever finished is cached even when the render is interrupted or fails."""

    name: ClassVar[str] = "local"

    def __init__(self, engine: Engine, store: Cache, threads: int) -> None:
        self._engine = engine
        self._store = store
        self._threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="synthesis")

    @classmethod
    def start(
        cls, engine: Engine, loader: EngineLoader, store: Cache, options: ExecutorOptions
    ) -> Self:
        return cls(engine, store, max(1, options.jobs or engine.jobs))

    @property
    def slots(self) -> int:
        return self._threads

    def submit(self, job: LineJob) -> Future[CachedAudio]:
        return self._pool.submit(self._speak, job)

    def _speak(self, job: LineJob) -> CachedAudio:
        return self._store.put(job.key, speak(self._engine, job))

    def close(self, *, cancel: bool = False) -> None:
        # Cancelled: lines already running finish in the background and are still cached.
        self._pool.shutdown(wait=not cancel, cancel_futures=True)
