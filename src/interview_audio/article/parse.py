"""Parse an interview article into a `Script`, and say what was left out.

Chinese interviews come in many shapes (WeChat articles saved by Cubox or a Markdown exporter,
blog posts with YAML front matter, transcript sites, plain `名字：` transcripts, 问/答, Q/A). The
article is read in this order: front matter and block structure (`markup`), the title and the
header's facts, furniture that is never spoken (`furniture`), an English translation or
original alongside the Chinese, then speaker labels (`labels`) and the dialogue between them.
Everything that is not dialogue is either the narrator's (title, summary topics) or left out,
and `Article.left_out` says which lines and why, so `interview-audio script` can show it.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from interview_audio.article.decode import read_text
from interview_audio.article.furniture import (
    END_HEADINGS,
    PROMO,
    account_cards,
    ends_in_picture,
    furniture_kind,
    has_contact,
    is_end_mark,
    is_furniture,
    is_image,
)
from interview_audio.article.headings import MARKDOWN_HEADING as _HEADING
from interview_audio.article.headings import NUMBER_ONLY as _NUMBER_ONLY
from interview_audio.article.headings import (
    bold_text,
    heading_text,
    reads_as_plain_title,
    reads_as_title,
    unheaded,
)
from interview_audio.article.intro import editorial_intro
from interview_audio.article.labels import (
    LABEL_STYLES,
    QA_NAMES,
    Inline,
    Label,
    candidate,
    confirm_speakers,
    inline_labels,
    looks_like_person,
    single_alone_labels,
    without_lists,
)
from interview_audio.article.markup import (
    clean_text,
    front_matter,
    han_count,
    is_latin_prose,
    latin_letters,
    latin_words,
    normalize_blocks,
    strip_markup_noise,
)
from interview_audio.article.names import Named, full_names, whos_who_line
from interview_audio.article.script import (
    SCRIPT_SUFFIXES,
    Heading,
    Meta,
    Script,
    Topic,
    Turn,
    load_script,
)
from interview_audio.article.speakers import Clues, identify, linked
from interview_audio.errors import ParseError

log = logging.getLogger(__name__)

__all__ = ["Article", "LeftOut", "clean_text", "parse", "parse_article", "read_article"]


@dataclass(frozen=True)
class LeftOut:
    """A stretch of the article that no speaker says (1-based line numbers)."""

    what: str
    first_line: int
    last_line: int
    lines: int
    sample: str = ""


@dataclass(frozen=True)
class Article:
    """A parsed article: its script, what the narrator says instead of the text (title,
    summary), and what was left out."""

    script: Script
    narrated: tuple[str, ...] = ()
    left_out: tuple[LeftOut, ...] = field(default=())


# Fates of lines that are reported when left out, in the order `script` lists them.
INTRO = "before the dialogue (captions, bylines, credits, headings)"
INTRODUCTION = "introduction"  # read by the narrator
AFTER = "after the dialogue (credits, end marks, related articles)"
TRANSLATION = "translation section (use --keep-translation to voice it)"
ENGLISH = "English paragraphs beside the Chinese (use --keep-translation to voice them)"
FURNITURE = "images, links, credits and promotions inside the dialogue"
CARDS = "account cards"
HIDDEN = "collapsed HTML, scripts and code"

_TOPIC_ITEM = re.compile(
    r"^\s*(?:\d{1,3}[.)、]\s*|[-*+•]\s+|[一二三四五六七八九十]{1,3}、\s*|[①-⑳]\s*)(?P<body>.+)$"
)
_TOPIC_BOLD = re.compile(r"^\*\*\s*(?P<title>[^*]+?)\s*[:：]?\s*\*\*\s*[:：]?\s*(?P<text>.*)$")
_TOPIC_PLAIN = re.compile(r"^(?P<title>[^:：。]{2,40})[:：]\s*(?P<text>.+)$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]\s+|\d{1,3}[.)、]\s*|[①-⑳])")
_SENTENCE_END = re.compile(r"[。！？!?…”」』）)]$")
_SUMMARY_HEADINGS = re.compile(
    r"内容导读|导读|划重点|本期要点|核心要点|要点|内容提要|提要|内容摘要|摘要|主要观点|核心观点|"
    r"精彩观点|亮点|Highlights|Key takeaways|Summary|TL;?DR",
    re.IGNORECASE,
)
_DIALOGUE_HEADINGS = re.compile(
    r"全文|实录|访谈内容|对话内容|正文|对话|访谈|Transcript", re.IGNORECASE
)
_META_KEYS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("author", re.compile(r"^(?:文章作者|作者|公众号|来源公众号|Author)$", re.IGNORECASE)),
    ("date", re.compile(r"^(?:发布时间|发布日期|发表时间|日期|时间|Date)$", re.IGNORECASE)),
    ("location", re.compile(r"^(?:发布地|发布地点|地点|IP属地)$")),
    ("source_url", re.compile(r"^(?:原文链接|原文地址|文章链接|链接|URL|Source)$", re.IGNORECASE)),
    ("cover_url", re.compile(r"^(?:封面图链接|封面链接|封面图|封面|Cover)$", re.IGNORECASE)),
)
_META_LINE = re.compile(r"^\s*([^:：\s]{1,8})\s*[:：]\s*(.+?)\s*$")
_URL = re.compile(r"https?://[^\s)\]>\"“”]+")
# What an exporter writes where the title was lost (a Cubox export of a WeChat page can start
# with `微信号` underlined): the file's own name says more than that.
_PLACEHOLDER_TITLE = re.compile(
    r"微信号|微信公众号|公众号|微信公众平台|微信|原创|图片|mp\.weixin\.qq\.com|WeChat|Untitled|无标题",
    re.IGNORECASE,
)
_SOURCE_LINE = re.compile(r"^\[(?P<domain>[\w.-]+\.[a-z]{2,})\]\((?P<url>[^)\s]+)\)(?P<rest>.*)$")


# --- reading -------------------------------------------------------------------------------


def read_article(path: Path, keep_translation: bool = False) -> Script:
    return parse(read_text(path), str(path), keep_translation=keep_translation).script


def read_source(path: Path, keep_translation: bool = False) -> Article:
    """An article or a YAML script, by file suffix: the one input every command accepts."""
    if path.suffix.lower() in SCRIPT_SUFFIXES:
        return Article(load_script(path))
    return parse(read_text(path), str(path), keep_translation=keep_translation)


def read_script(path: Path, keep_translation: bool = False) -> Script:
    """The script of an article or of a YAML script file."""
    return read_source(path, keep_translation).script


def parse_article(text: str, name: str = "input") -> Script:
    """Parse article text into a Script; raise ParseError when no dialogue can be found."""
    return parse(text, name).script


# --- the article ---------------------------------------------------------------------------------


@dataclass
class _Page:
    """The article's lines as the parser works on them, and each line's fate."""

    lines: list[str]
    cleaned: list[str]
    fate: list[str]
    skip: set[int]  # lines that can never be labels or dialogue
    source: list[str] = field(default_factory=list)  # the lines before HTML became text
    captions: frozenset[int] = frozenset()  # HTML figure captions: intro text, never a turn

    def content(self, index: int) -> bool:
        return bool(self.lines[index].strip()) and index not in self.skip


def parse(text: str, name: str = "input", keep_translation: bool = False) -> Article:
    """Parse article text; raise ParseError when no dialogue can be found."""
    page, fields = _read_page(text)
    section = _set_translation_aside(page, keep_translation)
    found = _find_speakers(page, section, name)
    first_label = min(found.speaker_of)
    meta = _meta(page, first_label, fields, name)
    topic_lines, topics = _topics(page, first_label)
    walk = _Walk(page, found.by_line, found.speaker_of, section if keep_translation else None)
    walk.inline, walk.canonical = found.inline, found.canonical
    turns = walk.run(first_label)
    if not turns:
        raise ParseError(
            f"{name}: speaker labels were found but no dialogue text follows them. "
            "Put each turn's text after its label."
        )
    turns = _voice_translation(turns, walk.translated_from)
    _drop_tail_furniture(page, turns, walk, first_label)
    intro = "\n".join([meta.title, *_intro_lines(page, first_label, topic_lines)])
    shown = [(QA_NAMES.get(s, s), p) for s, p in turns]
    clues = _clues(found, walk, turns, intro, meta)
    names = _full_names(shown, meta.title, intro, found, clues)
    shown = [(names[s].name if s in names else s, p) for s, p in shown]
    speakers = identify(shown, _renamed(clues, names))
    roles = {speaker.name: speaker.role for speaker in speakers}
    for index in topic_lines:
        page.fate[index] = "topics"
    for index in range(first_label):
        if page.content(index) and not page.fate[index] and page.cleaned[index]:
            page.fate[index] = INTRO
    introduction, read = editorial_intro(
        page.lines,
        page.source,
        [i for i in range(first_label) if page.fate[i] == INTRO],
        meta.title,
    )
    for index in read:
        page.fate[index] = INTRODUCTION
    script = Script(
        meta=meta,
        speakers=speakers,
        turns=tuple(Turn(s, roles[s], tuple(p)) for s, p in shown),
        topics=topics,
        headings=tuple(walk.headings),
        intro=introduction,
    )
    narrated = ["the title"]
    if introduction:
        where = f"lines {read[0] + 1}-{read[-1] + 1}"
        narrated.append(f"the introduction ({_paragraphs(len(introduction))}, {where})")
    if topics:
        narrated.append(f"{len(topics)} summary topics")
    return Article(script, tuple(narrated), _left_out(page))


def _paragraphs(count: int) -> str:
    return "1 paragraph" if count == 1 else f"{count} paragraphs"


def _read_page(text: str) -> tuple[_Page, dict[str, str]]:
    """The article's lines with front matter, hidden HTML, code, account cards and the title
    line set aside; and the front matter's fields."""
    raw = [
        strip_markup_noise(line)
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    fields, covered = front_matter(raw)
    for index in range(covered):
        raw[index] = ""
    blocks = normalize_blocks(raw)
    lines = blocks.lines
    page = _Page(
        lines,
        [clean_text(line) for line in lines],
        [""] * len(lines),
        set(),
        source=raw,
        captions=blocks.captions,
    )
    for index in blocks.hidden | blocks.code:
        page.fate[index] = HIDDEN
    for index in account_cards(lines, page.cleaned):
        page.fate[index] = CARDS
        page.skip.add(index)
    title_line = _title_line(page)
    if title_line is not None:
        page.skip.add(title_line)
        page.fate[title_line] = "title"
    return page, fields


def _set_translation_aside(page: _Page, keep_translation: bool) -> int | None:
    """Where a trailing translation starts (None: there is none); unless it is kept, it and
    the English lines beside the Chinese are left out."""
    section = _translation_section(page)
    english = _english_lines(page, section)
    if not keep_translation:
        for index in english:
            page.skip.add(index)
            page.fate[index] = ENGLISH
        if section is not None:
            for index in range(section, len(page.lines)):
                page.skip.add(index)
                page.fate[index] = TRANSLATION
    return section


@dataclass(frozen=True)
class _Speakers:
    """The labels that start turns: `speaker_of` and `by_line` by line, `canonical` each
    spelling's speaker in the article itself, `main` its labels (not the translation's), and
    `whos_who` the lines that say who a label is."""

    main: list[Label]
    canonical: dict[str, str]
    speaker_of: dict[int, str]
    by_line: dict[int, Label]
    whos_who: dict[int, tuple[str, str]]
    inline: dict[int, list[Inline]] = field(default_factory=dict)


def _find_speakers(page: _Page, section: int | None, name: str) -> _Speakers:
    labels = [
        label
        for index, line in enumerate(page.lines)
        if index not in page.skip and (label := candidate(index, unheaded(line)))
    ]
    rejected = {label.line for label in labels}
    labels = without_lists(labels)
    rejected -= {label.line for label in labels}
    whos_who = _whos_who(labels)
    singles = {
        line for line in single_alone_labels(labels) if not _colon_follows(page, line)
    }  # a bold name alone whose colon the exporter put on the next line is a label
    singles |= _list_headings(page, labels) | set(whos_who) | rejected
    labels = [label for label in labels if label.line not in singles]
    main = [label for label in labels if section is None or label.line < section]
    extra = [label for label in labels if section is not None and label.line >= section]
    first = min((label.line for label in main), default=0)
    canonical = confirm_speakers(main, "\n".join(page.cleaned[:first]))
    if not set(canonical.values()):
        raise ParseError(
            f"{name}: no speaker labels found. Looked for: {', '.join(LABEL_STYLES)}. "
            "Mark each turn with the speaker's name and a colon at the start of a line, "
            "e.g. '主持人：…' and '嘉宾：…'."
        )
    in_section = confirm_speakers(extra)
    speaker_of = {label.line: canonical[label.name] for label in main if label.name in canonical}
    speaker_of.update(
        {label.line: in_section[label.name] for label in extra if label.name in in_section}
    )
    by_line = {label.line: label for label in labels if label.line in speaker_of}
    inline = _inline(page, section, canonical, by_line, singles | set(whos_who))
    first = min(by_line, default=len(page.lines))
    for index in [i for i in inline if i < first]:
        items = inline[index]
        opening = items[0]
        said = whos_who_line(opening.label.name, opening.label.rest)
        if said is not None and not page.lines[index][: opening.start].strip(" *#>"):
            whos_who[index] = said  # `****Q：CBS 主持人 Brook Silva-Braga`
            del inline[index]
    for index, items in inline.items():
        speaker_of.setdefault(index, canonical[items[0].label.name])
    return _Speakers(main, canonical, speaker_of, by_line, whos_who, inline)


def _inline(
    page: _Page,
    section: int | None,
    canonical: dict[str, str],
    by_line: dict[int, Label],
    singles: set[int],
) -> dict[int, list[Inline]]:
    """Turns that start inside a line (after a question's closing quote, after bold text, at
    a line's end before the colon on the next line); a line-start label then keeps only the
    text before the next one."""
    names = list(canonical)
    found: dict[int, list[Inline]] = {}
    end = section if section is not None else len(page.lines)
    for index in range(end):
        raw = page.lines[index]
        if index in page.skip or index in singles or not raw.strip():
            continue
        items = inline_labels(index, raw, names, _colon_follows(page, index))
        if index in by_line:
            items = [i for i in items if raw[: i.start].strip(" *#>") and not i.caption]
        if not items:
            continue
        found[index] = items
        if index in by_line:
            head = raw[: items[0].start]
            shortened = candidate(index, head) or candidate(index, head.rstrip() + "**")
            if shortened is not None and shortened.name == by_line[index].name:
                by_line[index] = shortened
    return found


def _colon_follows(page: _Page, index: int) -> bool:
    """The next non-blank line starts with a colon: the label before it was wrapped."""
    following = next((i for i in range(index + 1, len(page.lines)) if page.lines[i].strip()), None)
    return following is not None and bool(re.match(r"^[\s*]*[：:]", page.lines[following]))


def _clues(
    found: _Speakers, walk: _Walk, turns: list[tuple[str, list[str]]], intro: str, meta: Meta
) -> Clues:
    """What the article says about its speakers beyond their turns, for `identify`."""
    whole_bold = Counter(
        QA_NAMES.get(found.speaker_of[label.line], found.speaker_of[label.line])
        for label in found.main
        if label.style == "whole" and label.line in found.speaker_of
    )
    aliases: dict[str, list[str]] = {QA_NAMES.get(s, s): [] for s, _ in turns}
    hints = {QA_NAMES.get(s, s): hint for s, hint in walk.hints.items()}
    for speaker, hint in hints.items():
        if speaker in aliases and re.fullmatch(r"主持人|主持|记者|記者|嘉宾|嘉賓", hint):
            aliases[speaker].append(hint + speaker)  # `主持人林晓` as the label wrote it
    for variant, target in found.canonical.items():
        shown = QA_NAMES.get(target, target)
        if shown in aliases and variant != shown:
            aliases[shown].append(variant)
            if target in QA_NAMES:
                hints.setdefault(shown, target)
    return Clues(
        intro=intro,
        account=meta.author,
        hints=hints,
        whole_bold=dict(whole_bold),
        named={part: person for part, person in found.whos_who.values()},
        aliases={name: tuple(sorted(names)) for name, names in aliases.items()},
    )


def _full_names(
    turns: list[tuple[str, list[str]]], title: str, intro: str, found: _Speakers, clues: Clues
) -> dict[str, Named]:
    """The full name of each label the article gives (陳 → 陳美齡, K.K. → 凯文·凯利, 嘉宾 → the
    guest the introduction names, unless the questions are about someone in the third person:
    a Q&A summary of an interview, not the interview)."""
    order = list(dict.fromkeys(s for s, _ in turns))
    names = full_names(order, title, intro, found.whos_who.values(), turns)
    asked = "".join("".join(p) for s, p in turns if s == "主持人")
    about_someone = len(re.findall("[他她]", asked)) > len(re.findall("[你您]", asked))
    for label in order:
        if label not in names and label in ("主持人", "嘉宾") and not about_someone:
            person, quote = linked(label, clues)
            if person and person not in order:
                names[label] = Named(person, f"introduction: {quote}")
    taken = [named.name for named in names.values()]
    return {
        label: named
        for label, named in names.items()
        if taken.count(named.name) == 1 and named.name not in order
    }


def _renamed(clues: Clues, names: dict[str, Named]) -> Clues:
    """The clues keyed by the full names, each label kept as an alias and, where it names a
    part (主持人, 嘉宾, 問), as the role hint."""
    if not names:
        return clues

    def key(name: str) -> str:
        return names[name].name if name in names else name

    hints = {key(name): hint for name, hint in clues.hints.items()}
    aliases = {key(name): list(spelled) for name, spelled in clues.aliases.items()}
    for label, named in names.items():
        aliases.setdefault(named.name, []).append(label)
        role_word = named.part or (label if label in ("主持人", "嘉宾") else "")
        if role_word:
            hints.setdefault(named.name, role_word)
    return Clues(
        intro=clues.intro,
        account=clues.account,
        hints=hints,
        whole_bold={key(name): n for name, n in clues.whole_bold.items()},
        named={},
        aliases={name: tuple(dict.fromkeys(spelled)) for name, spelled in aliases.items()},
        full_names={
            named.name: f"{label} is {named.name} ({named.why})" for label, named in names.items()
        },
    )


def _whos_who(labels: list[Label]) -> dict[int, tuple[str, str]]:
    """Lines before the dialogue that say who a label is, not turns: `A：Geoffrey Hinton`,
    `**Host：** Dwarkesh Patel`, `**問：《在晴朗的一天出發》主持人**`, `**陳：陳美齡**`. By line:
    the part or label (主持人, 嘉宾, 陳) and the person ("" when only a description is given)."""
    said = {label.line: whos_who_line(label.name, label.rest) for label in labels}
    counts = Counter(label.name for label in labels if said[label.line] is None)
    first = min(
        (label.line for label in labels if counts[label.name] >= 2 and said[label.line] is None),
        default=0,
    )
    return {line: who for line, who in said.items() if who is not None and line < first}


def _intro_lines(page: _Page, first_label: int, topic_lines: list[int]) -> list[str]:
    """The text before the dialogue that an editor wrote (introduction, summary, who's who),
    without account cards, furniture or hidden HTML: where an article says who people are."""
    topics = set(topic_lines)
    return [
        re.sub(r"^\s*#+\s*", "", page.cleaned[index])
        for index in range(first_label)
        if page.content(index)
        and page.cleaned[index]
        and (index in topics or page.fate[index] in ("", INTRO))
        and not furniture_kind(page.lines[index], page.cleaned[index])
    ]


def _list_headings(page: _Page, labels: list[Label]) -> set[int]:
    """`**一些有意思的点：**` over a bulleted list: a heading with a colon, not a speaker."""
    found = set()
    for label in labels:
        if label.rest:
            continue
        following = next(
            (i for i in range(label.line + 1, len(page.lines)) if page.lines[i].strip()), None
        )
        if following is not None and _LIST_ITEM.match(page.lines[following]):
            found.add(label.line)
    return found


def _title_line(page: _Page) -> int | None:
    """The first line is the title when it is a heading, or a short line that does not end a
    sentence (a Cubox export's first line): it is read before labels, so `对话 MiniMax 闫俊杰：…`
    never introduces a speaker called 对话MiniMax闫俊杰."""
    first = next((i for i, line in enumerate(page.lines) if line.strip()), None)
    if first is None:
        return None
    line = page.lines[first]
    heading = _HEADING.match(line)
    if heading:
        return first if len(heading.group(1)) == 1 else None
    text = page.cleaned[first]
    following = next((i for i in range(first + 1, len(page.lines)) if page.lines[i].strip()), None)
    if (
        text
        and 4 < len(text) <= 80  # `专栏`, a web page's section name, is chrome
        and not _SENTENCE_END.search(text)
        and following is not None
        and following > first + 1
    ):
        label = candidate(first, line)
        if label is None or label.rest:
            return first
    return None


def _translation_section(page: _Page) -> int | None:
    """Where a trailing translation starts: the last stretch of the article that is (nearly)
    all Latin-script prose, at least three paragraphs, after Chinese dialogue."""
    content = [i for i in range(len(page.lines)) if page.content(i) and page.cleaned[i]]
    if not content:
        return None
    if han_count("\n".join(page.cleaned[i] for i in content)[:50_000]) < 200:
        return None
    start = None
    latin = other = 0
    for index in reversed(content):
        text = page.cleaned[index]
        if is_latin_prose(text, 3):
            latin += 1
            start = index
        elif (
            is_furniture(page.lines[index], text)
            or is_end_mark(text)
            or len(text) <= 12
            and not han_count(text)
        ):
            continue
        else:
            other += 1
            if other > max(1, latin // 10):
                break
    if start is None or latin < 3:
        return None
    before = [i for i in content if i < start]
    if not before or sum(han_count(page.cleaned[i]) for i in before) < 100:
        return None
    heading = before[-1]
    if latin_letters(page.cleaned[heading]) and not han_count(page.cleaned[heading]):
        start = heading  # an English heading over the section ("English version")
    return start


def _english_lines(page: _Page, section: int | None) -> set[int]:
    """Latin-script prose lines inside a Chinese article (an original beside its translation,
    as transcript sites and bilingual blogs print them)."""
    end = section if section is not None else len(page.lines)
    joined = "\n".join(page.cleaned[:end])[:50_000]  # a sample is enough to tell
    if han_count(joined) <= latin_words(joined):
        return set()
    return {
        i
        for i in range(end)
        if page.content(i)
        and is_latin_prose(page.cleaned[i])
        and not is_furniture(page.lines[i], page.cleaned[i])
        and heading_text(page.lines[i]) is None  # `## anon_vma->root->rwsem`: a heading
    }


def _meta(page: _Page, first_label: int, fields: dict[str, str], name: str) -> Meta:
    """Title, author, date, place, source and cover: from the front matter, then from the
    lines before the dialogue (a `# title`, a `[domain](url) account` line, `作者：…` lines)."""
    found = _front_matter_meta(fields)
    title = _header_meta(page, first_label, found, clean_text(fields.get("title", "")))
    if not title:
        title = next(
            (
                page.cleaned[i]
                for i in range(first_label)
                if page.cleaned[i]
                and 4 < len(page.cleaned[i]) <= 80
                and page.content(i)
                and not page.lines[i].lstrip().startswith(">")  # a pull quote above the title
                or page.fate[i] == "title"
            ),
            Path(name).stem,
        )
    if _PLACEHOLDER_TITLE.fullmatch(title.strip()):
        title = Path(name).stem
    date, time = _date_and_time(found.get("date", ""))
    return Meta(
        title=title,
        author=clean_text(found.get("author", "")),
        date=date,
        time=time,
        location=clean_text(found.get("location", "")),
        source_url=found.get("source_url", ""),
        cover_url=found.get("cover_url", ""),
    )


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
# What may follow the date: a time of day and maybe its zone (2025-03-18 20:30, 2025年3月18日
# 20:30, 2024-05-01T10:00:00+08:00, … 20:30 UTC+8, … 20:30 北京时间).
_TIME = re.compile(
    r"(?:日\s*|\s*[T\s]\s*)(\d{1,2})\s*[:：]\s*(\d{2})(?:\s*[:：]\s*(\d{2}))?(?:\.\d+)?\s*"
    r"(?:(Z)|(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?\b|(北京时间|Beijing Time))?",
    re.IGNORECASE,
)


def _date_and_time(text: str) -> tuple[str, str]:
    """The article's date (2025-03-18) and, when it gives one, its time with its zone if named
    ("20:30", "20:30+08:00"); ("", "") when there is no date."""
    date = _DATE.match(text)
    if date is None:
        return "", ""
    day = f"{int(date.group(1)):04d}-{int(date.group(2)):02d}-{int(date.group(3)):02d}"
    time = _TIME.match(text, date.end())
    if time is None:
        return day, ""
    hour, minute, second, utc, sign, zone_hours, zone_minutes, beijing = time.groups()
    if int(hour) > 23 or int(minute) > 59 or int(second or 0) > 59:
        return day, ""
    clock = f"{int(hour):02d}:{minute}" + (f":{second}" if second else "")
    if utc:
        clock += "+00:00"
    elif sign and int(zone_hours) <= 14:
        clock += f"{sign}{int(zone_hours):02d}:{zone_minutes or '00'}"
    elif beijing:
        clock += "+08:00"
    return day, clock


def _front_matter_meta(fields: dict[str, str]) -> dict[str, str]:
    found = {key: fields[key] for key in ("author", "date", "location") if fields.get(key)}
    for key in ("url", "link", "source", "original_url"):
        value = fields.get(key, "")
        if value.startswith("http") and "source_url" not in found:
            found["source_url"] = value
    return found


def _header_meta(page: _Page, first_label: int, found: dict[str, str], title: str) -> str:
    """Add what the lines before the dialogue say to `found`; the title (`title` if the front
    matter gave one, else a `# heading`, else "")."""
    for index in range(first_label):
        line = page.lines[index]
        heading = _HEADING.match(line)
        if heading and heading.group(1) == "#" and not title:
            title = clean_text(heading.group(2))
            page.fate[index] = "title"
            continue
        if heading and len(heading.group(1)) >= 2:
            break
        source = _SOURCE_LINE.match(line.strip())
        if source and "source_url" not in found:
            found["source_url"] = source.group("url")
            account = source.group("rest").split()
            half = len(account) // 2
            if account and account[:half] == account[half:]:
                account = [" ".join(account[half:])]  # `Founder Park Founder Park`
            if account and "author" not in found:
                found["author"] = account[-1]
            page.fate[index] = "meta"
            continue
        match = _META_LINE.match(page.cleaned[index] if "http" not in line else line.strip())
        if not match:
            continue
        key, value = match.group(1).strip("* "), match.group(2).strip("* ")
        for field_name, pattern in _META_KEYS:
            if pattern.match(key) and field_name not in found:
                url = _URL.search(value)
                found[field_name] = url.group(0) if field_name.endswith("url") and url else value
                page.fate[index] = "meta"
    return title


def _topics(page: _Page, first_label: int) -> tuple[list[int], tuple[Topic, ...]]:
    """Numbered items under a summary heading (内容导读, 划重点, 本期要点 …) before the dialogue."""
    topics: list[Topic] = []
    used: list[int] = []
    inside = False
    for index, line in enumerate(page.lines[:first_label]):
        heading = _HEADING.match(line)
        bold_heading = re.fullmatch(r"\s*\*\*([^*]{1,20})\*\*\s*[:：]?\s*", line)
        title = ""
        if heading and heading.group(1) != "#":
            title = heading.group(2)
        elif bold_heading:
            title = bold_heading.group(1)
        if title:
            inside = bool(_SUMMARY_HEADINGS.search(title)) and not topics
            if inside:
                used.append(index)
            continue
        if not inside:
            continue
        item = _TOPIC_ITEM.match(line)
        if not item:
            continue
        body = item.group("body").strip()
        bold = _TOPIC_BOLD.match(body)
        plain = _TOPIC_PLAIN.match(clean_text(body))
        if bold:
            title, rest = bold.group("title"), bold.group("text")
        elif plain:
            title, rest = plain.group("title"), plain.group("text")
        else:
            title, rest = body, ""
        title = clean_text(title).rstrip(":：。 ")
        if title:
            topics.append(Topic(title=title, text=clean_text(rest)))
            used.append(index)
    return used, tuple(topics)


def _join(previous: str, line: str) -> str:
    """Join a wrapped line: Latin words keep a space (Alex / Heath), Chinese joins directly."""
    if (
        previous
        and line
        and previous[-1].isascii()
        and previous[-1].isalnum()
        and line[0].isascii()
        and line[0].isalnum()
    ):
        return f"{previous} {line}"
    return previous + line


class _Walk:
    """Walk from the first label to an end mark, building turns, paragraphs and headings."""

    def __init__(
        self,
        page: _Page,
        by_line: dict[int, Label],
        speaker_of: dict[int, str],
        section: int | None,
    ) -> None:
        self.page = page
        self.by_line = by_line
        self.speaker_of = speaker_of
        self.inline: dict[int, list[Inline]] = {}
        self.canonical: dict[str, str] = {}
        self.section = section
        self.turns: list[tuple[str, list[str]]] = []
        self.turn_lines: list[list[int]] = []
        self.headings: list[Heading] = []
        self.hints: dict[str, str] = {}
        self.translated_from: int | None = None  # index of the first turn of the translation
        self.end = len(page.lines)
        self.last_label = max(speaker_of)
        self._pending: list[str] = []
        self._block = ""
        self._block_lines: list[int] = []
        self._previous_blank = True
        self._text_since_heading = False
        self.speakers = set(speaker_of.values())

    def _flush(self) -> None:
        cleaned = clean_text(self._block)
        if self.turns and not self.turns[-1][1]:
            cleaned = cleaned.lstrip("：: ")  # a label's colon that the exporter wrapped
        if self.turns and cleaned and re.search(r"\w", cleaned):
            paragraphs = self.turns[-1][1]
            if paragraphs and re.match(r"^[。，、；：！？…）)”」]", cleaned):
                paragraphs[-1] += cleaned
            else:
                paragraphs.append(cleaned)
                self.turn_lines[-1].append(self._block_lines[0] if self._block_lines else -1)
        self._block = ""
        self._block_lines = []

    def _add_heading(self, title: str) -> None:
        title = clean_text(title).lstrip(">").strip(":： ")
        if not title:
            return
        if self._text_since_heading:  # the heading before had a text of its own, not a turn
            self._pending.clear()
            self._text_since_heading = False
        if self._pending and _NUMBER_ONLY.match(self._pending[-1]):
            self._pending[-1] = title
        else:
            self._pending.append(title)

    def _mark(self, index: int, fate: str) -> None:
        if not self.page.fate[index]:
            self.page.fate[index] = fate

    def _take(self, index: int) -> bool:
        """Take one line into the walk; False when the dialogue ends at it."""
        page = self.page
        raw = page.lines[index]
        stripped = raw.strip()
        if not stripped or index in page.skip:
            self._flush()
            self._previous_blank = True
            return True
        if index in self.inline:
            self._split_line(index, raw)
            return True
        label = self.by_line.get(index)
        if label:
            self._start_turn(index, label)
            return True
        cleaned = page.cleaned[index]
        if index in page.captions:
            self._flush()
            self._mark(index, FURNITURE)
            self._previous_blank = True
            return True
        title = heading_text(raw)
        if title and reads_as_title(clean_text(title)):
            return self._markdown_heading(index, title)
        if title:  # a heading that holds a paragraph: speech
            raw, stripped = title, title.strip()
            cleaned = clean_text(title)
        if is_end_mark(cleaned):
            self._flush()
            self.end = index
            return False
        if self._block and re.fullmatch(r"[。，、；：！？…）)”」]+", cleaned):
            self._block += cleaned  # the seed's `**…**` then `。` on the next line
            return True
        return self._take_other(index, raw, stripped, cleaned)

    def _markdown_heading(self, index: int, title: str) -> bool:
        if self.turns and len(clean_text(title)) > 40 and _SENTENCE_END.search(clean_text(title)):
            # `#### 早前在葵芳站…。`: an answer's paragraph that the archive marked as a heading
            return self._take_other(index, title, title.strip(), clean_text(title))
        self._flush()
        if END_HEADINGS.search(title):
            self.end = index
            return False
        self._add_heading(title)
        self._mark(index, "heading")
        self._previous_blank = True
        return True

    def _start_turn(self, index: int, label: Label) -> None:
        self._flush()
        speaker = self.canonical[label.name] if label.style == "inline" else self.speaker_of[index]
        if label.hint:
            self.hints.setdefault(speaker, label.hint)
        for title in self._pending:
            self.headings.append(Heading(title, len(self.turns)))
        self._pending.clear()
        self.turns.append((speaker, []))
        self.turn_lines.append([])
        self._block = label.rest
        self._block_lines = [index]
        self._mark(index, "dialogue")
        self._previous_blank = False

    def _split_line(self, index: int, raw: str) -> None:
        """A line with turns starting inside it: what comes before the first one continues
        the current turn (or is a caption glued to the label), then each turn in order."""
        items = self.inline[index]
        label = self.by_line.get(index)
        if label:
            self._start_turn(index, label)
        else:
            before = raw[: items[0].start].strip()
            if items[0].caption:
                self._flush()
                self._mark(index, FURNITURE)
            elif before and clean_text(before):
                self._take_other(index, before, before, clean_text(before))
        for item in items:
            self._start_turn(index, item.label)

    def _take_other(self, index: int, raw: str, stripped: str, cleaned: str) -> bool:
        """A line that is neither a label nor a Markdown heading: furniture, a bold heading,
        or more of the current turn."""
        kind = furniture_kind(raw, cleaned)
        if index > self.last_label and (
            kind in ("credit", "promo", "footer") or has_contact(cleaned)
        ):
            self._flush()  # credits after the last turn: the article's footer begins
            self.end = index
            return False
        title = _section_title(self.page, index, self.by_line, self.speakers)
        if title and self._previous_blank:  # even right under a picture: not its caption
            self._flush()
            self._add_heading(title)
            self._mark(index, "heading")
            return True
        if kind or _is_aside(self.page, index):
            self._flush()
            self._mark(index, FURNITURE)
            self._previous_blank = True
            return True
        if (
            self._block
            and _SENTENCE_END.search(clean_text(self._block))
            and not re.match(r"^\s*(?:\*\*\s*)?[。，、；：！？…）)”」]", raw)
        ):
            self._flush()
        self._block = _join(self._block.rstrip(), stripped) if self._block else stripped
        self._block_lines.append(index)
        self._mark(index, "dialogue")
        self._previous_blank = False
        self._text_since_heading = bool(self._pending)
        return True

    def run(self, first_label: int) -> list[tuple[str, list[str]]]:
        lines, page = self.page.lines, self.page
        start = first_label
        while start > 0 and (
            not lines[start - 1].strip()
            or _opening_heading(page, start - 1, self.by_line, self.speakers)
        ):
            start -= 1
        self._previous_blank = True
        for index in range(start, len(lines)):
            if self.section is not None and index == self.section:
                self._flush()
                self.translated_from = len(self.turns)
            if not self._take(index):
                break
        self._flush()
        for index in range(self.end, len(lines)):
            if page.fate[index] == ENGLISH or (
                page.content(index) and not page.fate[index] and page.cleaned[index]
            ):
                page.fate[index] = AFTER  # English after the end is end matter, not a translation
        kept = [i for i, turn in enumerate(self.turns) if turn[1]]
        if self.translated_from is not None:
            self.translated_from = sum(1 for i in kept if i < self.translated_from)
        self.turn_lines = [self.turn_lines[i] for i in kept]
        return [self.turns[i] for i in kept]


def _voice_translation(
    turns: list[tuple[str, list[str]]], start: int | None
) -> list[tuple[str, list[str]]]:
    """Give a kept translation section's turns to the speakers of the Chinese turns they
    translate: labels are matched by position (the k-th English turn renders the k-th Chinese
    one), each English label taking the Chinese speaker it lines up with most often."""
    if start is None or start >= len(turns):
        return turns
    original, translation = turns[:start], turns[start:]
    pairs: dict[str, Counter[str]] = {}
    for (chinese, _), (english, _) in zip(original, translation, strict=False):
        pairs.setdefault(english, Counter())[chinese] += 1
    known = {speaker for speaker, _ in original}
    voice = {
        label: counts.most_common(1)[0][0] if label not in known else label
        for label, counts in pairs.items()
    }
    return original + [
        (voice.get(speaker, speaker), paragraphs) for speaker, paragraphs in translation
    ]


def _drop_tail_furniture(
    page: _Page, turns: list[tuple[str, list[str]]], walk: _Walk, first_label: int
) -> None:
    """The account name or site chrome after the last answer (`42章经`, `See all posts`): short
    unpunctuated paragraphs that close the last turn and also appear before the dialogue, or
    are a few Latin words."""
    if not turns:
        return
    header = "\n".join(page.cleaned[:first_label])
    paragraphs, starts = turns[-1][1], walk.turn_lines[-1]
    if len(paragraphs) > 1 and paragraphs[-1].endswith(("：", ":")):
        paragraphs.pop()  # `…的危害識別資料：` over pictures that are not read: an editor's line
        if starts[len(paragraphs) :] and starts[-1] >= 0:
            page.fate[starts[-1]] = AFTER
        del starts[len(paragraphs) :]
    run = 0
    while run + 1 < len(paragraphs):
        last = paragraphs[-1 - run]
        if len(last) > 16 or _SENTENCE_END.search(last):
            break
        run += 1
    tail = paragraphs[len(paragraphs) - run :]
    if not tail or not (
        run >= 2 or any(p in header or re.fullmatch(r"[A-Za-z .&|-]{1,30}", p) for p in tail)
    ):
        return
    del paragraphs[len(paragraphs) - run :]
    for line in starts[len(paragraphs) :]:
        if line >= 0:
            page.fate[line] = AFTER
    del starts[len(paragraphs) :]


def _opening_heading(
    page: _Page, index: int, by_line: dict[int, Label], speakers: set[str]
) -> bool:
    """A section heading just above the first label opens the first chapter (and so do an empty
    `####` or a stray `****` beside it); the summary's and the dialogue's own headings
    (内容导读, 访谈全文, 以下为对话) do not."""
    line = page.lines[index]
    text = heading_text(line)
    if text is not None:
        title = clean_text(text)
        if not title:
            return True
        if line.lstrip().startswith("#") and not line.lstrip().startswith("##"):
            return False  # a `#` heading before the dialogue is a title
        if not reads_as_title(title):
            return False
    elif furniture_kind(line, page.cleaned[index]) in ("symbols", "separator"):
        return True
    else:
        title = _section_title(page, index, by_line, speakers)
        if not title:
            return False
    return not (_SUMMARY_HEADINGS.search(title) or _DIALOGUE_HEADINGS.search(title))


def _section_title(page: _Page, index: int, by_line: dict[int, Label], speakers: set[str]) -> str:
    """The title a line gives when it is a section heading: a bold line that reads as a title,
    or a short plain phrase between two turns, followed by a turn or another heading line
    (a pull quote is followed by more of its turn). "" when the line is not one."""
    raw = page.lines[index]
    if furniture_kind(raw, page.cleaned[index]):
        return ""
    text = bold_text(raw)
    if text:
        if not reads_as_title(text) or _names_someone(raw, speakers):
            return ""
    elif _plain_heading(page, index, by_line):
        text = page.cleaned[index]
    else:
        return ""
    following = _next_content(page, index)
    if following is None:
        return ""
    after = page.lines[following]
    if following in by_line or heading_text(after) is not None:
        return text
    return text if reads_as_title(bold_text(after)) else ""


def _names_someone(raw: str, speakers: set[str]) -> bool:
    """`**A：Geoffrey Hinton**`, `**陳：陳美齡**`: a who's-who line, not a title."""
    label = candidate(0, raw)
    return label is not None and (
        label.name in speakers or label.name in QA_NAMES or looks_like_person(label.name)
    )


def _plain_heading(page: _Page, index: int, by_line: dict[int, Label]) -> bool:
    """A short plain phrase alone between paragraphs, after a finished sentence of a turn, a
    heading or a caption; never right under a picture (that is its caption) or a label (that
    is a short answer)."""
    lines = page.lines
    if (
        not reads_as_plain_title(page.cleaned[index])
        or heading_text(lines[index]) is not None
        or "![" in lines[index]  # the words beside a picture are its caption
    ):
        return False
    if index + 1 < len(lines) and lines[index + 1].strip():
        return False
    before = _previous_content(page, index)
    if before is None or before == index - 1 or before in by_line or ends_in_picture(lines[before]):
        return False
    return bool(
        _SENTENCE_END.search(page.cleaned[before])
        or heading_text(lines[before]) is not None
        or _is_aside(page, before)
    )


def _previous_content(page: _Page, index: int) -> int | None:
    return next((i for i in range(index - 1, -1, -1) if page.lines[i].strip()), None)


def _next_content(page: _Page, index: int) -> int | None:
    """The next line with words on it (pictures, rules and stray marks skipped)."""
    for following in range(index + 1, len(page.lines)):
        line = page.lines[following]
        if line.strip() and not (
            is_image(line)
            or furniture_kind(line, page.cleaned[following]) in ("symbols", "separator")
        ):
            return following
    return None


def _is_aside(page: _Page, index: int) -> bool:
    """A caption under a picture, or the second line of a promotion (`点击「在看」` /
    `是对我们最大的鼓励`): a short line standing alone right after one of them."""
    text = page.cleaned[index]
    if len(text) > 30 or (index + 1 < len(page.lines) and page.lines[index + 1].strip()):
        return False
    before = index - 1
    while before >= 0 and not page.lines[before].strip():
        before -= 1
    if before < 0 or before == index - 1 and not is_image(page.lines[before]):
        return False
    if _SENTENCE_END.search(text) and not re.match(r"^(?:图|△|▲|↑|上图|下图)", text):
        return False
    return ends_in_picture(page.lines[before]) or bool(PROMO.search(page.cleaned[before]))


def _left_out(page: _Page) -> tuple[LeftOut, ...]:
    """Runs of intro, after-dialogue and translation lines; counts of the scattered kinds."""
    result: list[LeftOut] = []
    for what in (INTRO, AFTER, TRANSLATION):
        indices = [i for i, fate in enumerate(page.fate) if fate == what]
        if not indices:
            continue
        sample = next((page.cleaned[i] for i in indices if len(page.cleaned[i]) > 8), "")
        result.append(LeftOut(what, indices[0] + 1, indices[-1] + 1, len(indices), sample[:40]))
    for what in (ENGLISH, FURNITURE, CARDS, HIDDEN):
        indices = [
            i
            for i, fate in enumerate(page.fate)
            if fate == what and page.lines[i].strip() or fate == what == HIDDEN
        ]
        if indices:
            sample = next((page.cleaned[i] for i in indices if page.cleaned[i]), "")
            result.append(LeftOut(what, indices[0] + 1, indices[-1] + 1, len(indices), sample[:40]))
    return tuple(result)
