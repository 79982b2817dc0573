"""The one small interface every executor implements: where cache misses are synthesized."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import ClassVar, Protocol

from interview_audio.synthesis.cache import CachedAudio
from interview_audio.synthesis.engines.base import Engine, Speech
from interview_audio.synthesis.transform import apply_transform
from interview_audio.voices.model import Voice

# Loads the render's engine again in another process, using at most that many cores.
EngineLoader = Callable[[int | None], Engine]


@dataclass(frozen=True)
class RayOptions:
    """Per-run choices for the Ray executor (flags, never voices.yaml).

    `address` is the cluster's (None: a local instance for this render). Each worker reserves
    `worker_cpus` CPUs (its engine uses that many cores) and `worker_gpus` GPUs.
    `shared_cache`: None lets each worker find out whether it sees the cache directory and
    write there; False sends all audio back through Ray's object store.
    """

    address: str | None = None
    worker_cpus: int = 1
    worker_gpus: float = 0.0
    shared_cache: bool | None = None


@dataclass(frozen=True)
class ExecutorOptions:
    """Per-run choices of where lines are synthesized (flags, never voices.yaml).

    `jobs` is threads for the local executor and workers for Ray (default: the engine's own
    `jobs` locally; as many workers as the cluster has room for on Ray).
    """

    jobs: int | None = None
    ray: RayOptions = RayOptions()


@dataclass(frozen=True)
class LineJob:
    """One cache miss: what to say, in which voice, and the cache key its audio is stored under."""

    key: str
    speech: str
    voice: Voice


def speak(engine: Engine, job: LineJob) -> Speech:
    """What every executor does with a job, wherever it runs: the engine speaks the line and the
    voice's transform (if it has one) is applied, before the audio is cached."""
    return apply_transform(engine.synthesize(job.speech, job.voice), job.voice)


class Executor(Protocol):
    """Runs engine calls and stores their audio in the render's cache.

    `submit` is called from one thread only, never with more than `slots` jobs unfinished; the
    future resolves to the committed cache entry, or to the engine's exception (EngineError,
    or anything an engine bug raises). `close(cancel=True)` abandons jobs not yet finished.
    """

    name: ClassVar[str]

    @property
    def slots(self) -> int:
        """How many jobs may usefully run at the same time."""

    def submit(self, job: LineJob) -> Future[CachedAudio]:
        """Start synthesizing `job`; the audio lands in the cache before the future resolves."""

    def close(self, *, cancel: bool = False) -> None:
        """Release threads or workers; with `cancel`, without waiting for running jobs."""
