"""interview-audio: a Chinese interview transcript in, a chaptered podcast episode out."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("interview-audio")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
