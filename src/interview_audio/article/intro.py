"""The editorial introduction: what the article says before the first turn, for the narrator.

The lead paragraphs of an interview say who the guest is and why this conversation; without
them a listener meets two voices and no names. They are read cleaned of everything a page shows
around them: captions (under a picture, beside it, in a `<figcaption>`), bylines (`文 | 孙雅兰`,
`主笔｜苗千`), credits and promotions, who's-who lines (`嘉宾：Chang She`), titles and headings,
lists and tables, and the deck or epigraph above a byline when the text proper follows it. What
is left is prose: paragraphs that end a sentence (or long ones that lost their full stop).

`--intro short` (the default) reads a brief: the whole introduction when it is short, else the
sentences from the first one that names a speaker or the conversation (专访, 对话 …), within
SHORT_CHARS; `--intro full` reads all of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from interview_audio.article.furniture import ends_in_picture, furniture_kind
from interview_audio.article.headings import heading_text
from interview_audio.article.markup import clean_text, is_latin_prose
from interview_audio.article.script import Script, name_key
from interview_audio.words import boundaries

# The short reading: about 40 seconds at the narrator's pace (4.8 characters a second).
SHORT_CHARS = 200
# A paragraph without a full stop at its end is still prose when it is at least this long.
PROSE_CHARS = 80
# A paragraph that ends in a colon introduces what follows (她讲述了这样一个合作经历：); a short one
# introduces the dialogue (以下为对话：) and is not read.
COLON_CHARS = 12
CAPTION_CHARS = 60

_QUOTE = re.compile(r"^\s*(?:>\s*)+")
_LIST = re.compile(r"^\s*(?:[-*+]\s+|[•・·]|\d{1,2}[.)、]\s+|[①-⑳]|\|)")
_SENTENCE_END = re.compile(r"[。！？!?…；;][’”」』）)\]*]*$")
_COLON_END = re.compile(r"[:：]$")
_BYLINE = re.compile(
    r"(?:^|[\s|｜丨/／])(?:文|图|作者|主笔|撰文|采写|采访|访谈|记者|編輯|编辑|责编|策划|出品|整理|"
    r"口述|翻译|编译|摄影|视觉|嘉宾|主持|受访者)\s*[丨｜|/／:：]"
)
# What is left where a link was: `原始内容参考：https://…` → `原始内容参考：`.
_DANGLING = re.compile(r"(?<=[。！？!?])[^。！？!?]{1,12}[:：]$")
# An editor's note after the last sentence: `（为了方便阅读，作者进行了文本优化）`.
_EDITOR_NOTE = re.compile(
    r"(?<=[。！？!?])\s*[（(][^（）()]*(?:编|删|优化|整理|阅读|注|译)[^（）()]*[）)]$"
)
_SENTENCES = re.compile(r"[^。！？!?…；;]+(?:[。！？!?…；;]+[’”」』）)\"']*|$)")
_CONVERSATION = re.compile(
    r"对话|對話|专访|專訪|采访|採訪|访谈|訪談|访问|訪問|受访|受訪|做客|嘉宾|嘉賓|群访|"
    r"聊了|聊聊|接受.{0,16}(?:采|採|访|訪)"
)


def editorial_intro(
    lines: Sequence[str], source: Sequence[str], indices: Sequence[int], title: str
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The introduction's paragraphs from `indices` (the lines before the dialogue that no
    other part of the article claimed, in order), and the lines they come from.

    `lines` are the article's lines as the parser reads them, `source` the same lines before
    HTML blocks became text (a `<figcaption>` is a caption).
    """
    paragraphs: list[tuple[str, list[int]]] = []
    bylines: list[int] = []
    previous = -2
    for index in indices:
        raw = lines[index]
        text = clean_text(_QUOTE.sub("", raw))
        if _BYLINE.search(text) and len(text) <= 40 and not _SENTENCE_END.search(text):
            bylines.append(index)
            previous = -2
            continue
        if not text or _not_prose(lines, source, index, text):
            previous = -2
            continue
        if paragraphs and previous == index - 1 and not _SENTENCE_END.search(paragraphs[-1][0]):
            joined = paragraphs[-1][0]
            gap = " " if joined[-1:].isascii() and text[:1].isascii() else ""
            paragraphs[-1] = (joined + gap + text, [*paragraphs[-1][1], index])
        else:
            paragraphs.append((text, [index]))
        previous = index
    if bylines:  # a deck or an epigraph above the byline, the article proper below it
        after = [p for p in paragraphs if p[1][0] > bylines[-1]]
        if any(_is_prose(text) for text, _ in after):
            paragraphs = after
    kept: list[tuple[str, list[int]]] = []
    for text, used in paragraphs:
        text = _EDITOR_NOTE.sub("", _DANGLING.sub("", text)).strip()
        if not _is_prose(text) or text in title or any(text in other for other, _ in kept):
            continue
        kept.append((text, used))
    if kept and _COLON_END.search(kept[-1][0]):
        kept.pop()  # `以下为对话：`, `主要观点如下：`: it introduces what is not read here
    return tuple(text for text, _ in kept), tuple(i for _, used in kept for i in used)


def _not_prose(lines: Sequence[str], source: Sequence[str], index: int, text: str) -> bool:
    """Headings, furniture, lists, tables, English and captions."""
    raw = lines[index]
    return bool(
        heading_text(raw) is not None
        or furniture_kind(raw, text)
        or _LIST.match(raw)
        or is_latin_prose(text)
        or "<figcaption" in source[index]
        or _is_caption(lines, index, text)
    )


def _is_caption(lines: Sequence[str], index: int, text: str) -> bool:
    """Words beside a picture, or a short line under one."""
    raw = lines[index]
    if raw.lstrip().startswith(("![", "[![", "**![")):
        return True
    before = next((i for i in range(index - 1, -1, -1) if lines[i].strip()), None)
    return (
        before is not None
        and ends_in_picture(lines[before])
        and len(text) <= CAPTION_CHARS
        and len(_SENTENCES.findall(text)) <= 1
    )


def _is_prose(text: str) -> bool:
    if len(text) < 8:
        return False
    if _COLON_END.search(text):
        return len(text) >= COLON_CHARS
    return bool(_SENTENCE_END.search(text)) or len(text) >= PROSE_CHARS


def brief(script: Script, limit: int = SHORT_CHARS) -> tuple[str, ...]:
    """What `--intro short` reads: all of the introduction when it fits in `limit` characters;
    else the sentence that best says who is talking (it names a speaker and the conversation:
    `菲尔茨奖得主吴宝珠教授在2019年接受了本刊专访`) with what follows it, and, while there is
    room, the introduction's opening sentences before it. Whole sentences, in the article's
    order; a single sentence longer than `limit` is cut at a comma."""
    paragraphs = script.intro
    if sum(len(p) for p in paragraphs) <= limit:
        return paragraphs
    sentences = [
        (number, sentence)
        for number, paragraph in enumerate(paragraphs)
        for sentence in _SENTENCES.findall(paragraph)
        if sentence.strip()
    ]
    names = {
        key
        for speaker in script.speakers
        for name in (speaker.name, *speaker.aliases)
        if len(key := name_key(name)) >= 2
    }

    def says_who(sentence: str) -> int:
        named = any(name in name_key(sentence) for name in names)
        return 2 * named + bool(_CONVERSATION.search(sentence))

    scores = [says_who(sentence) for _, sentence in sentences]
    anchor = scores.index(max(scores))
    chosen = [anchor]
    used = len(sentences[anchor][1])
    for position in range(anchor + 1, len(sentences)):
        if used + len(sentences[position][1]) > limit:
            break
        chosen.append(position)
        used += len(sentences[position][1])
    for position in range(anchor):
        if used + len(sentences[position][1]) > limit:
            break
        chosen.append(position)
        used += len(sentences[position][1])
    grouped: dict[int, str] = {}
    for position in sorted(chosen):
        number, sentence = sentences[position]
        if len(chosen) == 1 and len(sentence) > limit:
            sentence = _clip(sentence, limit)
        grouped[number] = grouped.get(number, "") + sentence
    return tuple(grouped.values())


def _clip(sentence: str, limit: int) -> str:
    """A sentence too long for the brief, up to its last comma within `limit`."""
    cut = max(sentence.rfind(mark, 0, limit) for mark in "，、,；")
    if cut <= 0:
        cut = max(b for b in boundaries(sentence) if b <= limit) or limit
    return sentence[:cut].rstrip("，、,；") + "。"
