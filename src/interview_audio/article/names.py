"""Names as listeners should hear them: the person a label stands for, when the article says.

Labels are often shorter than names: a surname (`陳：`, `許：`), a first name (`Eric：`), a family
name (`Hay：`), initials (`K.K.：`), a role (`行政長官：`), a part (`嘉宾：`, `A：`), a numbered
speaker of a speech-recognition export (`说话人1`). Where the article itself says who that is
(a who's-who line `陳：陳美齡`, the title `陳美齡：…`, the introduction `行政長官梁振英…`,
`Eric Jang 在休假期间…`, `…的作者：凯文·凯利`, a speaker saying `我是猫草`), the page, the
captions, the tags and the narrator use the full name, and the label stays as an alias.
Only an answer the article gives is used, and only when it is the one answer: two people who
could be `陳` leave the label as it is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from interview_audio.article.labels import (
    COMPOUND_SURNAMES,
    QA_NAMES,
    SURNAMES,
    is_asr_label,
    looks_like_person,
    normalize_name,
)
from interview_audio.article.markup import clean_text
from interview_audio.article.script import name_key

# Family names as Traditional Chinese writes them (陳 for 陈), so `行政長官梁振英` and `許樹昌` read
# as names too.
TRADITIONAL_SURNAMES = frozenset(
    "陳許劉張楊黃趙吳鄭謝韓馮鄧蕭葉蘇呂蔣盧陸鍾譚賈錢嚴龔顧孫馬羅郭範鄒魏萬湯鄺龐饒莊聶歐"
)
_PART_WORDS = {
    "host": "主持人",
    "moderator": "主持人",
    "interviewer": "主持人",
    "主持": "主持人",
    "guest": "嘉宾",
    "interviewee": "嘉宾",
    "嘉賓": "嘉宾",
    "受访者": "嘉宾",
    "受訪者": "嘉宾",
}
_GENERIC_PARTS = frozenset(("主持人", "嘉宾"))
_LATIN_FULL = re.compile(
    r"(?<![A-Za-z])[A-Z][a-z]+(?:-[A-Z][a-z]+)?(?: [A-Z][a-z]+(?:-[A-Z][a-z]+)?){1,2}(?![A-Za-z])"
)
_HAN_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}")
_TRANSLITERATED = re.compile(r"[\u4e00-\u9fff]{1,5}(?:[·・•][\u4e00-\u9fff]{1,6})+")
_INITIALS = re.compile(r"(?:[A-Z]\.?\s?){2,3}")
_SELF_INTRO = re.compile(
    r"(?:^|[，,。！!？?\s])(?:大家好|各位好|哈喽|嗨|hello|hi)?[，,！!\s]*(?:我是|我叫)\s*"
    r"(?P<name>[\u4e00-\u9fff]{2,4}|[A-Za-z][A-Za-z ]{1,20}?)\s*(?=[，,。！!；;]|$)",
    re.IGNORECASE,
)
# Words after 我是 that are not a name: 我是说, 我是觉得, 我是负责…的, 我是一个…
_NOT_A_NAME = re.compile(r"[的了是在不也就都很说觉得想要会个一这那些么吗呢啊吧我你他她们]")


@dataclass(frozen=True)
class Named:
    """The full name for a label and the words of the article that give it."""

    name: str
    why: str
    part: str = ""  # 主持人 or 嘉宾 when a who's-who line says so (`Host：Dwarkesh Patel`)


def whos_who_line(name: str, rest: str) -> tuple[str, str] | None:
    """(part or label, person) when `name：rest` says who someone is rather than what they say:
    `A：Geoffrey Hinton`, `Host：Dwarkesh Patel`, `問：《在晴朗的一天出發》主持人` (a part with
    only a description: person ""), `陳：陳美齡`, `Hay：…教授Alastair Hay`."""
    text = re.sub(r"[（(][^）)]*[）)]", "", clean_text(rest)).strip()
    if not text or len(text) > 40 or re.search(r"[，,。？！?!；;]", text):
        return None
    part = (
        QA_NAMES.get(name)
        or _PART_WORDS.get(name.casefold())
        or (name if name in _GENERIC_PARTS else "")
    )
    if part:
        latin = _LATIN_FULL.findall(text)
        if latin:
            return part, str(latin[-1])
        return part, text if normalize_name(text) and _is_person(text) else ""
    return (name, extended) if (extended := _extension(name, text)) else None


def _extension(label: str, text: str) -> str:
    """The full name at the end of `text` that the short label `label` abbreviates."""
    if re.fullmatch(r"[A-Za-z]+", label):
        found = re.search(rf"(?:[A-Z][a-z]+ {label}|{label}(?: [A-Z][A-Za-z-]+)+)$", text)
        return found.group(0) if found else ""
    if len(label) <= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", label):
        found = re.search(rf"{re.escape(label)}[\u4e00-\u9fff]{{1,2}}$", text)
        return found.group(0) if found else ""
    return ""


def _is_person(name: str) -> bool:
    if re.fullmatch(r"[\u4e00-\u9fff]{2,3}", name) and name[0] in TRADITIONAL_SURNAMES:
        return True
    return looks_like_person(name)


def full_names(
    labels: Sequence[str],
    title: str,
    intro: str,
    whos_who: Iterable[tuple[str, str]],
    turns: Sequence[tuple[str, Sequence[str]]] = (),
) -> dict[str, Named]:
    """The full name of each label the article gives, with where it does; labels it does not
    name are left out. `whos_who`: (part or label, person) lines before the dialogue."""
    said = [(part, person) for part, person in whos_who if person]
    people = _introduced(title, intro, said)
    found: dict[str, Named] = {}
    for label in labels:
        named = (
            _by_whos_who(label, said)
            or _by_extension(label, people)
            or _by_initials(label, people)
            or _by_role(label, intro)
            or _by_self_introduction(label, turns)
        )
        if named is not None and name_key(named.name) != name_key(label):
            found[label] = named
    _introduced_by_others(labels, turns, found)
    taken = [named.name for named in found.values()]
    return {
        label: named for label, named in found.items() if taken.count(named.name) == 1
    }  # two labels cannot be one person


_WELCOMED = re.compile(
    r"(?:邀请到了|请到了|请来了|今天的嘉宾是|本期嘉宾是|欢迎)\s*(?:[^，,。！!？?]{0,15}?的)?\s*"
    r"(?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}|[\u4e00-\u9fff]{2,4}(?=[，,。！!]))"
)


def _introduced_by_others(
    labels: Sequence[str], turns: Sequence[tuple[str, Sequence[str]]], found: dict[str, Named]
) -> None:
    """The one numbered speaker still unnamed is the guest another speaker welcomes in their
    first turns (`今天，我们邀请到了 10x 的 Alex Lieberman`)."""
    open_labels = [label for label in labels if is_asr_label(label) and label not in found]
    if len(open_labels) != 1:
        return
    welcomed: list[tuple[str, str, str]] = []
    for speaker in labels:
        if speaker == open_labels[0]:
            continue
        own = [" ".join(p) for s, p in turns if s == speaker][:2]
        for text in own:
            for match in _WELCOMED.finditer(text):
                name = match.group("name")
                if _is_person(name) or _LATIN_FULL.fullmatch(name):
                    welcomed.append((name, f"introduced: {_quote(match.group(0))}", ""))
    named = _one(welcomed)
    if named is not None and named.name not in [n.name for n in found.values()]:
        found[open_labels[0]] = named


def _introduced(title: str, intro: str, said: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """People the article names, with where: who's-who lines, `名字、名字：` before the title's
    colon, `L：description … 许树昌` statements in the introduction, Latin full names and
    transliterated names (凯文·凯利) in the title and introduction."""
    found: list[tuple[str, str, str]] = [
        (person, f"who's who: {part}：{person}", part if part in _GENERIC_PARTS else "")
        for part, person in said
    ]
    head = re.split(r"[：:]", title, maxsplit=1)
    if len(head) == 2:
        for part in re.split(r"[、，,和与與&/]", head[0]):
            part = part.strip()
            if _HAN_NAME.fullmatch(part) or _LATIN_FULL.fullmatch(part):
                found.append((part, f"title: {_quote(title)}", ""))
    text = f"{title}\n{intro}"
    for statement in re.finditer(
        r"(?:^|[\s（(／/|｜])(?P<label>[^\s：:（(／/|｜]{1,8})[：:](?P<desc>[^／/）)\n|｜]{2,60})",
        text,
    ):
        extended = _extension(statement.group("label"), statement.group("desc").strip())
        if extended:
            found.append((extended, f"introduction: {_quote(statement.group(0).strip())}", ""))
    for pattern in (_LATIN_FULL, _TRANSLITERATED):
        for match in pattern.finditer(text):
            found.append((match.group(0), f"introduction: {_quote(_around(text, match))}", ""))
    return found


def _by_whos_who(label: str, said: list[tuple[str, str]]) -> Named | None:
    key = QA_NAMES.get(label, label)
    for part, person in said:
        if part == key or QA_NAMES.get(part) == key:
            return Named(person, f"who's who before the dialogue: {part}：{person}")
    return None


def _by_extension(label: str, people: list[tuple[str, str, str]]) -> Named | None:
    """A surname, first name or family name whose full name the article gives once."""
    if label in _GENERIC_PARTS or is_asr_label(label):
        return None
    if re.fullmatch(r"[A-Za-z]+", label):
        words = re.compile(rf"(?:^{label} [A-Z]|[a-z] {label}$)")
        matches = [entry for entry in people if " " in entry[0] and words.search(entry[0])]
    elif re.fullmatch(r"[\u4e00-\u9fff]{1,2}", label) and _surname(label):
        matches = [
            entry
            for entry in people
            if entry[0].startswith(label)
            and _HAN_NAME.fullmatch(entry[0])
            and len(entry[0]) > len(label)
        ]
    else:
        return None
    return _one(matches)


def _surname(label: str) -> bool:
    return (
        label in SURNAMES
        or label in TRADITIONAL_SURNAMES
        or label in COMPOUND_SURNAMES
        or len(label) == 2
        and label[0] in SURNAMES | TRADITIONAL_SURNAMES
    )


def _by_initials(label: str, people: list[tuple[str, str, str]]) -> Named | None:
    """Initials (`K.K.`) of a transliterated name the article gives (凯文·凯利: Kai, Kai)."""
    if not _INITIALS.fullmatch(label):
        return None
    letters = re.sub(r"[^A-Z]", "", label)
    matches = []
    for entry in people:
        parts = re.split(r"[·・•\s]", entry[0])
        if len(parts) == len(letters) and "".join(_initial(p) for p in parts) == letters:
            matches.append(entry)
    return _one(matches)


def _initial(word: str) -> str:
    if word[:1].isascii():
        return word[:1].upper()
    return _pinyin_initial(word[0])


@functools.lru_cache(maxsize=1024)
def _pinyin_initial(char: str) -> str:
    """The Latin letter a Chinese character's reading starts with (凯 → K)."""
    from pypinyin import Style, lazy_pinyin

    reading = lazy_pinyin(char, style=Style.NORMAL)
    return reading[0][:1].upper() if reading and reading[0] else ""


def _by_role(label: str, intro: str) -> Named | None:
    """A title used as a label (`行政長官：`) when the introduction writes it before one name
    (`行政長官梁振英被揭發…`) and names that person again."""
    if (
        len(label) < 2
        or label in _GENERIC_PARTS
        or is_asr_label(label)
        or not re.fullmatch(r"[\u4e00-\u9fff]{2,8}", label)
        or _is_person(label)
    ):
        return None
    after = [
        match.group(1) for match in re.finditer(rf"{re.escape(label)}([\u4e00-\u9fff]{{3}})", intro)
    ]
    names = {name for name in after if _is_person(name)}
    if len(names) == 1:
        name = names.pop()
        if intro.count(name) >= 2:
            return Named(name, f"introduction: “{label}{name}”, and {name} ×{intro.count(name)}")
    return None


def _by_self_introduction(label: str, turns: Sequence[tuple[str, Sequence[str]]]) -> Named | None:
    """A numbered speech-recognition speaker who says who they are in one of their first turns
    (`大家好，我是猫草。`)."""
    if not is_asr_label(label):
        return None
    own = [" ".join(paragraphs) for speaker, paragraphs in turns if speaker == label][:3]
    names: list[tuple[str, str, str]] = []
    for text in own:
        for match in _SELF_INTRO.finditer(text[:200]):
            name = match.group("name").strip()
            if not _NOT_A_NAME.search(name) and len(name_key(name)) >= 2:
                names.append((name, f"says so: {_quote(match.group(0).strip(' ，,。'))}", ""))
    return _one(names)


def _one(matches: list[tuple[str, str, str]]) -> Named | None:
    distinct: dict[str, tuple[str, str, str]] = {}
    for person, why, part in matches:
        known = distinct.get(name_key(person))
        distinct[name_key(person)] = (
            person,
            known[1] if known else why,
            part or (known[2] if known else ""),
        )
    if len(distinct) != 1:
        return None
    return Named(*next(iter(distinct.values())))


def _around(text: str, match: re.Match[str], width: int = 16) -> str:
    return text[max(0, match.start() - width) : match.end() + width].replace("\n", " ")


def _quote(text: str, limit: int = 40) -> str:
    text = text.replace("\n", " ")
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"
