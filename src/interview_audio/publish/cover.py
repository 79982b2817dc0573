"""The episode's cover image: the one given with --cover, else the article's cover link, else
one drawn for it.

WeChat articles name their cover (`封面图链接：`). It is downloaded once into the cache, so a
re-render works offline, and checked to be an image; JPEG and PNG are kept as they are, other
formats a server may send (WebP, GIF, BMP) are converted to JPEG with ffmpeg, since ID3 covers
are read as JPEG or PNG. When the article gives no cover, or its link cannot be used, a cover
is drawn (artwork.py) and kept in the cache by what it shows; the render summary says why a
link was not used and how to give a cover of one's own.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from interview_audio import __version__
from interview_audio.article.script import Role, Script
from interview_audio.errors import RenderError
from interview_audio.files import atomic_path
from interview_audio.publish.artwork import ARTWORK_VERSION, EPISODE_SIZE, Artwork, draw, stamp
from interview_audio.publish.fonts import find_cjk_font
from interview_audio.publish.tags import read_cover

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds for the whole download; a cover is never worth holding a render up
MAX_BYTES = 20 << 20
COVER_DIR = "covers"
_JPEG = b"\xff\xd8\xff"
_PNG = b"\x89PNG\r\n\x1a\n"
_FIX = "pass --cover IMAGE to give the episode one"
_DRAWN = "the episode has a drawn cover instead (pass --cover IMAGE to give it yours)"


@dataclass(frozen=True)
class Cover:
    """The image to tag the episode with (None: no cover), and a note for the summary."""

    path: Path | None
    note: str = ""


def episode_cover(
    given: Path | None, url: str, cache_dir: Path, art: Artwork | None = None
) -> Cover:
    """--cover when given (checked now, not after synthesis); else the article's cover link,
    from the cache or downloaded now; else `art` drawn (when given)."""
    if given is not None:
        read_cover(given)
        return Cover(given)
    found = _linked(url, cache_dir)
    if found.path is not None or art is None:
        return found
    note = found.note.replace(_FIX, _DRAWN)
    return Cover(drawn_cover(art, cache_dir), note)


def episode_artwork(script: Script) -> Artwork:
    """What an episode's drawn cover shows: its source, title and speakers."""
    names = "、".join(s.name for s in script.speakers if s.role is not Role.NARRATOR)
    return Artwork(script.meta.title, names, script.meta.author)


def artwork_identity() -> str:
    """What a drawn cover depends on beyond the episode (the design, the font found): a
    change re-renders episodes whose cover is drawn."""
    font = find_cjk_font()
    return f"{ARTWORK_VERSION}:{font.identity if font is not None else 'no font'}"


def drawn_cover(art: Artwork, cache_dir: Path) -> Path:
    """`art` drawn as an episode cover, kept in the cache by what it shows (drawn once)."""
    font = find_cjk_font()
    path = cache_dir / COVER_DIR / f"drawn-{stamp(art, EPISODE_SIZE, font)}.jpg"
    if not path.is_file():
        draw(art, path, size=EPISODE_SIZE, font=font)
    return path


def _linked(url: str, cache_dir: Path) -> Cover:
    """The article's cover link, from the cache or downloaded now."""
    if not url:
        return Cover(None)
    if not url.lower().startswith(("http://", "https://")):
        return Cover(None, f"The article's cover link {url!r} is not a web address; {_FIX}.")
    folder = cache_dir / COVER_DIR
    name = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
    for kept in (folder / f"{name}.jpg", folder / f"{name}.png"):
        if kept.is_file():
            return Cover(kept)
    try:
        path = _keep(download(url), folder / name)
    except CoverError as exc:
        return Cover(None, f"The article's cover image {exc}; {_FIX}.")
    log.info("Cover image from %s", url)
    return Cover(path)


class CoverError(Exception):
    """Why the cover link was not used: `could not be downloaded (…)`, `is not an image`."""


def download(url: str, timeout: float = TIMEOUT) -> bytes:
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": f"interview-audio/{__version__}",
            "Accept": "image/jpeg,image/png,image/*;q=0.8",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data: bytes = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise CoverError(f"could not be downloaded (the server answered HTTP {exc.code})") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, socket.gaierror):
            reason = "no network or DNS"
        elif isinstance(exc.reason, TimeoutError):
            reason = f"no answer within {timeout:g} s"
        else:
            reason = str(getattr(exc.reason, "strerror", None) or "the connection failed").lower()
        raise CoverError(f"could not be downloaded ({reason})") from exc
    except OSError as exc:  # a timeout or a dropped connection while reading
        raise CoverError(f"could not be downloaded ({exc.__class__.__name__})") from exc
    if len(data) > MAX_BYTES:
        raise CoverError(f"is larger than {MAX_BYTES >> 20} MB")
    return data


def _keep(data: bytes, stem: Path) -> Path:
    """Store the image as JPEG or PNG beside `stem`, converting other formats with ffmpeg."""
    if data.startswith(_JPEG) or data.startswith(_PNG):
        path = stem.with_suffix(".jpg" if data.startswith(_JPEG) else ".png")
        with atomic_path(path) as temp:
            temp.write_bytes(data)
        return path
    from interview_audio.ffmpeg import run

    not_an_image = "is not an image (JPEG, PNG, WebP, GIF or BMP)"
    path = stem.with_suffix(".jpg")
    with (
        tempfile.TemporaryDirectory(prefix="interview-audio-") as scratch,
        atomic_path(path) as temp,
    ):
        original = Path(scratch) / "cover"
        original.write_bytes(data)
        try:
            run(
                ["-v", "error", "-i", str(original), "-frames:v", "1", "-q:v", "2", "-y"]
                + ["-f", "image2", "-c:v", "mjpeg", str(temp)],
                what="convert the cover image",
                timeout=60,
            )
        except RenderError as exc:
            raise CoverError(not_an_image) from exc
        if not temp.is_file() or not temp.read_bytes().startswith(_JPEG):
            raise CoverError(not_an_image)
    return path
