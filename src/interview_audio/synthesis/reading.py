"""Reading aloud: turn a paragraph's display text into what an engine should say.

Engines read digits, signs and Latin codes each in their own, often wrong, way (misaki reads the
hyphen of ``GPT-4`` as 负, years come out as cardinals). So before any engine sees a line, numbers
are written out as Chinese numerals read the Chinese way, signs and units become words, and the
user's lexicon from voices.yaml is applied. Every engine then says the same thing.

`to_speech` applies the lexicon first (so keys match what the user sees in the article), then the
rules in `RULES`, in order. The order matters: specific readings (dates, years, times, percents,
money, codes such as ``H100``) must claim their digits before the general number rule does.

1. fullwidth   ０-９ ％ ＄ become ASCII, so one set of rules covers both.
2. emoji       removed; so are stage directions in brackets (（笑）, (掌声), （停顿一下）,
               （想了很久）): they describe the moment, they are not words to say. Captions and
               the page keep them, as the article wrote them.
3. multiply    ``3×4``, ``1920x1080`` -> 乘 (before markdown drops the ``*``).
4. markdown    ``*``, ``#``, `````, ``_`` residue removed (``_`` between letters -> space).
5. slash       ``/`` between Chinese characters -> 或 (before numbers become Chinese).
6. ampersand   ``&`` -> 和.
7. thousands   ``1,000,000`` -> ``1000000``.
8. date        ``2024-12-04``, ``2024/12/04``, ``2024.12.04`` -> 二零二四年十二月四日.
9. year        four digits starting with 1 or 2 before 年 are read digit by digit (二零二五年,
               二零零零年代), also as a range (2023-2025年).
10. padded     a zero-padded month, day or clock figure (04日, 08点) loses its zeros.
11. time       ``10:30`` -> 十点三十分, ``07:04:05`` -> 七点零四分零五秒.
12. ratio      ``16:9`` (not a time) -> 十六比九.
13. percent range  ``10%-20%``, ``10-20%`` -> 百分之十到百分之二十.
14. money      ``$100`` -> 一百美元, ``$7.6B`` -> 七十六亿美元, ``$100万`` -> 一百万美元,
               ``¥50``/``￥50`` -> 五十元, ``€``, ``£``, ``HK$``; ranges ``$1-2B``.
15. code       digits glued to a Latin letter (optionally through a hyphen) are a name or a
               version, not a quantity: read one by one. ``GPT-4`` -> GPT四, ``H100`` -> H一零零,
               ``o1`` -> o一, ``GPT-3.5`` -> GPT三点五. The hyphen is dropped, never read as 负.
16. version    a dotted chain ``17.1.2``, ``192.168.1.1``: each part read as a number when it has
               one or two digits, otherwise digit by digit; parts joined with 点.
17. digit chain  three or more hyphenated digit groups, or two with a zero-led first group
               (phone numbers: 010-1234, 138-1234-5678) -> digit by digit.
18. range      ``3-5天``, ``3~5``, ``1.5—2倍`` -> 到 between the numbers.
19. negative   a minus sign at the start, after a space or after punctuation, right before a
               digit -> 负 (``-5度`` -> 负五度). Nowhere else.
20. approx     ``~`` right before a number (not after one) -> 约.
21. percent    ``20%`` -> 百分之二十, ``3.5%`` -> 百分之三点五, ``5‰`` -> 千分之五.
22. units      after a number: km 公里, km/h 公里每小时, kg 千克, cm 厘米, mm 毫米, nm 纳米,
               ml 毫升, ℃/°C 摄氏度, ℉/°F 华氏度, ° 度, a glued x 倍 (``10x`` -> 十倍). Units
               Chinese listeners say as letters (GB, TB, MB, GHz, W, B, K, G) stay as letters;
               only their number is read.
23. number     every remaining number: integers as cardinals (1570 -> 一千五百七十, 10 -> 十),
               decimals with 点 and digit-by-digit fractions, zero-led figures (007) and figures
               longer than 16 digits digit by digit. 2 is 两 before a measure word (两个, 两倍,
               两万) unless after 第; a leading 2 of 千/万/亿 is 两 (2000 -> 两千).
24. tilde      any leftover ``~`` is dropped.
25. spaces     runs of spaces collapse to one; the ends are stripped.

After these rules no ASCII digit is left in the text. Acronyms (AGI, API, GPU) and mixed words
(OpenAI, ChatGPT) are left for the engine to spell or read; text without digits changes only by
the lexicon and symbol cleanup (emoji, markdown, ``&``, ``/``, ``~``, spaces).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

log = logging.getLogger(__name__)

Replacer = Callable[[re.Match[str]], str]


@dataclass(frozen=True)
class Rule:
    """One rewrite: every match of `pattern` is replaced by what `replace` returns for it."""

    name: str
    pattern: re.Pattern[str]
    replace: Replacer


# ---------------------------------------------------------------- reading numbers

_DIGITS = "零一二三四五六七八九"
_DIGIT_TABLE = str.maketrans({**{str(i): d for i, d in enumerate(_DIGITS)}, ".": "点"})
_MAX_CARDINAL_DIGITS = 16  # up to 万亿; longer figures are codes, read digit by digit
_SECTION_PLACES = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
# Measure words after which a bare 2 is said 两 (两个, 两倍, 两万), not 二 (二月, 二号, 二楼).
_LIANG_MEASURES = frozenset("个位名种次件条只家台部本张项倍天周年岁点千万亿百")
_LIANG_MEASURES_2 = frozenset({"小时", "分钟"})


def _digit_by_digit(digits: str) -> str:
    """Read each digit on its own (二零二五, H一零零); a dot becomes 点."""
    return digits.translate(_DIGIT_TABLE)


def _section(value: int) -> str:
    """Read 1..9999 with inner zeros said once (一千零五) and trailing zeros silent."""
    out: list[str] = []
    pending_zero = False
    for place, unit in _SECTION_PLACES:
        digit = value // place % 10
        if digit == 0:
            pending_zero = bool(out)
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_DIGITS[digit] + unit)
    return "".join(out)


def _section_unit(index: int, sections: Sequence[int]) -> str:
    if index == 3:
        return "万" if sections[2] else "万亿"
    return ("", "万", "亿")[index]


def _integer(digits: str, *, liang: bool = False) -> str:
    """Read a string of ASCII digits as a Chinese cardinal: 1570 -> 一千五百七十, 10 -> 十.

    With `liang`, a leading 2 of 千/万/亿 and a bare 2 are said 两, as people say them.
    """
    significant = digits.lstrip("0")
    if not significant:
        return "零"
    if len(significant) > _MAX_CARDINAL_DIGITS:
        return _digit_by_digit(digits)
    value = int(significant)
    sections: list[int] = []
    while value:
        sections.append(value % 10000)
        value //= 10000
    parts: list[str] = []
    skipped_zero = False
    top = len(sections) - 1
    for index in range(top, -1, -1):
        section = sections[index]
        if section == 0:
            skipped_zero = True
            continue
        if parts and (skipped_zero or section < 1000):
            parts.append("零")
        parts.append(_section(section) + _section_unit(index, sections))
        skipped_zero = False
    text = "".join(parts)
    if text.startswith("一十"):
        text = text[1:]
    if liang and (text == "二" or text[:2] in ("二千", "二万", "二亿")):
        text = "两" + text[1:]
    return text


def _cardinal(token: str, *, liang: bool = False) -> str:
    """Read an integer or a decimal: 7.6 -> 七点六, 0.5 -> 零点五 (fraction digit by digit)."""
    whole, _, fraction = token.partition(".")
    if fraction:
        return _integer(whole) + "点" + _digit_by_digit(fraction)
    return _integer(whole, liang=liang)


def _takes_liang(following: str) -> bool:
    """Whether a bare 2 followed by `following` is a count said 两 (两个) rather than 二."""
    if following.startswith("年级"):
        return False
    return following[:1] in _LIANG_MEASURES or following[:2] in _LIANG_MEASURES_2


# ---------------------------------------------------------------- replacers, in rule order

_FULLWIDTH_OFFSET = 0xFEE0


def _fullwidth(match: re.Match[str]) -> str:
    return chr(ord(match.group()) - _FULLWIDTH_OFFSET)


def _drop(match: re.Match[str]) -> str:
    return ""


def _multiply(match: re.Match[str]) -> str:
    return "乘"


def _markdown(match: re.Match[str]) -> str:
    """Drop markdown marks; an underscore joining two words becomes a space (snake_case)."""
    return " " if match.group("joiner") else ""


def _slash(match: re.Match[str]) -> str:
    return "或"


def _ampersand(match: re.Match[str]) -> str:
    return "和"


def _thousands(match: re.Match[str]) -> str:
    return match.group().replace(",", "")


def _date(match: re.Match[str]) -> str:
    year = _digit_by_digit(match["year"])
    return f"{year}年{_integer(match['month'])}月{_integer(match['day'])}日"


def _year(match: re.Match[str]) -> str:
    text = _digit_by_digit(match["start"])
    if match["end"]:
        text += "到" + _digit_by_digit(match["end"])
    return text


def _padded(match: re.Match[str]) -> str:
    return _integer(match.group())


def _time(match: re.Match[str]) -> str:
    hour = int(match["hour"])
    minute, second = match["minute"], match["second"]
    text = ("两" if hour == 2 else _integer(match["hour"])) + "点"
    if minute != "00" or second:
        text += _clock_figure(minute) + "分"
    if second:
        text += _clock_figure(second) + "秒"
    return text


def _clock_figure(figure: str) -> str:
    """Minutes and seconds keep their zero: 07:04 -> 七点零四分."""
    if figure.startswith("0") and figure != "00":
        return "零" + _DIGITS[int(figure[1])]
    return _integer(figure)


def _ratio(match: re.Match[str]) -> str:
    return _cardinal(match["a"]) + "比" + _cardinal(match["b"])


def _percent_range(match: re.Match[str]) -> str:
    return "百分之" + _cardinal(match["a"]) + "到百分之" + _cardinal(match["b"])


_CURRENCIES = {
    "$": "美元",
    "US$": "美元",
    "HK$": "港元",
    "¥": "元",
    "￥": "元",
    "€": "欧元",
    "£": "英镑",
}
_SCALES = {
    "K": 3,
    "k": 3,
    "thousand": 3,
    "M": 6,
    "million": 6,
    "B": 9,
    "bn": 9,
    "billion": 9,
    "T": 12,
    "trillion": 12,
}
_MAX_SCALED_DIGITS = 12


def _scaled(token: str, exponent: int) -> str:
    """Apply an English scale exactly (7.6 with B -> 7600000000) so 万/亿 come out right."""
    if exponent == 0 or len(token) > _MAX_SCALED_DIGITS:
        return token
    text = format(Decimal(token).scaleb(exponent), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _money(match: re.Match[str]) -> str:
    """$N and friends: the amount first, then the currency, as Chinese says it (一百美元)."""
    unit = _CURRENCIES[match["cur"]]
    scale = (match["scale"] or "").strip()
    exponent = _SCALES.get(scale, 0)
    chinese_scale = "" if exponent else scale  # 万, 亿 and the like are read as written
    text = _cardinal(_scaled(match["a"], exponent), liang=True)
    if match["b"]:
        text += "到" + _cardinal(_scaled(match["b"], exponent), liang=True)
    if match.string.startswith(unit, match.end()):
        unit = ""
    return text + chinese_scale + unit


def _code(match: re.Match[str]) -> str:
    return _digit_by_digit(match["digits"])


def _version(match: re.Match[str]) -> str:
    """17.1.2 -> 十七点一点二; a part like 168 or 04 is an identifier, said digit by digit."""
    return "点".join(_version_part(part) for part in match.group().split("."))


def _version_part(part: str) -> str:
    if len(part) > 2 or (len(part) == 2 and part.startswith("0")):
        return _digit_by_digit(part)
    return _integer(part)


def _digit_chain(match: re.Match[str]) -> str:
    return " ".join(_digit_by_digit(group) for group in match.group().split("-"))


def _range(match: re.Match[str]) -> str:
    return match["a"] + "到"


def _negative(match: re.Match[str]) -> str:
    return "负"


def _approx(match: re.Match[str]) -> str:
    return "约"


def _percent(match: re.Match[str]) -> str:
    return ("百分之" if match["sign"] == "%" else "千分之") + _cardinal(match["a"])


_UNITS = {
    "km/h": "公里每小时",
    "km": "公里",
    "KM": "公里",
    "kg": "千克",
    "KG": "千克",
    "cm": "厘米",
    "mm": "毫米",
    "nm": "纳米",
    "ml": "毫升",
    "mL": "毫升",
    "℃": "摄氏度",
    "°C": "摄氏度",
    "℉": "华氏度",
    "°F": "华氏度",
    "°": "度",
    "x": "倍",
    "X": "倍",
}


def _unit(match: re.Match[str]) -> str:
    return _UNITS[match["unit"] or match["times"]]


def _number(match: re.Match[str]) -> str:
    """Any number left: a cardinal, except zero-led figures (007), read digit by digit."""
    token = match.group()
    if "." in token:
        return _cardinal(token)
    if len(token) > 1 and token.startswith("0"):
        return _digit_by_digit(token)
    start, end = match.span()
    if match.string[start - 1 : start] == "第":
        return _integer(token)
    liang = token != "2" or _takes_liang(match.string[end : end + 2])
    return _integer(token, liang=liang)


def _space(match: re.Match[str]) -> str:
    return " "


# ---------------------------------------------------------------- the rules

_NUM = r"[0-9]+(?:\.[0-9]+)?"
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_DASH = r"(?:[-–—~～]{1,2}|到|至)"
_CURRENCY = r"(?:US|HK)?\$|[¥￥€£]"
_EMOJI = r"[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u200D\u20E3\U000E0020-\U000E007F]"

_STAGE = (
    r"[（(]\s*(?:全场|现场|观众|众人|两人|双方)?\s*(?:大|苦|轻|微|哈哈)?"
    r"(?:笑声?|掌声|鼓掌|停顿(?:一下|片刻)?|沉默(?:片刻)?|叹气|思考(?:片刻)?|想了(?:很久|一会儿?|想)|"
    r"咳嗽|音乐|视频|画外音|哭)\s*[）)]"
)

RULES: tuple[Rule, ...] = (
    Rule("fullwidth", re.compile(r"[０-９％＄]"), _fullwidth),
    Rule("emoji", re.compile(_EMOJI), _drop),
    Rule("stage", re.compile(_STAGE), _drop),
    Rule("multiply", re.compile(r"(?<=[0-9])\s*[×*xX]\s*(?=[0-9])"), _multiply),
    Rule(
        "markdown",
        re.compile(r"(?<=[A-Za-z0-9])(?P<joiner>_+)(?=[A-Za-z0-9])|[*#`_]+"),
        _markdown,
    ),
    Rule("slash", re.compile(rf"(?<=[{_CJK}])\s*/\s*(?=[{_CJK}])"), _slash),
    Rule("ampersand", re.compile(r"&"), _ampersand),
    Rule("thousands", re.compile(r"(?<![0-9.,])[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])"), _thousands),
    Rule(
        "date",
        re.compile(
            r"(?<![0-9.])(?P<year>[12][0-9]{3})(?P<sep>[-/.])(?P<month>0?[1-9]|1[0-2])"
            r"(?P=sep)(?P<day>0?[1-9]|[12][0-9]|3[01])(?![0-9])"
        ),
        _date,
    ),
    Rule(
        "year",
        re.compile(
            r"(?<![0-9.])(?P<start>[12][0-9]{3})"
            rf"(?:\s*{_DASH}\s*(?P<end>[12][0-9]{{3}}))?(?=\s*年)"
        ),
        _year,
    ),
    Rule("padded", re.compile(r"(?<![0-9.])0+[1-9][0-9]?(?=[月日号时点分秒])"), _padded),
    Rule(
        "time",
        re.compile(
            r"(?<![0-9.:：])(?P<hour>[01]?[0-9]|2[0-4])[:：](?P<minute>[0-5][0-9])"
            r"(?:[:：](?P<second>[0-5][0-9]))?(?![0-9])"
        ),
        _time,
    ),
    Rule("ratio", re.compile(rf"(?<![0-9.])(?P<a>{_NUM}):(?P<b>{_NUM})(?![0-9])"), _ratio),
    Rule(
        "percent range",
        re.compile(rf"(?<![0-9.])(?P<a>{_NUM})\s?%?\s?{_DASH}\s?(?P<b>{_NUM})\s?%"),
        _percent_range,
    ),
    Rule(
        "money",
        re.compile(
            rf"(?P<cur>{_CURRENCY})\s?(?P<a>{_NUM})"
            rf"(?:\s?{_DASH}\s?(?:{_CURRENCY})?\s?(?P<b>{_NUM}))?"
            r"(?P<scale>\s?(?:thousand|million|billion|trillion)(?![A-Za-z])"
            r"|(?:bn|[KkMBT])(?![A-Za-z])|千万|百万|万亿|[千万亿])?"
        ),
        _money,
    ),
    Rule("code", re.compile(r"(?<=[A-Za-z])-?(?P<digits>[0-9]+(?:\.[0-9]+)*)"), _code),
    Rule("version", re.compile(r"(?<![0-9.])[0-9]+(?:\.[0-9]+){2,}(?![0-9])"), _version),
    Rule(
        "digit chain",
        re.compile(r"(?<![0-9A-Za-z.])(?:[0-9]+(?:-[0-9]+){2,}|0[0-9]+-[0-9]+)(?![0-9])"),
        _digit_chain,
    ),
    Rule(
        "range",
        re.compile(
            r"(?<![0-9A-Za-z.])(?P<a>(?:0|[1-9][0-9]*)(?:\.[0-9]+)?)\s*[-–—~～]{1,2}\s*(?=[0-9])"
        ),
        _range,
    ),
    Rule(
        "negative",
        re.compile(r"(?:^|(?<=[\s(（\[【「『“\"'：:，,；;、=<>]))[-−](?=[0-9])"),
        _negative,
    ),
    Rule("approx", re.compile(r"(?<![0-9约])[~～](?=[0-9])"), _approx),
    Rule("percent", re.compile(rf"(?<![0-9.])(?P<a>{_NUM})\s?(?P<sign>[%‰])"), _percent),
    Rule(
        "units",
        re.compile(
            r"(?<=[0-9])(?:\s?(?P<unit>km/h|km|KM|kg|KG|cm|mm|nm|ml|mL|℃|°C|℉|°F|°)"
            r"(?![A-Za-z])|(?P<times>[xX])(?![A-Za-z0-9]))"
        ),
        _unit,
    ),
    Rule("number", re.compile(_NUM), _number),
    Rule("tilde", re.compile(r"[~～]"), _drop),
    Rule("spaces", re.compile(r"[^\S\n]{2,}"), _space),
)


# ---------------------------------------------------------------- public API


def to_speech(text: str, lexicon: Sequence[tuple[str, str]] = ()) -> str:
    """The text an engine should read for one paragraph of display text (see module doc)."""
    text = apply_lexicon(text, lexicon)
    for rule in RULES:
        text = rule.pattern.sub(rule.replace, text)
    return text.strip()


def apply_lexicon(text: str, lexicon: Sequence[tuple[str, str]]) -> str:
    """Replace the user's words (voices.yaml) with how they should be said.

    Longest keys win, matching is case-sensitive, and a key that starts or ends with a Latin
    letter or digit only matches whole words there, so ``AI`` leaves ``OpenAI`` alone.
    A later entry for the same key overrides an earlier one.
    """
    entries = {key: value for key, value in lexicon if key}
    if not entries:
        return text
    pattern = _lexicon_pattern(tuple(sorted(entries, key=len, reverse=True)))
    return pattern.sub(lambda match: entries[match.group()], text)


@functools.lru_cache(maxsize=16)
def _lexicon_pattern(keys: tuple[str, ...]) -> re.Pattern[str]:
    """One alternation, longest key first, so each place gets the longest key that fits."""
    alternatives = []
    for key in keys:
        head = r"(?<![A-Za-z0-9])" if _is_latin(key[0]) else ""
        tail = r"(?![A-Za-z0-9])" if _is_latin(key[-1]) else ""
        alternatives.append(head + re.escape(key) + tail)
    return re.compile("|".join(alternatives))


def _is_latin(char: str) -> bool:
    return char.isascii() and char.isalnum()
