"""Markdown, HTML and template markup turned into plain text a voice can read.

Articles arrive as Markdown written by exporters (Cubox, WeChat-to-Markdown tools, blogs,
transcript sites) that mix in HTML, Hugo shortcodes and YAML front matter. markdown-it-py reads
the structure: link destinations with parentheses (Cubox's `filters:no_upscale()?imageUrl=…`
image URLs, which a regex cut at the first `)`), images inside links, escapes, entities,
inline HTML and code spans, setext titles and HTML blocks. Emphasis markers it cannot pair are
removed afterwards: CommonMark does not close `**名字：**正文` (the closing `**` sits between CJK
punctuation and a letter), a known CJK case, and exporters leave stray `**` on lines of their own.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from dataclasses import dataclass

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

_INLINE = MarkdownIt("commonmark")
_BLOCKS = MarkdownIt("commonmark").disable("inline")

# Characters that are never spoken: C0/C1 controls (except newline and tab), zero-width and
# direction marks, soft hyphen, variation selectors and the BOM.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\ufe0e\ufe0f\ufeff]"
)
_SHORTCODE = re.compile(r"\{\{[<%].*?[%>]\}\}")
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{\{\s*[<%][^{}]*$")
_URL = re.compile(r"(?:https?://|www\.)[^\s，。；！？、）)\]】>\"“”]+", re.IGNORECASE)
_DOMAIN = re.compile(r"^(?:https?://)?(?:[\w-]+\.)+[a-z]{2,}(?:/\S*)?$", re.IGNORECASE)
_QUERY = re.compile(r"(?:[?&][A-Za-z_][A-Za-z0-9_.\-]*=[!-'*-~]*)+")
_BROKEN_IMAGE = re.compile(r"!\[[^\]\n]*\](?:\([^)\n]*\)?)?")
_BROKEN_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)?")
_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2}){2,}")
_TAG = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>|<\s*/\s*[A-Za-z][\w:-]*\s*>|<!--.*?-->")
# What is left of a tag that something else broke (`</· FIN ·details>`, a lone `</`): angle
# brackets around Latin are never speech.
_TAG_DEBRIS = re.compile(r"<[/!A-Za-z][^<>。，！？；\n]{0,60}>|<(?=[/!A-Za-z])/?")
_EMPHASIS = re.compile(r"[*`]+|~~")
_DASHES = re.compile(r"-{3,}")
_UNDERSCORE = re.compile(r"_{2,}|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_SPACES = re.compile(r"[ \t\u00a0\u3000\u2002-\u200a\u202f\u205f]+")
_CJK = r"\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_WHITESPACE = re.compile(r"\s+")
_MARKUP_SIGNS = re.compile(r"[\[<&\\`!]")


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


EMOJI = re.compile(f"[{_symbol_class()}\u2190-\u21ff\u25a0-\u25ff\u3030\u303d]+")


def strip_invisible(text: str) -> str:
    """Remove control, zero-width and direction characters (a voice would choke or skip)."""
    return _INVISIBLE.sub("", text)


def strip_markup_noise(line: str) -> str:
    """A raw line without invisible characters and template shortcodes (`{{< … >}}`), so
    labels inside Hugo shortcodes are seen where the reader sees them."""
    line = strip_invisible(line)
    return _SHORTCODE.sub("", line) if "{{" in line else line


def _drop_space_near_cjk(match: re.Match[str]) -> str:
    """Chinese text has no spaces between words; a space beside a Chinese character is noise."""
    text, start, end = match.string, match.start(), match.end()
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if _CJK_CHAR.match(before) or _CJK_CHAR.match(after):
        return ""
    return " "


def _inline_text(tokens: list[Token]) -> str:
    """The readable text of markdown-it inline tokens: images, HTML and URL-like link texts
    are dropped, link texts and code spans kept, emphasis markers gone."""
    parts: list[str] = []
    link_depth = 0
    link_start = 0
    for token in tokens:
        kind = token.type
        if kind == "text" or kind == "code_inline":
            parts.append(token.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif kind == "link_open":
            link_depth += 1
            link_start = len(parts)
        elif kind == "link_close":
            link_depth = max(link_depth - 1, 0)
            label = "".join(parts[link_start:]).strip()
            if not label or _DOMAIN.match(label) or _URL.match(label):
                del parts[link_start:]
        elif kind == "html_inline" and re.match(r"<br\b", token.content, re.IGNORECASE):
            parts.append(" ")
    return "".join(parts)


@functools.lru_cache(maxsize=4096)
def clean_text(text: str) -> str:
    """What a person says in `text`: no markup, links, URLs, query strings, percent-encoding,
    emoji, control characters or stray emphasis, and no spaces beside Chinese characters."""
    text = _SHORTCODE.sub("", strip_invisible(text))
    if "%" in text:
        text = _PERCENT.sub("", text)
    if _MARKUP_SIGNS.search(text):
        tokens = _INLINE.parseInline(text)
        text = _inline_text(tokens[0].children or []) if tokens else text
        if "<" in text:
            text = _TAG.sub("", text)
    elif "&" in text:
        text = html.unescape(text)
    if "://" in text or "www." in text.lower():
        text = _URL.sub("", text)
    if "=" in text:
        text = _QUERY.sub("", text)
    if "](" in text or "![" in text:  # what is left of malformed images and links
        text = _BROKEN_LINK.sub(r"\1", _BROKEN_IMAGE.sub("", text)).replace("![", "")
    # After emphasis: stars inside a tag or a shortcode (`<**/details>`, `{**{< x >}}`) hid it.
    text = _strip_templates_and_tags(_EMPHASIS.sub("", text))
    if "---" in text:
        text = _DASHES.sub("——", text)  # Cubox writes a Chinese dash as a run of hyphens
    if "_" in text:
        text = _UNDERSCORE.sub("", text)
    text = EMOJI.sub("", text)
    text = _SPACES.sub(" ", text).strip()
    text = _WHITESPACE.sub(_drop_space_near_cjk, text)
    return text.strip()


def _strip_templates_and_tags(text: str) -> str:
    if "{{" in text or "}}" in text or "{%" in text:
        text = _SHORTCODE.sub("", text)
        text = _TEMPLATE.sub("", text).replace("{{", "").replace("}}", "")
    while "<" in text:  # until nothing is left: removing `<br/>` can close `</<br/>details>`
        stripped = _TAG.sub("", text)
        if stripped == text:
            break
        text = stripped
    if "<" in text:
        text = _TAG_DEBRIS.sub("", text)
    return text


def only_links(text: str) -> bool:
    """True when a line holds nothing but images and links (a gallery, a related-articles
    list, an exporter's source line), so it is furniture even if link texts remain."""
    stripped = _SHORTCODE.sub("", strip_invisible(text)).strip()
    if "](" not in stripped and not _URL.search(stripped):
        return False
    tokens = _INLINE.parseInline(stripped)
    children = tokens[0].children or [] if tokens else []
    depth = 0
    for token in children:
        if token.type == "link_open":
            depth += 1
        elif token.type == "link_close":
            depth -= 1
        elif token.type == "text" and depth == 0:
            rest = _URL.sub("", token.content)
            if re.search(r"\w", _EMPHASIS.sub("", rest)):
                return False
    return True


# --- front matter and block structure -----------------------------------------------------------


def front_matter(lines: list[str]) -> tuple[dict[str, str], int]:
    """YAML front matter (`---` … `---` at the very top) as strings, and how many lines it
    covers; ({}, 0) when there is none or it is not a mapping."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    end = next((i for i in range(1, min(len(lines), 200)) if lines[i].strip() == "---"), None)
    if end is None:
        return {}, 0
    try:
        data = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError:
        return {}, end + 1
    if not isinstance(data, dict):
        return {}, end + 1
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str | int | float)}, end + 1


@dataclass(frozen=True)
class Blocks:
    """The article's lines after block-level clean-up, and what was dropped where."""

    lines: list[str]
    hidden: frozenset[int]  # lines of collapsed HTML (<details>), scripts, styles, comments
    code: frozenset[int]  # lines of fenced code
    captions: frozenset[int] = frozenset()  # lines of HTML figures (<figure>, <figcaption>)


# Setext underlines, HTML blocks and code fences: without any, the block pass changes nothing.
_BLOCK_SIGNS = re.compile(r"^ {0,3}(?:(?:=+|-+)[ \t]*$|<[A-Za-z!/?]|```|~~~)", re.M)
_FIGURE = re.compile(r"<(?:figure|figcaption|img)\b", re.IGNORECASE)
_HIDDEN_HTML = re.compile(r"^\s*<(?:details|script|style|summary|!--)", re.IGNORECASE)


def normalize_blocks(lines: list[str]) -> Blocks:
    """Setext headings become `#` headings (so `Title\\n====` is a title, never a label); HTML
    blocks become their text, except collapsed ones (`<details>`, scripts, comments), which
    are dropped; fenced code is dropped."""
    out = list(lines)
    hidden: set[int] = set()
    code: set[int] = set()
    captions: set[int] = set()
    text = "\n".join(lines)
    if not _BLOCK_SIGNS.search(text):
        return Blocks(out, frozenset(), frozenset())  # nothing block-level to rewrite
    for token in _BLOCKS.parse(text):
        if token.map is None:
            continue
        first, last = token.map
        if token.type == "heading_open" and token.markup in ("=", "-"):
            text = " ".join(line.strip() for line in lines[first : last - 1])
            out[first] = f"{'#' if token.markup == '=' else '##'} {text}"
            for index in range(first + 1, last):
                out[index] = ""
        elif token.type == "html_block":
            _html_block(lines, out, range(first, last), hidden, captions)
        elif token.type == "fence":
            code.update(range(first, last))
            for index in range(first, last):
                out[index] = ""
    return Blocks(out, frozenset(hidden), frozenset(code), frozenset(captions))


def _html_block(
    lines: list[str], out: list[str], span: range, hidden: set[int], captions: set[int]
) -> None:
    """A collapsed block is dropped; any other becomes its text, and a figure's lines are
    remembered as captions (read for who is who, never spoken as a turn)."""
    if _HIDDEN_HTML.match(lines[span.start]):
        hidden.update(span)
        for index in span:
            out[index] = ""
        return
    if _FIGURE.search("\n".join(lines[span.start : span.stop])):
        captions.update(span)
    for index in span:
        out[index] = html.unescape(_TAG.sub("", lines[index]))


# --- language --------------------------------------------------------------------------------

_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_HAN = re.compile(r"[\u3400-\u9fff]")


def is_latin_prose(text: str, words: int = 4) -> bool:
    """A sentence in a Latin-script language with no Chinese in it (an English original or
    translation inside a Chinese article): at least `words` words, or two words and a
    sentence end (`Thank you.`, `INTERVIEWER: Okay.`)."""
    if _HAN.search(text):
        return False
    count = len(_LATIN_WORD.findall(text))
    return count >= words or (count >= 2 and bool(re.search(r"[.?!]\W*$", text)))


def han_count(text: str) -> int:
    return len(_HAN.findall(text))


def latin_words(text: str) -> int:
    return len(_LATIN_WORD.findall(text))


def latin_letters(text: str) -> int:
    return sum(len(word) for word in _LATIN_WORD.findall(text))
