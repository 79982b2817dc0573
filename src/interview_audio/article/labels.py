"""Speaker labels: which lines start a turn and who speaks.

Two passes: every line that *could* be a label is collected first (`candidate`), then only
names that behave like speakers are accepted (`confirm_speakers`): they recur, look like names,
are not headings, credits, captions, bylines or title fragments. A label's role words (问, Q,
`王芳（主持人）`) and its style (a whole bold question) are kept for `speakers`, which decides
who hosts and who answers.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from interview_audio.article.markup import clean_text, strip_invisible
from interview_audio.article.script import name_key

LABEL_STYLES = (
    "**名字：**正文",
    "**名字**：正文",
    "名字：正文",
    "**名字** alone on its own line",
    "问：/答：",
    "Q:/A:",
    "说话人1 00:03 / 【说话人0】 (speech recognition)",
)

_COLON = r"\s*[:：]\s*"
_NAME = r"(?P<name>[^*\n:：]{1,40}?)"
_BOLD_COLON_IN = re.compile(rf"^\*\*\s*{_NAME}{_COLON}\*\*\s*(?P<rest>.*)$")
_BOLD_COLON_OUT = re.compile(rf"^\*\*\s*{_NAME}\s*\*\*(?:\s*\*\*)?{_COLON}(?P<rest>.*)$")
_BOLD_WHOLE = re.compile(rf"^\*\*\s*{_NAME}{_COLON}(?P<rest>[^*\n]+?)\s*\*\*\s*(?P<tail>.*)$")
_BOLD_ALONE = re.compile(r"^\*\*\s*(?P<name>[^*\n:：]{1,40}?)\s*\*\*$")
_PLAIN = re.compile(rf"^(?P<name>[^\s*#>:：\[!\-+|][^*:：\n]{{0,39}}?){_COLON}(?P<rest>.*)$")
_BULLET = re.compile(r"^\s*(?:[-*+•·]\s+)")
# Speech-recognition exports label turns by a numbered speaker, often with a timestamp and
# the text on the following lines: `说话人1 00:03`, `发言人2 12:31`, `【说话人0】…`,
# `Speaker 1 00:00:05`.
_ASR = re.compile(
    r"^\s*(?:[\[(]?\d{1,2}:\d{2}(?::\d{2})?[\])]?\s*)?(?:[-*]\s+)?(?:\*\*)?\s*[【\[]?\s*"
    r"(?P<word>说话人?|說話人?|发言人?|發言人?|讲话人?|講話人?|Speaker|SPEAKER|spk)"
    r"\s*_?(?P<number>\d{1,3})"
    r"(?=\s*[】\]]|\s+[\[(]?\d{1,2}:\d{2}|\s*\*\*|\s*[:：]|\s*$)\s*[】\]]?\s*(?:\*\*)?\s*"
    r"(?:[\[(]?\d{1,2}:\d{2}(?::\d{2})?[\])]?)?\s*(?:\*\*)?\s*[:：]?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_QUOTE = re.compile(r"^\s*(?:>\s*)+")
_SPACES = re.compile(r"[ \t\u00a0\u3000\u2002-\u200a\u202f\u205f]+")

_NOT_NAMES = re.compile(
    r"来源|题图|图片|图源|配图|编辑|作者|排版|校对|责编|翻译|编译|出品|策划|备注|参考|链接|原文|"
    r"声明|提示|时间|地点|发布|日期|导读|观点|要点|总结|背景|简介|介绍|关键词|标签|免责|版权|说明|"
    r"附录|目录|前言|引言|结语|编者按|划重点|本期|本章|本节|本篇|概念|术语|速查|注意|重点|结论|答案|例如|比如|补充|更新|小结|"
    r"首先|其次|最后|总之|另外|其中|包括|原因|理由|问题\d*$|第.{1,3}[部章节点]|^注$|^PS$|^Note$|"
    r"对话|专访|访谈|全文|实录|首发|下载|关注|转载|分割线|^(?:Source|About|Via|From)\b|"
    r"合作|事宜|投稿|咨询|邮箱|郵箱|网址|網址|地址|电话|電話|联系|聯繫|热线|商务|商務|招聘|订阅|訂閱|"
    r"^[(（\[【]",
    re.IGNORECASE,
)
_VERB_END = re.compile(
    r"(?:说|道|表示|认为|指出|称|提到|回答|强调|解释|透露|坦言|写道|问道|补充道|是|的)$|"
    r"(?<=.)(?:问|追问|反问|答)$"
)
_PAREN = re.compile(r"[（(]([^）)]*)[）)]")
_BRACKETS = re.compile(r"^[《「『【“\"](?P<inner>[^《》「」『』【】“”\"]{1,20})[》」』】”\"]$")
QA_NAMES = {"问": "主持人", "問": "主持人", "Q": "主持人", "答": "嘉宾", "A": "嘉宾"}
# A role written into a label before the name (`主持人林晓`): the role, then the person.
_ROLE_PREFIX = re.compile(
    r"^(?P<role>主持人|主持|记者|記者|嘉宾|嘉賓|受访者|受訪者|Host|Guest|Moderator|Interviewer)"
    r"\s*(?P<name>\S.*)$",
    re.IGNORECASE,
)

# The most common Chinese surnames (together well over 85 % of people) and the compound ones:
# a one-off plain `名字：` inside the dialogue is a speaker only when it reads as a person's name,
# so `举个例子：` or `简单来说：` never start a turn.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞"
    "左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧"
    "闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "诸葛",
    "上官",
    "东方",
    "皇甫",
    "令狐",
    "慕容",
    "司徒",
    "夏侯",
)
_LATIN_NAME = re.compile(r"[A-Z][a-z]+(?:[ .-][A-Z][a-z]*\.?){0,2}")


def looks_like_person(name: str) -> bool:
    """A Chinese name (a surname and one or two characters), a transliterated name with a
    middle dot (山姆·奥特曼), or one to three capitalised Latin words (Jensen Huang)."""
    if re.fullmatch(r"[\u3400-\u9fff]{2,4}", name):
        return (
            name[0] in SURNAMES
            and len(name) <= 3
            or name.startswith(COMPOUND_SURNAMES)
            or len(name) == 2
            and name[0] in "小老阿"  # 小周, 老赵, 阿茂: what friends and colleagues are called
        )
    if re.fullmatch(r"[\u3400-\u9fff]+[·・•][\u3400-\u9fff·・•]+", name):
        return True
    return bool(_LATIN_NAME.fullmatch(name))


@dataclass(frozen=True)
class Label:
    """A line that may start a turn: the name it introduces, a role hint from parentheses
    (王芳（主持人）), the label style, the text after the label on the same line, and whether
    it sits in a list item (`- 江：…`), which counts only for a name that labels elsewhere too."""

    line: int
    name: str
    hint: str
    style: str
    rest: str
    listed: bool = False


def asr_name(word: str, number: str) -> str:
    """One spelling for a speech-recognition label: `发言2` misheard for `发言人2` is the same."""
    if re.match(r"[A-Za-z]", word):
        return f"Speaker {int(number)}"
    return f"{word if word.endswith('人') else word + '人'}{int(number)}"


def is_asr_label(name: str) -> bool:
    return bool(re.fullmatch(r"(?:说话人|說話人|发言人|發言人|讲话人|講話人|Speaker )\d+", name))


def normalize_name(raw: str) -> tuple[str, str] | None:
    """Return (display name, role hint) when `raw` looks like a person's label, else None."""
    name = _SPACES.sub(" ", clean_text(raw)).strip()
    hint = ""
    paren = _PAREN.search(name)
    if paren:
        hint = paren.group(1).strip()
        name = _PAREN.sub("", name).strip() or hint
    bracketed = _BRACKETS.match(name)
    if bracketed:  # a publication speaking as itself: 《晚点》, 「暗涌」
        name = bracketed.group("inner").strip()
    if name.upper() in ("Q", "A"):
        name = name.upper()
    prefixed = _ROLE_PREFIX.match(name)
    if prefixed and not hint and looks_like_person(prefixed.group("name").strip()):
        name, hint = prefixed.group("name").strip(), prefixed.group("role")
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


def candidate(line_no: int, raw_line: str) -> Label | None:
    """A label-shaped line: the name it would introduce and the text after it."""
    line = _QUOTE.sub("", _SPACES.sub(" ", strip_invisible(raw_line))).strip()
    if not line or re.match(r"^\s*\d{1,3}[.)、]\s", raw_line):
        return None
    asr = _ASR.match(line)
    if asr:
        name = asr_name(asr.group("word"), asr.group("number"))
        return Label(line_no, name, "", "asr", asr.group("rest").strip())
    listed = bool(_BULLET.match(raw_line))
    if listed:
        line = _BULLET.sub("", line)
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
        normalized = normalize_name(match.group("name"))
        if normalized is None:
            return None
        rest = match.group("rest") if "rest" in match.groupdict() else ""
        if rest.startswith("//"):
            return None
        if style == "whole":
            rest = f"{rest} {match.group('tail')}".strip()
        return Label(line_no, normalized[0], normalized[1], style, rest.strip(), listed)
    return None


def confirm_speakers(labels: list[Label], introduced: str = "") -> dict[str, str]:
    """Decide which label names are speakers; map every accepted variant to its canonical name.

    A shorter name inside a longer one (奥特曼 in 山姆·奥特曼) is the same person when the
    longer one recurs or only adds a short given name; a one-off long fragment that merely
    contains a speaker's name (a title line) does not swallow the speaker. A group is a speaker
    when it recurs as a label; a one-off label counts when at least two other speakers use labels
    of its style (bold, or plain `名字：`) and it reads as a person's name or a part (观众), or,
    for a bold one, the text before the labels introduces it (西川美和); a plain one must come
    after the dialogue has begun (a third guest who speaks once). 问/答 and Q/A only count in
    pairs.
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
                and (counts[longer] >= 2 or len(keys[longer]) - len(key) <= 3)
            ),
            name,
        )
    totals: Counter[str] = Counter()
    bold_totals: Counter[str] = Counter()
    plain_totals: Counter[str] = Counter()
    for label in labels:
        totals[group[label.name]] += 1
        bold_totals[group[label.name]] += label.style in ("bold", "whole")
        plain_totals[group[label.name]] += label.style == "plain"
    speakers = {name for name, count in totals.items() if count >= 2}
    qa = speakers & set(QA_NAMES)
    if qa and not ({"问", "答"} <= qa or {"Q", "A"} <= qa) and not (speakers - qa):
        speakers -= qa
    bold_speakers = {name for name in speakers if bold_totals[name]}
    plain_speakers = {name for name in speakers if plain_totals[name]}
    begun = min((label.line for label in labels if group[label.name] in speakers), default=0)
    introduced = introduced.replace(" ", "")
    for label in labels:
        name = group[label.name]
        if totals[name] != 1:
            continue
        bold_one_off = (
            bold_totals[name] == 1
            and len(bold_speakers) >= 2
            and (_reads_as_speaker(label.name) or len(name) >= 2 and name in introduced)
        )
        if bold_one_off or (
            label.style == "plain"
            and label.rest
            and label.line > begun
            and len(plain_speakers) >= 2
            and looks_like_person(label.name)
        ):
            speakers.add(name)
    return {name: target for name, target in group.items() if target in speakers}


def without_lists(labels: list[Label]) -> list[Label]:
    """Labels in list items count when the name labels turns elsewhere too (`- 江：…` opening
    a transcript), except a list of several of them before the dialogue: a who's who
    (`* **山姆·奥特曼：** 负责OpenAI的整体运营。`). A list item that reads like a phrase
    (`- **Notion 的定义**：…`) is a summary, not a turn."""
    unlisted = {label.name for label in labels if not label.listed}
    first = min((label.line for label in labels if not label.listed), default=0)
    listed_lines = [label.line for label in labels if label.listed]

    def in_a_list(line: int) -> bool:
        return any(0 < abs(line - other) <= 2 for other in listed_lines)

    return [
        label
        for label in labels
        if not label.listed
        or (label.name in unlisted or _reads_as_speaker(label.name))
        and not (label.line < first and in_a_list(label.line))
    ]


_PARTS = re.compile(
    r"^(?:主持人?|记者|記者|采访者|採訪者|提问者?|提問者?|嘉宾|嘉賓|受访者|受訪者|观众|觀眾|听众|聽眾|"
    r"网友|網友|读者|讀者|学员|學員|问|問|答|Q|A|Host|Guest|Moderator|Interviewer|Audience)$",
    re.IGNORECASE,
)


def _reads_as_speaker(name: str) -> bool:
    """A name that speaks once counts only when it is a person's name or a part in the exchange
    (观众, 提问者); a phrase that ends in a colon (`投稿或其他事宜：`, `内容整理：`) is neither."""
    return looks_like_person(name) or bool(_PARTS.match(name)) or is_asr_label(name)


# What may end the text before a label that starts a turn in the middle of a line: a sentence
# end, a closing quote or bracket (`…为什么这么说？”K.K.：因为…`).
_ENDS = "。！？!?…”」』）)】"
# A caption glued to the label after it ends with a noun, never with these (`我问张三：`).
_VERB_TAIL = re.compile(r"[问問说說讲講对對向跟和与與给給叫找请請道称稱告诉訴]$")


@dataclass(frozen=True)
class Inline:
    """A label inside a line: where its marks start in the raw line, where its text starts,
    and the label; `caption` when the text before it is a caption glued to it."""

    start: int
    text_start: int
    label: Label
    caption: bool = False


def inline_labels(line_no: int, raw: str, names: list[str], colon_follows: bool) -> list[Inline]:
    """Labels of known speakers that start turns inside a line: after a sentence end or a
    closing quote, after bold text (`**有同伴是最好的奖励。** **主持人** ：…`), split by bold
    (`**吴宝** **珠：**`), at the line's end when the next line starts with the colon, or after
    a short caption glued to it (`…全家福三联生活周刊：`). Not a label: a name and a colon
    after a verb inside a sentence (`我问张三：`)."""
    view: list[str] = []
    where: list[int] = []
    for index, char in enumerate(raw):
        if char == "*" or char.isspace():
            continue
        view.append(char)
        where.append(index)
    text = "".join(view)
    found: list[Inline] = []
    taken: list[tuple[int, int]] = []
    for name in sorted(set(names), key=len, reverse=True):
        key = re.sub(r"\s+", "", name)
        at = text.find(key)
        while at >= 0:
            end = at + len(key)
            clash = any(a < end and at < b for a, b in taken)
            with_colon = end < len(text) and text[end] in "：:"
            at_end = end == len(text) and colon_follows
            if not clash and (with_colon or at_end):
                opening = not text[:at].strip("#>")  # at the start, or after `####`
                glued = not opening and _glued_caption(text[:at], key, found)
                if opening or text[at - 1] in _ENDS or glued:
                    start = where[at]
                    while start > 0 and (raw[start - 1] == "*" or raw[start - 1].isspace()):
                        start -= 1
                    text_start = where[end] + 1 if with_colon else len(raw)
                    label = Label(line_no, name, "", "inline", "")
                    found.append(Inline(start, text_start, label, glued))
                    taken.append((at, end + 1))
            at = text.find(key, end)
    found.sort(key=lambda item: item.start)
    return [
        Inline(
            item.start,
            item.text_start,
            Label(
                line_no,
                item.label.name,
                "",
                "inline",
                raw[item.text_start : found[i + 1].start if i + 1 < len(found) else len(raw)],
            ),
            item.caption,
        )
        for i, item in enumerate(found)
    ]


def _glued_caption(before: str, name: str, found: list[Inline]) -> bool:
    """A picture's caption that an exporter glued to the next label: short, without
    punctuation, at the start of the line, not ending in a verb."""
    return (
        bool(before)
        and not found
        and len(name) >= 2
        and len(before) <= 40
        and not re.search(r"[，,。！？!?；;：:、]", before)
        and not _VERB_TAIL.search(before)
    )


def single_alone_labels(labels: list[Label]) -> set[int]:
    """Lines of `**名字**`-alone labels whose name is alone-labelled only once: a byline
    (`**腾讯科技徐昙**`) or an account card's name, not a speaker's turn."""
    alone = Counter(name_key(label.name) for label in labels if label.style == "alone")
    return {
        label.line for label in labels if label.style == "alone" and alone[name_key(label.name)] < 2
    }
