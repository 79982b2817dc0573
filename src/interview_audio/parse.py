"""Parse an interview article into a `Script`.

Chinese interviews come in many shapes (WeChat markdown, plain `名字：` transcripts, 问/答,
Q/A). The parser works in two passes: first every line that *could* be a speaker label is
collected, then only names that behave like speakers (they recur, look like names, are not
headings, credits or captions) are accepted, and the dialogue is read with them. Everything
that is not dialogue (images, links, promotions, footers) is dropped so it is never spoken.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from interview_audio.errors import InputError, ParseError
from interview_audio.script import Heading, Meta, Role, Script, Speaker, Topic, Turn, name_key

log = logging.getLogger(__name__)

LABEL_STYLES = (
    "**名字：**正文",
    "**名字**：正文",
    "名字：正文",
    "**名字** alone on its own line",
    "问：/答：",
    "Q:/A:",
)

# --- reading bytes ---------------------------------------------------------------------------


def read_text(path: Path) -> str:
    """Read a text file whatever its encoding, or raise InputError saying what to do."""
    if not path.exists():
        raise InputError(f"{path}: no such file. Check the path and try again.")
    if path.is_dir():
        raise InputError(f"{path} is a directory. Pass the article's text file instead.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror}).") from exc
    return decode(data, str(path))


def decode(data: bytes, name: str = "input") -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK; never guess silently."""
    if not data.strip():
        raise InputError(f"{name} is empty. Pass an article with a title and the dialogue.")
    if data.startswith(b"\xef\xbb\xbf"):
        text = _strict(data[3:], "utf-8", name)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _strict(data, "utf-16", name)
    elif b"\x00" in data:
        raise InputError(
            f"{name} looks like a binary file, not text. Pass the article as a .txt or .md file."
        )
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                text = ""
            if not text or not _plausible_chinese(text):
                raise InputError(
                    f"{name} is neither UTF-8 nor GB18030/GBK text (bad byte at {exc.start}). "
                    "Save it as UTF-8 and try again."
                ) from None
            log.info("%s decoded as GB18030", name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _control_share(text) > 0.01:
        raise InputError(
            f"{name} looks like a binary file, not text. Pass the article as a .txt or .md file."
        )
    return text


def _strict(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name} has bytes that are not valid {encoding.upper()} (at byte {exc.start}). "
            "Save it as UTF-8 and try again."
        ) from None


def _plausible_chinese(text: str) -> bool:
    """GB18030 decodes almost anything; accept it only when the result reads as Chinese text."""
    sample = text[:20000]
    good = sum(
        1
        for ch in sample
        if ch.isascii() or "\u4e00" <= ch <= "\u9fff" or ch in "，。：；！？“”、（）《》"
    )
    return good / max(len(sample), 1) > 0.9


def _control_share(text: str) -> float:
    sample = text[:20000]
    bad = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\n\t")
    return bad / max(len(sample), 1)


# --- cleaning text for speech-safe display ----------------------------------------------------

_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)")
_URL = re.compile(r"(?:https?://|www\.)[^\s，。；！？、）)\]】>\"“”]+", re.IGNORECASE)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!&~|<>])")
_EMPHASIS = re.compile(r"[*`]+|~~")
_UNDERSCORE = re.compile(r"_{2,}|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_BULLET = re.compile(r"^\s*(?:[-*+•·]\s+)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]\s+|\d{1,3}[.)、]\s*|[一二三四五六七八九十]{1,3}、)")
_QUOTE = re.compile(r"^\s*(?:>\s*)+")
_SPACES = re.compile(r"[ \t\u00a0\u3000\u2002-\u200a\u202f\u205f]+")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\ufe0e\ufe0f]")
_CJK = r"\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_WHITESPACE = re.compile(r"\s+")


def _drop_space_near_cjk(match: re.Match[str]) -> str:
    """Chinese text has no spaces between words; a space beside a Chinese character is noise."""
    text, start, end = match.string, match.start(), match.end()
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if _CJK_CHAR.match(before) or _CJK_CHAR.match(after):
        return ""
    return " "


def _symbol_class() -> str:
    """A regex class of every 'Symbol, other' code point (emoji, dingbats, arrows, shapes) in
    the BMP plus the emoji planes: built once, because a per-character check is slow."""
    ranges: list[tuple[int, int]] = []
    for cp in range(0x2000, 0x10000):
        if unicodedata.category(chr(cp)) == "So":
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    ranges.append((0x1F000, 0x1FAFF))
    return "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


_EMOJI = re.compile(f"[{_symbol_class()}\u2190-\u21ff\u25a0-\u25ff\u3030\u303d]+")


def clean_text(text: str) -> str:
    """Strip markdown, links, URLs and emoji from display text, keeping what a person says."""
    text = _INVISIBLE.sub("", text)
    if "](" in text:
        text = _LINK.sub(r"\1", _IMAGE.sub("", text))
    if "://" in text or "www." in text.lower():
        text = _URL.sub("", text)
    if "\\" in text:
        text = _ESCAPE.sub(r"\1", text)
    if "&" in text:
        text = html.unescape(text)
    text = _EMPHASIS.sub("", text)
    if "_" in text:
        text = _UNDERSCORE.sub("", text)
    text = _EMOJI.sub("", text)
    text = _SPACES.sub(" ", text).strip()
    text = _WHITESPACE.sub(_drop_space_near_cjk, text)
    return text.strip()


# --- what is not dialogue -----------------------------------------------------------------------

_PROMO = re.compile(
    r"公众号|星标|设.{0,2}标|扫码|二维码|长按|阅读原文|点个?[赞在]|在看|转发给|"
    r"欢迎关注|关注我们|加入.{0,6}群|商务合作|投稿|免责声明|版权声明|未经授权"
)
_FOOTER = re.compile(
    r"^(?:参考资料|参考链接|参考文献|资料来源|原文链接|原始内容|来源|Source)\s*[:：]", re.IGNORECASE
)
_END_HEADINGS = re.compile(
    r"往期|推荐阅读|相关阅读|延伸阅读|精选文章|历史文章|热门文章|END\b|参考资料"
)
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


def _is_noise(raw: str, cleaned: str) -> bool:
    """Lines that must never be spoken: images, bare links, promotions, footers, rules."""
    stripped = raw.strip()
    if _IMAGE.fullmatch(stripped) or re.fullmatch(r"[-=_*]{3,}", stripped):
        return True
    if _LINK.fullmatch(_LIST_ITEM.sub("", stripped)) or _URL.fullmatch(stripped):
        return True
    if _EMOJI.match(stripped.lstrip("*# ")) and len(cleaned) < 80:
        return True
    if len(cleaned) < 80 and _PROMO.search(cleaned):
        return True
    return bool(_FOOTER.match(cleaned))


# --- speaker labels -----------------------------------------------------------------------------

_COLON = r"\s*[:：]\s*"
_BOLD_COLON_IN = re.compile(rf"^\*\*\s*(?P<name>[^*\n:：]{{1,40}}?){_COLON}\*\*\s*(?P<rest>.*)$")
_BOLD_COLON_OUT = re.compile(rf"^\*\*\s*(?P<name>[^*\n:：]{{1,40}}?)\s*\*\*{_COLON}(?P<rest>.*)$")
_BOLD_WHOLE = re.compile(
    rf"^\*\*\s*(?P<name>[^*\n:：]{{1,40}}?){_COLON}(?P<rest>[^*\n]+?)\s*\*\*\s*(?P<tail>.*)$"
)
_BOLD_ALONE = re.compile(r"^\*\*\s*(?P<name>[^*\n:：]{1,40}?)\s*\*\*$")
_PLAIN = re.compile(rf"^(?P<name>[^\s*#>:：\[!\-+][^*:：\n]{{0,39}}?){_COLON}(?P<rest>.*)$")

_NOT_NAMES = re.compile(
    r"来源|题图|图片|图源|配图|编辑|作者|排版|校对|责编|翻译|编译|出品|策划|备注|参考|链接|原文|"
    r"声明|提示|时间|地点|发布|日期|导读|观点|要点|总结|背景|简介|介绍|关键词|标签|免责|版权|说明|"
    r"附录|目录|前言|引言|结语|编者按|划重点|本期|注意|重点|结论|答案|例如|比如|补充|更新|小结|"
    r"首先|其次|最后|总之|另外|其中|包括|原因|理由|问题\d*$|第.{1,3}[部章节点]|^注$|^PS$|^Note$",
    re.IGNORECASE,
)
_VERB_END = re.compile(
    r"(?:说|道|表示|认为|指出|称|提到|回答|强调|解释|透露|坦言|写道|问道|补充道)$"
)
_PAREN = re.compile(r"[（(]([^）)]*)[）)]")
_HOST_HINT = re.compile(
    r"主持|记者|采访|提问|编辑部|Host|Interviewer|Moderator|^问$|^Q$", re.IGNORECASE
)
_GUEST_HINT = re.compile(r"嘉宾|受访|^答$|^A$|Guest", re.IGNORECASE)
_QA_NAMES = {"问": "主持人", "Q": "主持人", "答": "嘉宾", "A": "嘉宾"}


@dataclass(frozen=True)
class _Label:
    line: int
    name: str
    hint: str
    style: str
    rest: str


def _normalize_name(raw: str) -> tuple[str, str] | None:
    """Return (display name, role hint) when `raw` looks like a person's label, else None."""
    name = _SPACES.sub(" ", clean_text(raw)).strip()
    hint = ""
    paren = _PAREN.search(name)
    if paren:
        hint = paren.group(1).strip()
        name = _PAREN.sub("", name).strip() or hint
    if name.upper() in ("Q", "A"):
        name = name.upper()
    if not name or len(name) > 24:
        return None
    if re.search(r"[。，,！!？?；;、\"“”‘’《》\[\]【】<>/\\|=+*#@$%^&~`]", name):
        return None
    latin_words = re.findall(r"[A-Za-z]+", name)
    cjk = sum(1 for ch in name if "\u3400" <= ch <= "\u9fff")
    if cjk > 12 or len(latin_words) > 4 or (cjk and len(latin_words) > 2):
        return None
    if re.fullmatch(r"[\d\s.]+", name) or re.search(r"\d{3,}", name):
        return None
    if _NOT_NAMES.search(name) or _VERB_END.search(name):
        return None
    return name, hint


def _candidate(line_no: int, raw_line: str) -> _Label | None:
    """A label-shaped line: the name it would introduce and the text after it."""
    line = _QUOTE.sub("", _SPACES.sub(" ", _INVISIBLE.sub("", raw_line))).strip()
    if not line or _BULLET.match(raw_line) or re.match(r"^\s*\d{1,3}[.)、]\s", raw_line):
        return None
    for style, pattern in (
        ("bold", _BOLD_COLON_IN),
        ("bold", _BOLD_COLON_OUT),
        ("whole", _BOLD_WHOLE),
        ("alone", _BOLD_ALONE),
        ("plain", _PLAIN),
    ):
        match = pattern.match(line)
        if not match:
            continue
        normalized = _normalize_name(match.group("name"))
        if normalized is None:
            return None
        rest = match.group("rest") if "rest" in match.groupdict() else ""
        if rest.startswith("//"):
            return None
        if style == "whole":
            rest = f"{rest} {match.group('tail')}".strip()
        return _Label(line_no, normalized[0], normalized[1], style, rest.strip())
    return None


def _confirm_speakers(labels: list[_Label]) -> dict[str, str]:
    """Decide which label names are speakers; map every accepted variant to its canonical name.

    A shorter name contained in a longer one (奥特曼 in 山姆·奥特曼) is the same person, so
    variants are grouped first. A group is a speaker when it recurs as a label; a one-off bold
    label counts when at least two other speakers use bold labels too (a third guest who
    speaks once). 问/答 and Q/A only count in pairs.
    """
    counts = Counter(label.name for label in labels)
    keys = {name: name_key(name) for name in counts}
    names = sorted(counts, key=lambda n: (-len(keys[n]), -counts[n], n))
    group: dict[str, str] = {}
    for name in names:
        key = keys[name]
        group[name] = next(
            (
                longer
                for longer in names
                if group.get(longer) == longer
                and len(key) >= 2
                and key != keys[longer]
                and key in keys[longer]
            ),
            name,
        )
    totals: Counter[str] = Counter()
    bold_totals: Counter[str] = Counter()
    for label in labels:
        totals[group[label.name]] += 1
        bold_totals[group[label.name]] += label.style == "bold"
    speakers = {name for name, count in totals.items() if count >= 2}
    qa = speakers & set(_QA_NAMES)
    if qa and not ({"问", "答"} <= qa or {"Q", "A"} <= qa):
        speakers -= qa
    bold_speakers = {name for name in speakers if bold_totals[name]}
    for name, count in totals.items():
        if count == 1 and bold_totals[name] == 1 and len(bold_speakers) >= 2:
            speakers.add(name)
    return {name: target for name, target in group.items() if target in speakers}


def _roles(
    order: list[str], hints: dict[str, str], turns: list[tuple[str, list[str]]]
) -> dict[str, Role]:
    """Host by an explicit hint (主持人, 记者, 问, Q), else the speaker who asks most."""
    roles: dict[str, Role] = {}
    for name in order:
        text = f"{name} {hints.get(name, '')}"
        if _HOST_HINT.search(name) or _HOST_HINT.search(hints.get(name, "")):
            roles[name] = Role.HOST
        elif _GUEST_HINT.search(text):
            roles[name] = Role.GUEST
    if Role.HOST not in roles.values():
        unassigned = [name for name in order if name not in roles]
        if unassigned:

            def question_share(name: str) -> float:
                spoken = [paras for speaker, paras in turns if speaker == name and paras]
                asked = sum(1 for paras in spoken if re.search(r"[？?]\s*$", paras[-1]))
                return asked / max(len(spoken), 1)

            host = max(unassigned[:2], key=lambda n: (question_share(n), -order.index(n)))
            roles[host] = Role.HOST
    for name in order:
        roles.setdefault(name, Role.GUEST)
    return roles


# --- the article ---------------------------------------------------------------------------------

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s*(.*?)\s*#*\s*$")
_NUMBER_ONLY = re.compile(r"^(?:\d{1,3}|[一二三四五六七八九十]{1,3}|第.{1,3}[部章节])[.、)）:：]?$")
_TOPIC_ITEM = re.compile(
    r"^\s*(?:\d{1,3}[.)、]|[-*+•]|[一二三四五六七八九十]{1,3}、)\s*(?P<body>.+)$"
)
_TOPIC_BOLD = re.compile(r"^\*\*\s*(?P<title>[^*]+?)\s*[:：]?\s*\*\*\s*[:：]?\s*(?P<text>.*)$")
_TOPIC_PLAIN = re.compile(r"^(?P<title>[^:：。]{2,40})[:：]\s*(?P<text>.+)$")
_SENTENCE_END = re.compile(r"[。！？!?…”」』）)]$")


def parse_article(text: str, name: str = "input") -> Script:
    """Parse article text into a Script; raise ParseError when no dialogue can be found."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    labels = [label for i, line in enumerate(lines) if (label := _candidate(i, line))]
    canonical = _confirm_speakers(labels)
    by_line = {label.line: label for label in labels if label.name in canonical}
    if len(set(canonical.values())) == 0:
        raise ParseError(
            f"{name}: no speaker labels found. Looked for: {', '.join(LABEL_STYLES)}. "
            "Mark each turn with the speaker's name and a colon at the start of a line, "
            "e.g. '主持人：…' and '嘉宾：…'."
        )
    meta = _meta(lines[: min(by_line)], name)
    topics = _topics(lines, first_label=min(by_line))
    turns, headings, hints = _dialogue(lines, by_line, canonical)
    if not turns:
        raise ParseError(
            f"{name}: speaker labels were found but no dialogue text follows them. "
            "Put each turn's text after its label."
        )
    order = list(dict.fromkeys(speaker for speaker, _ in turns))
    roles = _roles(order, hints, turns)
    aliases: dict[str, list[str]] = {speaker: [] for speaker in order}
    for variant, target in canonical.items():
        if variant != target and target in aliases:
            aliases[target].append(variant)
    speakers = tuple(
        Speaker(
            _QA_NAMES.get(n, n),
            roles[n],
            tuple(sorted(aliases[n] + ([n] if n in _QA_NAMES else []))),
        )
        for n in order
    )
    return Script(
        meta=meta,
        speakers=speakers,
        turns=tuple(Turn(_QA_NAMES.get(s, s), roles[s], tuple(p)) for s, p in turns),
        topics=topics,
        headings=headings,
    )


def read_article(path: Path) -> Script:
    return parse_article(read_text(path), str(path))


def _meta(lines: list[str], name: str) -> Meta:
    title = ""
    found: dict[str, str] = {}
    for line in lines:
        heading = _HEADING.match(line)
        if heading and heading.group(1) == "#" and not title:
            title = clean_text(heading.group(2))
            continue
        if heading and len(heading.group(1)) >= 2:
            break
        match = _META_LINE.match(clean_text(line) if "http" not in line else line.strip())
        if not match:
            continue
        key, value = match.group(1).strip("* "), match.group(2).strip("* ")
        for field_name, pattern in _META_KEYS:
            if pattern.match(key) and field_name not in found:
                url = _URL.search(value)
                found[field_name] = url.group(0) if field_name.endswith("url") and url else value
    if not title:
        title = next(
            (
                clean_text(line)
                for line in lines
                if clean_text(line) and len(clean_text(line)) <= 80
            ),
            Path(name).stem,
        )
    date = found.get("date", "")
    iso = re.match(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})", date)
    if iso:
        date = f"{int(iso.group(1)):04d}-{int(iso.group(2)):02d}-{int(iso.group(3)):02d}"
    return Meta(
        title=title,
        author=clean_text(found.get("author", "")),
        date=date,
        location=clean_text(found.get("location", "")),
        source_url=found.get("source_url", ""),
        cover_url=found.get("cover_url", ""),
    )


def _topics(lines: list[str], first_label: int) -> tuple[Topic, ...]:
    """Numbered items under a summary heading (内容导读, 划重点, 本期要点 …) before the dialogue."""
    topics: list[Topic] = []
    inside = False
    for line in lines[:first_label]:
        heading = _HEADING.match(line)
        bold_heading = re.fullmatch(r"\s*\*\*([^*]{1,20})\*\*\s*[:：]?\s*", line)
        title = ""
        if heading and heading.group(1) != "#":
            title = heading.group(2)
        elif bold_heading:
            title = bold_heading.group(1)
        if title:
            inside = bool(_SUMMARY_HEADINGS.search(title)) and not topics
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
    return tuple(topics)


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


def _dialogue(
    lines: list[str], by_line: dict[int, _Label], canonical: dict[str, str]
) -> tuple[list[tuple[str, list[str]]], tuple[Heading, ...], dict[str, str]]:
    """Walk from the first label to an end marker, building turns, paragraphs and headings."""
    turns: list[tuple[str, list[str]]] = []
    headings: list[Heading] = []
    hints: dict[str, str] = {}
    pending_heading: list[str] = []
    block = ""  # the paragraph being built (raw lines joined, cleaned at the end)

    def flush() -> None:
        nonlocal block
        cleaned = clean_text(block)
        if turns and cleaned and re.search(r"\w", cleaned):
            paragraphs = turns[-1][1]
            if paragraphs and re.match(r"^[。，、；：！？…）)”」]", cleaned):
                paragraphs[-1] += cleaned
            else:
                paragraphs.append(cleaned)
        block = ""

    def add_heading(title: str) -> None:
        title = clean_text(title).strip(":： ")
        if not title:
            return
        if pending_heading and _NUMBER_ONLY.match(pending_heading[-1]):
            pending_heading[-1] = title
        else:
            pending_heading.append(title)

    start = min(by_line)
    while start > 0 and (not lines[start - 1].strip() or _opening_heading(lines[start - 1])):
        start -= 1
    previous_blank = True
    for index in range(start, len(lines)):
        raw = lines[index]
        stripped = raw.strip()
        if not stripped:
            flush()
            previous_blank = True
            continue
        heading = _HEADING.match(raw)
        if heading and heading.group(2):
            flush()
            if _END_HEADINGS.search(heading.group(2)):
                break
            add_heading(heading.group(2))
            previous_blank = True
            continue
        if re.fullmatch(r"[-=]{3,}", stripped) and block and not previous_blank:
            title, block = block, ""
            add_heading(title)
            continue
        label = by_line.get(index)
        if label:
            flush()
            speaker = canonical[label.name]
            if label.hint:
                hints.setdefault(speaker, label.hint)
            for title in pending_heading:
                headings.append(Heading(title, len(turns)))
            pending_heading.clear()
            turns.append((speaker, []))
            block = label.rest
            previous_blank = False
            continue
        cleaned = clean_text(raw)
        if _is_noise(raw, cleaned):
            flush()
            previous_blank = True
            continue
        alone = _BOLD_ALONE.match(stripped)
        if alone and previous_blank and _is_heading_line(lines, index, by_line):
            flush()
            add_heading(alone.group("name"))
            continue
        if _END_HEADINGS.fullmatch(cleaned.strip(":： ")) and len(cleaned) < 12:
            flush()
            break
        if (
            block
            and _SENTENCE_END.search(clean_text(block))
            and not re.match(r"^\s*(?:\*\*\s*)?[。，、；：！？…）)”」]", raw)
        ):
            flush()
        block = _join(block.rstrip(), stripped) if block else stripped
        previous_blank = False
    flush()
    return [turn for turn in turns if turn[1]], tuple(headings), hints


def _opening_heading(line: str) -> bool:
    """A section heading just above the first label opens the first chapter; the summary's
    and the dialogue's own headings (内容导读, 访谈全文) do not."""
    heading = _HEADING.match(line)
    if not heading or len(heading.group(1)) < 2:
        return False
    title = heading.group(2)
    return not (_SUMMARY_HEADINGS.search(title) or _DIALOGUE_HEADINGS.search(title))


def _is_heading_line(lines: list[str], index: int, by_line: dict[int, _Label]) -> bool:
    """A bold line alone is a heading when it stands as its own block and a label or another
    heading follows; otherwise it is emphasis inside a paragraph (the seed's `**…**\\n。`)."""
    text = clean_text(lines[index])
    if not text or _SENTENCE_END.search(text) and not _NUMBER_ONLY.match(text):
        return False
    following = next((i for i in range(index + 1, len(lines)) if lines[i].strip()), None)
    if following is None:
        return False
    if following == index + 1 and not _BOLD_ALONE.match(lines[following].strip()):
        return False
    return (
        following in by_line
        or bool(_BOLD_ALONE.match(lines[following].strip()))
        or bool(_HEADING.match(lines[following]))
    )
