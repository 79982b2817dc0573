"""The script: who says what, in order. Every later stage reads this and nothing else.

A script comes from parsing an article or from a YAML file the user edited; both give the same
frozen `Script`. This module knows the YAML form only: reading an article belongs to `parse`.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from interview_audio import yamlfile
from interview_audio.errors import ScriptError


class Role(enum.StrEnum):
    HOST = "host"
    GUEST = "guest"
    NARRATOR = "narrator"


class Gender(enum.StrEnum):
    """Whom a speaker or a voice sounds like, so casting can give each speaker a voice that
    fits. Unknown is None, never a guess."""

    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True)
class Meta:
    """What the article says about itself."""

    title: str
    author: str = ""
    date: str = ""
    # The time of day when the article gives one, as ISO 8601 with the article's UTC offset
    # if it names one: "20:30", "20:30:15", "20:30+08:00".
    time: str = ""
    location: str = ""
    source_url: str = ""
    cover_url: str = ""


@dataclass(frozen=True)
class Topic:
    """One item of the article's numbered summary: its bold title and its text."""

    title: str
    text: str = ""


@dataclass(frozen=True)
class Heading:
    """A section heading inside the dialogue and the turn it comes before."""

    title: str
    start_turn: int


@dataclass(frozen=True)
class Chapter:
    """A stretch of the conversation under one title, from `start_turn` to the next chapter."""

    title: str
    start_turn: int


_NAME_NOISE = re.compile(r"[\s·•・‧∙⋅.\-_]+")


def name_key(name: str) -> str:
    """How speaker names compare everywhere (parser grouping, voices.yaml entries and aliases):
    width, spaces, middle dots, hyphens and case do not count, so 山姆·奥特曼 = 山姆 奥特曼."""
    return _NAME_NOISE.sub("", unicodedata.normalize("NFKC", name)).casefold()


@dataclass(frozen=True)
class Speaker:
    """A speaker, their part and gender (None: nothing says), and the evidence for both as
    short phrases a person can check (`speakers.identify` finds them). The evidence explains;
    it does not make two scripts different."""

    name: str
    role: Role
    aliases: tuple[str, ...] = ()
    gender: Gender | None = None
    role_evidence: tuple[str, ...] = field(default=(), compare=False)
    gender_evidence: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Turn:
    """One speaker's uninterrupted turn, as display text split into paragraphs."""

    speaker: str
    role: Role
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass(frozen=True)
class Script:
    meta: Meta
    speakers: tuple[Speaker, ...]
    turns: tuple[Turn, ...]
    topics: tuple[Topic, ...] = ()
    headings: tuple[Heading, ...] = ()
    chapters: tuple[Chapter, ...] = field(default=())
    intro: tuple[str, ...] = ()  # the editorial introduction's paragraphs, for the narrator

    @property
    def title(self) -> str:
        return self.meta.title

    def turn_count(self, speaker: str) -> int:
        return sum(1 for turn in self.turns if turn.speaker == speaker)


# --- reading and writing scripts -----------------------------------------------------------------

SCRIPT_SUFFIXES = (".yaml", ".yml")
_YAML_HEADER = (
    "# interview-audio script. Edit names, lines, roles or chapters, then run:\n"
    "#   interview-audio render THIS_FILE.yaml\n"
    "# A turn's paragraphs are separated by blank lines. Chapters start at a turn index (from 0).\n"
)


def to_dict(script: Script) -> dict[str, object]:
    """The script as plain data for `script --json` and other tools."""
    return {
        "title": script.title,
        "meta": {
            "author": script.meta.author,
            "date": script.meta.date,
            "time": script.meta.time,
            "location": script.meta.location,
            "source_url": script.meta.source_url,
            "cover_url": script.meta.cover_url,
        },
        "intro": list(script.intro),
        "speakers": [
            {
                "name": s.name,
                "role": s.role.value,
                "gender": s.gender.value if s.gender else None,
                "aliases": list(s.aliases),
                "turns": script.turn_count(s.name),
                "role_evidence": list(s.role_evidence),
                "gender_evidence": list(s.gender_evidence),
            }
            for s in script.speakers
        ],
        "topics": [{"title": t.title, "text": t.text} for t in script.topics],
        "headings": [{"title": h.title, "start_turn": h.start_turn} for h in script.headings],
        "chapters": [{"title": c.title, "start_turn": c.start_turn} for c in script.chapters],
        "turns": [
            {
                "index": i,
                "speaker": t.speaker,
                "role": t.role.value,
                "text": t.text,
                "paragraphs": list(t.paragraphs),
            }
            for i, t in enumerate(script.turns)
        ],
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line text as `|` blocks so a person can edit it."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def dump_yaml(script: Script) -> str:
    data = to_dict(script)
    speakers = data["speakers"]
    assert isinstance(speakers, list)
    for speaker in speakers:
        for key in ("turns", "role_evidence", "gender_evidence"):
            speaker.pop(key)
    data["turns"] = [
        {
            "speaker": t.speaker,
            "text": "\n\n".join(t.paragraphs) + ("\n" if len(t.paragraphs) > 1 else ""),
        }
        for t in script.turns
    ]
    body = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)
    return _YAML_HEADER + body


def load_script(path: Path) -> Script:
    """Read a YAML script written by `script -o` (and maybe edited); errors say where."""
    root = yamlfile.read(path, ScriptError)
    return script_from_yaml(root)


def script_from_yaml(root: yamlfile.Node) -> Script:
    fields: dict[str, yamlfile.Node] = dict(root.items(ScriptError, _SCRIPT_KEYS))
    if "turns" not in fields:
        raise root.fail(ScriptError, "missing `turns:`; a script needs the dialogue.")
    title = fields["title"].string(ScriptError) if "title" in fields else ""
    meta_values = (
        {
            key: node.string(ScriptError, allow_empty=True)
            for key, node in fields["meta"].items(ScriptError, _META_FIELDS)
        }
        if "meta" in fields
        else {}
    )
    meta = Meta(title=title, **meta_values)
    speakers: list[Speaker] = []
    for node in fields["speakers"].elements(ScriptError) if "speakers" in fields else ():
        values = dict(node.items(ScriptError, ("name", "role", "gender", "aliases")))
        if "name" not in values:
            raise node.fail(ScriptError, "a speaker needs a `name:`.")
        name = values["name"].string(ScriptError)
        role = _role(values["role"]) if "role" in values else Role.GUEST
        gender = _gender(values["gender"]) if "gender" in values else None
        aliases = (
            tuple(a.string(ScriptError) for a in values["aliases"].elements(ScriptError))
            if "aliases" in values
            else ()
        )
        speakers.append(
            Speaker(
                name,
                role,
                aliases,
                gender,
                ("set in the script",) if "role" in values else (),
                ("set in the script",) if gender else (),
            )
        )
    roles = {s.name: s.role for s in speakers}
    turns: list[Turn] = []
    for node in fields["turns"].elements(ScriptError):
        values = dict(node.items(ScriptError, ("speaker", "text")))
        if "speaker" not in values or "text" not in values:
            raise node.fail(ScriptError, "each turn needs `speaker:` and `text:`.")
        speaker = values["speaker"].string(ScriptError)
        paragraphs = tuple(
            p.strip() for p in re.split(r"\n\s*\n", values["text"].string(ScriptError)) if p.strip()
        )
        if speaker not in roles:
            roles[speaker] = Role.HOST if not turns else Role.GUEST
            speakers.append(Speaker(speaker, roles[speaker]))
        turns.append(Turn(speaker, roles[speaker], paragraphs))
    if not turns:
        raise fields["turns"].fail(ScriptError, "the script has no turns; add at least one.")
    topics = tuple(
        Topic(
            **{
                k: v.string(ScriptError, allow_empty=True)
                for k, v in node.items(ScriptError, ("title", "text"))
            }
        )
        for node in (fields["topics"].elements(ScriptError) if "topics" in fields else ())
    )
    headings = tuple(Heading(*_marker(node, len(turns))) for node in _nodes(fields, "headings"))
    chapters = tuple(Chapter(*_marker(node, len(turns))) for node in _nodes(fields, "chapters"))
    if chapters and chapters[0].start_turn != 0:
        chapters = (Chapter(chapters[0].title, 0), *chapters[1:])
    starts = [c.start_turn for c in chapters]
    if starts != sorted(set(starts)):
        raise fields["chapters"].fail(
            ScriptError, "chapters must start at increasing turn indexes."
        )
    intro = tuple(node.string(ScriptError) for node in _nodes(fields, "intro") if not node.is_null)
    return Script(meta, tuple(speakers), tuple(turns), topics, headings, chapters, intro)


_SCRIPT_KEYS = ("title", "meta", "intro", "speakers", "topics", "headings", "chapters", "turns")
_META_FIELDS = ("author", "date", "time", "location", "source_url", "cover_url")


def _nodes(fields: dict[str, yamlfile.Node], key: str) -> list[yamlfile.Node]:
    return list(fields[key].elements(ScriptError)) if key in fields else []


def _role(node: yamlfile.Node) -> Role:
    value = node.string(ScriptError)
    try:
        return Role(value)
    except ValueError:
        raise node.fail(
            ScriptError, f"unknown role {value!r}; valid roles: host, guest, narrator."
        ) from None


def _gender(node: yamlfile.Node) -> Gender | None:
    """`gender: male`, `female`, or empty (null) for unknown."""
    if node.is_null:
        return None
    value = node.string(ScriptError).strip()
    try:
        return Gender(value.casefold())
    except ValueError:
        raise node.fail(
            ScriptError, f"unknown gender {value!r}; write male, female, or null for unknown."
        ) from None


def _marker(node: yamlfile.Node, turn_count: int) -> tuple[str, int]:
    values = dict(node.items(ScriptError, ("title", "start_turn")))
    if "title" not in values or "start_turn" not in values:
        raise node.fail(ScriptError, "needs `title:` and `start_turn:`.")
    return values["title"].string(ScriptError), values["start_turn"].integer(
        ScriptError, 0, turn_count - 1
    )
