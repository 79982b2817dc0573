"""Section headings: which lines of an article title the part of the conversation after them.

Exporters write a section title in many ways: a Markdown heading (`## …`, sometimes an empty
`####` with the title on the next line), a bold line (` **5000 天后的世界**` with a stray space,
` **01.** **三位导演是怎么入行的？**` in several bold runs, `****1.****` then
`****单口喜剧让我学会接受****`, a bold title with a picture glued to it), or a short plain line
between two turns. What makes any of them a heading is the same: it reads as a title (short, no
sentence inside it, though it may ask a question) and it stands between turns, so what follows
it is a new turn or another heading line. A bold sentence inside a turn (a pull quote,
`**答案是：我们并不知道。**`) is followed by more of the turn and stays speech; a Markdown heading
that holds a whole answer (`#### 陳：梗係唔係啦……`) is speech too. `parse` decides where a line
stands; this module says what the line itself looks like.
"""

from __future__ import annotations

import re

from interview_audio.article.markup import clean_text

# A title is at most this long; a plain (not bold) line between turns at most PLAIN_MAX_CHARS,
# and at least PLAIN_MIN_CHARS (shorter ones are interjections: 好的, 对).
MAX_TITLE_CHARS = 40
PLAIN_MAX_CHARS = 30
PLAIN_MIN_CHARS = 5

NUMBER_ONLY = re.compile(
    r"^(?:\d{1,3}|[一二三四五六七八九十]{1,3}|第.{1,3}[部章节]|part\s*\d{1,2})[.、)）:：]?$",
    re.IGNORECASE,
)
MARKDOWN_HEADING = re.compile(r"^\s{0,3}(#{1,6})(?=\s|$)\s*(.*?)\s*#*\s*$")
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)?")
_SENTENCE_INSIDE = re.compile(r"[。！!？?；;…]")
_QUESTION_END = re.compile(r"[？?]+[”」』\"]?$")
_CLOSING_COLON = re.compile(r"[:：]$")
_PLAIN_PUNCTUATION = re.compile(r"[。！!？?；;…:：“”\"「」#]|\.\.")


def bold_text(line: str) -> str:
    """The text of a line made only of bold runs (stray spaces, empty `****` runs and pictures
    around them allowed); "" for any other line."""
    stripped = _IMAGE.sub("", line).strip()
    if len(stripped) < 5 or not (stripped.startswith("**") and stripped.endswith("**")):
        return ""
    return clean_text(stripped)


def reads_as_title(text: str) -> bool:
    """Short, with no sentence inside it and no colon at its end (that introduces what follows);
    one question is allowed (`未来，银行会被取代吗？`), and so is a number alone (`01.`)."""
    text = text.strip()
    if not text or len(text) > MAX_TITLE_CHARS or not re.search(r"\w", text):
        return False
    if NUMBER_ONLY.match(text):
        return True
    body = _QUESTION_END.sub("", text)
    return not _SENTENCE_INSIDE.search(body) and not _CLOSING_COLON.search(body)


def reads_as_plain_title(text: str) -> bool:
    """A plain line between turns is a title only when it is plainly not speech: a short phrase
    with no sentence punctuation, colon or quotation at all."""
    text = text.strip()
    return (
        PLAIN_MIN_CHARS <= len(text) <= PLAIN_MAX_CHARS
        and not _PLAIN_PUNCTUATION.search(text)
        and bool(re.search(r"[\u3400-\u9fff]", text))
    )


def heading_text(line: str) -> str | None:
    """The text of a Markdown heading line ("" for an empty `####`), None for other lines."""
    match = MARKDOWN_HEADING.match(line)
    return match.group(2) if match else None


def unheaded(line: str) -> str:
    """A Markdown heading that does not read as a title (`#### 陳：我團火未熄，…。`) is a
    paragraph someone says: the line without its `#` marks; any other line as it is."""
    text = heading_text(line)
    if text and not reads_as_title(clean_text(text)):
        return text
    return line
