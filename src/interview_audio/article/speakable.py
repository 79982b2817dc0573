"""The speakability check: text that should never reach a voice, found before any audio is made.

The parser removes markup, links and furniture, but articles keep finding new ways to smuggle
them in, and a script.yaml can be edited by hand. So every turn is checked once more, by what
a listener would hear: web, domain-like and path-like addresses, e-mail addresses and
@handles, URL or query fragments, percent-encoding, Markdown or HTML left over,
control characters, long runs of Latin letters and digits without a space (hashes, tokens,
base64), and speakers with one or two turns whose name looks like an account, app or
publisher rather than a person. `script` prints the findings, `render` prints them before
synthesis and `render --strict` refuses to start while there are any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from interview_audio.article.script import Script

# Each check: a kind (what the listener would hear), and the pattern that finds it.
CHECKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "a URL",
        re.compile(
            r"(?:https?|ftp)://\S*|www\.\S+|"
            r"(?<![A-Za-z0-9.@_-])(?:[A-Za-z0-9-]+\.)+(?:com|cn|net|org|io|pro|ai|me|app|hk|tw|uk|us|co"
            r"|edu|gov|info|tv|fm|cc|xyz|dev)(?:\.[a-z]{2})?(?![A-Za-z0-9-])(?:[/#?]\S*)?",
            re.IGNORECASE,
        ),
    ),
    ("an e-mail address", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")),
    ("an @handle", re.compile(r"(?<![A-Za-z0-9_@.])@[A-Za-z0-9_\u3400-\u9fff]{2,}")),
    (
        "a file path",
        re.compile(
            r"(?<![A-Za-z0-9.~])(?:\.{1,3}|~)?/(?:[\w.-]*[A-Za-z][\w.-]*/)+[\w.-]*|"
            r"(?<![A-Za-z0-9_.-])[A-Za-z0-9_-]+\.(?:md|html?|php|txt|json|ya?ml|pdf)(?![A-Za-z0-9])"
        ),
    ),
    ("a URL query", re.compile(r"[?&][A-Za-z_][A-Za-z0-9_.-]*=[!-'*-~]*")),
    ("percent-encoding", re.compile(r"(?:%[0-9A-Fa-f]{2})+")),
    (
        "Markdown",
        re.compile(r"\*\*|__|~~|!\[|\]\(|\[[^\]]*\]\[|^#{1,6}\s|^>\s|`|\\[*_\[\]()#]", re.M),
    ),
    ("HTML", re.compile(r"</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>|&(?:[A-Za-z]+|#\d+|#x[\da-fA-F]+);")),
    ("template markup", re.compile(r"\{\{.*?\}\}|\{%.*?%\}")),
    ("a control character", re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029]")),
    ("a long run of Latin letters without spaces", re.compile(r"[A-Za-z0-9_+/=.\-]{28,}")),
)

# A name that is an organisation, not a person: publications, accounts, apps, sites.
_ACCOUNT = re.compile(
    r"App|APP|公众号|视频号|小程序|官方|日报|晚报|周刊|杂志|新闻|科技|资讯|传媒|媒体|网$|"
    r"\.com|\.cn|Park|Media|News|Daily|Weekly|Magazine|TV|FM|Podcast|播客|频道|电台|出品|编辑部",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Unspeakable:
    """One thing that should not be spoken: where (turn index from 0, or None for a speaker
    finding), who, what kind, and the offending text."""

    turn: int | None
    speaker: str
    kind: str
    text: str

    def __str__(self) -> str:
        where = f"turn {self.turn} ({self.speaker})" if self.turn is not None else self.speaker
        return f"{where}: {self.kind}: {self.text!r}"


def looks_like_account(name: str) -> bool:
    """A name that is an organisation's (publication, account, app, site), not a person's."""
    return bool(_ACCOUNT.search(name))


def check_script(script: Script) -> tuple[Unspeakable, ...]:
    """Every finding in the script's turns, in turn order, then the speaker findings."""
    found: list[Unspeakable] = []
    for index, turn in enumerate(script.turns):
        seen: set[tuple[str, str]] = set()
        for paragraph in turn.paragraphs:
            for kind, pattern in CHECKS:
                for match in pattern.finditer(paragraph):
                    text = _excerpt(paragraph, match)
                    if (kind, text) not in seen:
                        seen.add((kind, text))
                        found.append(Unspeakable(index, turn.speaker, kind, text))
    for speaker in script.speakers:
        turns = script.turn_count(speaker.name)
        if 0 < turns <= 2 and looks_like_account(speaker.name):
            found.append(
                Unspeakable(
                    None,
                    speaker.name,
                    f"a speaker with {turns} turn{'s' if turns > 1 else ''} whose name looks "
                    "like an account, app or publisher",
                    speaker.name,
                )
            )
    return tuple(found)


def _excerpt(text: str, match: re.Match[str], limit: int = 60) -> str:
    found = match.group(0)
    return found if len(found) <= limit else found[: limit - 1] + "…"
