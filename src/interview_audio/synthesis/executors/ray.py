"""The Ray executor: line synthesis on Ray workers, on this machine or across a cluster.

Each worker is an actor that loads the engine once (Kokoro costs seconds and 1.3 GB to load)
and then speaks line after line. It reserves `worker_cpus` CPUs and `worker_gpus` GPUs, so Ray
places workers where there is room and a heterogeneous cluster schedules them sensibly. The
driver looks lines up in the cache before anything is scheduled; a worker that can see the
driver's cache directory (this machine, or a shared file system) writes the audio there and
returns only the entry, any other sends the audio back through Ray's object store and the
driver stores it. A worker that dies mid-line is restarted by Ray and the line is retried on
it, so a lost worker costs that line, not the episode.

`import ray` happens only here, and only when this executor is started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

from interview_audio.display import counted
from interview_audio.errors import EngineError, ExecutorError, InterviewAudioError
from interview_audio.synthesis.cache import Cache, CachedAudio
from interview_audio.synthesis.engines.base import Engine, Speech
from interview_audio.synthesis.executors.base import (
    EngineLoader,
    ExecutorOptions,
    LineJob,
    RayOptions,
    speak,
)

if TYPE_CHECKING:
    from types import ModuleType

log = logging.getLogger(__name__)

INSTALL_HINT = 'pip install "interview-audio[ray]"'
# A line is tried again on a restarted worker this many times before its episode fails.
LINE_RETRIES = 3
_MARKER_PREFIX = ".ray-driver-"
_MAX_CONCURRENCY = 32
# Ray's switch for clusters on one machine only; off, a local node uses 127.0.0.1.
_LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker reports once its engine is loaded."""

    identity: str
    jobs: int
    shared_cache: bool
    host: str
    pid: int


class LineWorker:
    """A Ray actor holding one loaded engine. Its methods run on the worker.

    A failure to load the engine is kept and raised by `ready()`, so the driver reports the
    engine's own message instead of Ray's account of a dead actor.
    """

    def __init__(self, loader: EngineLoader, cpus: int, cache_root: str, marker: str) -> None:
        self._engine: Engine | None = None
        self._error: Exception | None = None
        self._store: Cache | None = None
        try:
            self._engine = loader(cpus)
        except Exception as exc:
            self._error = exc
        root = Path(cache_root)
        with contextlib.suppress(OSError):
            if (root / marker).read_text(encoding="utf-8") == marker:
                self._store = Cache(root)

    def ready(self) -> WorkerInfo:
        engine = self._loaded()
        return WorkerInfo(
            engine.identity, engine.jobs, self._store is not None, socket.gethostname(), os.getpid()
        )

    def speak(self, job: LineJob) -> CachedAudio | Speech:
        audio = speak(self._loaded(), job)
        return audio if self._store is None else self._store.put(job.key, audio)

    def _loaded(self) -> Engine:
        if self._engine is None:
            assert self._error is not None
            raise self._error
        return self._engine


class RayExecutor:
    """Ray workers (actors) with the engine loaded; `slots` is every worker's engine `jobs`."""

    name: ClassVar[str] = "ray"

    def __init__(
        self,
        ray: ModuleType,
        workers: list[Any],
        infos: list[WorkerInfo],
        store: Cache,
        marker: Path,
        owns_ray: bool,
    ) -> None:
        self._ray = ray
        self._workers = workers
        self._capacity = [info.jobs for info in infos]
        self._busy = [0] * len(workers)
        self._lock = threading.Lock()
        self._store = store
        self._marker = marker
        self._owns_ray = owns_ray
        self._closed = False

    @classmethod
    def start(
        cls, engine: Engine, loader: EngineLoader, store: Cache, options: ExecutorOptions
    ) -> Self:
        if options.ray.address is None and "ray" not in sys.modules:
            # A local instance serves only this render: keep its traffic on the loopback
            # interface instead of the machine's network address (read when Ray is imported).
            os.environ.setdefault(_LOOPBACK_ENV, "0")
        ray = _import_ray()
        owns_ray = _connect(ray, options.ray.address)
        marker = _write_marker(store, options.ray.shared_cache)
        workers: list[Any] = []
        try:
            room = _room_for(ray, options.ray)
            count = min(options.jobs or room, room)
            if options.jobs and options.jobs > room:
                log.warning(
                    "The Ray cluster has room for %s of %s; starting %d, not %d",
                    counted(room, "worker"),
                    counted(options.ray.worker_cpus, "CPU"),
                    room,
                    options.jobs,
                )
            actor = ray.remote(LineWorker).options(
                num_cpus=options.ray.worker_cpus,
                num_gpus=options.ray.worker_gpus,
                max_restarts=-1,
                max_task_retries=LINE_RETRIES,
                # Enough threads for any engine's `jobs`; the driver keeps within each
                # worker's own `jobs`, reported by ready().
                max_concurrency=_MAX_CONCURRENCY,
            )
            for _ in range(count):
                workers.append(
                    actor.remote(loader, options.ray.worker_cpus, str(store.root), marker.name)
                )
            infos = [_ready(ray, worker, engine) for worker in workers]
        except BaseException:
            for worker in workers:
                with contextlib.suppress(Exception):
                    ray.kill(worker, no_restart=True)
            marker.unlink(missing_ok=True)
            if owns_ray:
                ray.shutdown()
            raise
        shared = sum(info.shared_cache for info in infos)
        log.info(
            "Ray: %s on %s, %d writing the shared cache, %s at once",
            counted(count, "worker"),
            ", ".join(sorted({info.host for info in infos})),
            shared,
            counted(sum(info.jobs for info in infos), "line"),
        )
        return cls(ray, workers, infos, store, marker, owns_ray)

    @property
    def slots(self) -> int:
        return sum(self._capacity)

    def submit(self, job: LineJob) -> Future[CachedAudio]:
        with self._lock:
            index = min(range(len(self._workers)), key=lambda i: self._busy[i] / self._capacity[i])
            self._busy[index] += 1
        remote: Future[Any] = self._workers[index].speak.remote(job).future()
        result: Future[CachedAudio] = Future()
        result.set_running_or_notify_cancel()

        def done(finished: Future[Any]) -> None:
            with self._lock:
                self._busy[index] -= 1
            try:
                value = finished.result()
                audio = self._store.put(job.key, value) if isinstance(value, Speech) else value
            except BaseException as exc:
                result.set_exception(self._explain(exc))
            else:
                result.set_result(audio)

        remote.add_done_callback(done)
        return result

    def _explain(self, exc: BaseException) -> BaseException:
        """The engine's own exception for a line that failed on a worker, or an EngineError
        saying the worker kept dying."""
        exceptions = self._ray.exceptions
        if isinstance(exc, exceptions.RayTaskError) and isinstance(exc.cause, Exception):
            return exc.cause
        if isinstance(exc, exceptions.RayActorError | exceptions.WorkerCrashedError):
            return EngineError(
                f"the Ray worker speaking it died {LINE_RETRIES + 1} times (out of memory, or "
                f"killed); see `ray status` and the worker logs, or render with --executor local."
            )
        if isinstance(exc, exceptions.RayError):
            return ExecutorError(f"Ray lost the line: {exc}")
        return exc

    def close(self, *, cancel: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        for worker in self._workers:
            with contextlib.suppress(Exception):
                self._ray.kill(worker, no_restart=True)
        self._marker.unlink(missing_ok=True)
        if self._owns_ray:
            self._ray.shutdown()


def _import_ray() -> ModuleType:
    try:
        import ray
    except ImportError as exc:
        raise ExecutorError(
            f"--executor ray needs Ray, which is not installed: run `{INSTALL_HINT}`. ({exc})"
        ) from exc
    return ray


def _connect(ray: ModuleType, address: str | None) -> bool:
    """Join the Ray instance of this process, the cluster at `address`, or start a local one.

    Returns whether this call started it (and so must shut it down).
    """
    if ray.is_initialized():
        return False
    where = f"the Ray cluster at {address}" if address else "a local Ray instance"
    log.info("Starting %s", "a local Ray instance" if address is None else f"Ray at {address}")
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            # A local instance is this render's own: Ray's notes about setting it up are noise.
            logging_level=logging.WARNING if address else logging.ERROR,
            configure_logging=True,
        )
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        hint = (
            "check that it runs (`ray status` on its head node) and is reachable from here, or "
            "leave out --ray-address to start a local instance"
            if address
            else "check `ray status`, or pass --ray-address of a running cluster"
        )
        raise ExecutorError(f"Cannot use {where} ({exc}): {hint}.") from exc
    return True


def _room_for(ray: ModuleType, options: RayOptions) -> int:
    """As many workers as the cluster's CPUs (and GPUs, when asked for) have room for."""
    resources = ray.cluster_resources()
    count = int(resources.get("CPU", 1) // max(options.worker_cpus, 1))
    if options.worker_gpus > 0:
        count = min(count, int(resources.get("GPU", 0) // options.worker_gpus))
        if count == 0:
            raise ExecutorError(
                f"The Ray cluster has no GPU for a worker asking {options.worker_gpus:g}; "
                "add GPU nodes, or render with --ray-worker-gpus 0."
            )
    return max(1, count)


def _write_marker(store: Cache, shared: bool | None) -> Path:
    """A file only this render writes: a worker that reads it back shares the cache directory.

    With `shared=False` the file holds something else, so every worker sends its audio back.
    """
    name = f"{_MARKER_PREFIX}{uuid.uuid4().hex}"
    path = store.root / name
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        path.write_text(name if shared is not False else "", encoding="utf-8")
    except OSError as exc:
        raise ExecutorError(
            f"Cannot write to the audio cache at {store.root} ({exc.strerror}); choose a "
            "writable --cache-dir."
        ) from exc
    return path


def _ready(ray: ModuleType, worker: Any, engine: Engine) -> WorkerInfo:
    """Wait for a worker's engine; refuse one that would not sound like the driver's."""
    try:
        info: WorkerInfo = ray.get(worker.ready.remote())
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause
        if isinstance(cause, InterviewAudioError):
            raise ExecutorError(
                f"A Ray worker cannot load the {engine.name} engine: {cause}"
            ) from cause
        raise ExecutorError(f"A Ray worker failed to start: {cause}") from exc
    except ray.exceptions.RayError as exc:
        raise ExecutorError(
            f"A Ray worker failed to start ({type(exc).__name__}); is interview-audio "
            f"installed on every node? ({exc})"
        ) from exc
    if info.identity != engine.identity:
        raise ExecutorError(
            f"The Ray worker on {info.host} has the engine {info.identity}, this machine has "
            f"{engine.identity}: install the same interview-audio and engine versions on every "
            "node, so every line sounds the same and the cache stays valid."
        )
    return info
