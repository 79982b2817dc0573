"""Who each speaker is: host or guest, man or woman, and the evidence for both.

Casting fits voices to people, so it needs to know who they are, and a user needs to see why
(`interview-audio script` prints the evidence). Nothing here depends on the order in which
people first speak.

Roles, strongest evidence first: a label that says so (主持人, 记者, 问, Q, 嘉宾, 答); the
article's introduction naming the guest (`以下是《晚点》与闫俊杰的对话`, `对话杨植麟：…`,
`王小川接受了我们的访谈`, `嘉宾：Chang She`); the publication asking in whole-bold questions;
then behaviour: the host is whoever asks most (turns ending in a question mark), with shorter
turns breaking ties. A publication or account that speaks without asking (a WeChat account
name over its own promotion) is the narrator's, never a guest.

Gender is unknown unless something says it. Strongest first: `gender:` in a script.yaml the
user edited, or in voices.yaml (applied by `voices`); then the text: 女士/先生 after the name,
女/男 before a job title (女创始人…), 她/他 right after a mention in the introduction or in
another speaker's turn (a speaker's own turns talk about other people); then the given name:
English given names from gender-guesser's dictionary, Chinese ones from the table of given-name
characters below. A generic label (主持人, 嘉宾) borrows the name the article gives it
(`A：Geoffrey Hinton`, `以下为王小川访谈`).
"""

from __future__ import annotations

import functools
import logging
import re
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from interview_audio.article.labels import COMPOUND_SURNAMES, SURNAMES, is_asr_label
from interview_audio.article.script import Gender, Role, Speaker, name_key
from interview_audio.article.speakable import looks_like_account

log = logging.getLogger(__name__)

_HOST_WORDS = re.compile(
    r"主持人?|记者|記者|采访者?|採訪者?|提问者?|提問者?|编辑部|編輯部|观众|觀眾|听众|聽眾|网友|網友|"
    r"读者|讀者|Host|Interviewer|Moderator|Audience|^问$|^問$|^Q$",
    re.IGNORECASE,
)
_GUEST_WORDS = re.compile(r"嘉宾|嘉賓|受访者?|受訪者?|^答$|^A$|Guest", re.IGNORECASE)
# Labels that name a part, not a person (or a group: every reporter at a press conference is
# 記者): they borrow a name from the article when it gives one, and a 他 near them says nothing.
_GENERIC = re.compile(
    r"(?:主持人?|记者|記者|采访者?|採訪者?|提问者?|提問者?|嘉宾|嘉賓|受访者|受訪者|观众|觀眾|听众|聽眾|"
    r"网友|網友|读者|讀者|学员|學員|问|問|答|Q|A|Host|Guest|Interviewer|Moderator|Audience)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Clues:
    """What the parser saw besides the turns.

    `hints`: the role word a speaker's label carries (问, Q, or 主持人 from `王芳（主持人）`);
    `whole_bold`: how many of a speaker's turns are one bold question with its label;
    `named`: the person a generic label stands for (`A：Geoffrey Hinton` → 嘉宾: Geoffrey Hinton);
    `intro`: the title and the text before the dialogue; `account`: the publishing account;
    `aliases`: the other spellings of each speaker's name in the article.
    """

    intro: str = ""
    account: str = ""
    hints: Mapping[str, str] = field(default_factory=dict)
    whole_bold: Mapping[str, int] = field(default_factory=dict)
    named: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, Sequence[str]] = field(default_factory=dict)
    full_names: Mapping[str, str] = field(default_factory=dict)  # name → why, for a label renamed


@dataclass(frozen=True)
class _Talk:
    """How one speaker talks: turns, how many end in a question, characters per turn."""

    turns: int
    asked: int
    lengths: tuple[int, ...]

    @property
    def share(self) -> float:
        return self.asked / self.turns if self.turns else 0.0

    @property
    def median(self) -> int:
        return int(statistics.median(self.lengths)) if self.lengths else 0

    @property
    def spoken(self) -> int:
        return sum(self.lengths)

    def describe(self) -> str:
        turns = f"{self.turns} turn{'s' if self.turns != 1 else ''}"
        return f"asks in {self.asked} of {turns}; median turn {self.median} characters"


_ASKS = re.compile(r"[？?][”」』）)\"'\s]*$")


def identify(
    turns: Sequence[tuple[str, Sequence[str]]], clues: Clues | None = None
) -> tuple[Speaker, ...]:
    """Every speaker of `turns` (name, paragraphs), in order of first turn, with role, gender
    and the evidence for each."""
    clues = clues or Clues()
    order = list(dict.fromkeys(name for name, _ in turns))
    talk = _talks(order, turns)
    people = {name: _person_names(name, clues) for name in order}
    intro_roles = _intro_roles(order, people, clues)
    roles = _roles(order, talk, clues, intro_roles)
    speakers = []
    for name in order:
        role, role_evidence = roles[name]
        gender, gender_evidence = _gender(name, order, people, turns, clues)
        speakers.append(
            Speaker(
                name,
                role,
                tuple(clues.aliases.get(name, ())),
                gender,
                tuple(role_evidence),
                tuple(gender_evidence),
            )
        )
    return tuple(speakers)


def _talks(order: list[str], turns: Sequence[tuple[str, Sequence[str]]]) -> dict[str, _Talk]:
    asked: Counter[str] = Counter()
    lengths: dict[str, list[int]] = {name: [] for name in order}
    for name, paragraphs in turns:
        lengths[name].append(sum(len(p) for p in paragraphs))
        if paragraphs and _ASKS.search(paragraphs[-1]):
            asked[name] += 1
    return {name: _Talk(len(lengths[name]), asked[name], tuple(lengths[name])) for name in order}


# --- roles ---------------------------------------------------------------------------------------


def _roles(
    order: list[str],
    talk: dict[str, _Talk],
    clues: Clues,
    intro_roles: dict[str, tuple[Role, str]],
) -> dict[str, tuple[Role, list[str]]]:
    found: dict[str, Role] = {}
    why: dict[str, list[str]] = {name: [] for name in order}
    for name in order:
        labelled = _label_role(name, clues.hints.get(name, ""))
        if labelled is not None:
            found[name], word = labelled
            why[name].append(f"the label says so ({word})")
        elif name in intro_roles:
            found[name], quote = intro_roles[name]
            why[name].append(f"the introduction names them: {quote}")
    deciding = _Deciding(order, talk, found, why, intro_roles)
    deciding.clear_behaviour()
    bold_askers = [
        name
        for name in order
        if name not in found and clues.whole_bold.get(name, 0) * 2 > talk[name].turns >= 1
    ]
    if bold_askers and len(bold_askers) < len(order):
        for name in bold_askers:
            found[name] = Role.HOST
            why[name].append(
                f"{clues.whole_bold[name]} of {talk[name].turns} turns are a bold question "
                "with its label (the publication asking)"
            )
    open_names = [name for name in order if name not in found]
    if Role.HOST not in found.values() and len(order) > 1 and open_names:
        host = max(open_names, key=lambda n: (talk[n].share, -talk[n].median, -order.index(n)))
        others = [n for n in open_names if n != host]
        if not others or (talk[host].share, -talk[host].median) > max(
            (talk[n].share, -talk[n].median) for n in others
        ):
            found[host] = Role.HOST
            why[host].append("asks most" if talk[host].asked else "shortest turns")
    deciding.co_hosts()
    guests = [name for name in order if found.get(name, Role.GUEST) is Role.GUEST]
    principal = max(guests, key=lambda n: talk[n].spoken, default=None)
    for name in order:
        if name in found:
            continue
        if (
            name != principal
            and talk[name].asked == 0
            and _is_account(name, clues.account)
            and not clues.hints.get(name)
        ):
            found[name] = Role.NARRATOR
            why[name].append(
                "named like an account or publication and asks nothing: read by the narrator"
            )
            continue
        found[name] = Role.GUEST
        why[name].append("answers" if talk[name].share < 0.5 else "not the one who asks most")
    for name in order:
        why[name].append(talk[name].describe())
    return {name: (found[name], why[name]) for name in order}


@dataclass
class _Deciding:
    """Roles being decided: how each speaker talks, the roles found so far with why, and the
    roles the introduction gives."""

    order: list[str]
    talk: dict[str, _Talk]
    found: dict[str, Role]
    why: dict[str, list[str]]
    intro_roles: dict[str, tuple[Role, str]]

    def clear_behaviour(self) -> None:
        """Behaviour this clear outweighs one sentence of the introduction: who asks in nearly
        all of five or more turns while someone else nearly never does is the host, and the
        other way round (an introduction read backwards, `媒体名日前在北京专访甲、乙`)."""
        talk, found = self.talk, self.found
        for name in self.order:
            if name not in self.intro_roles or found.get(name) is not self.intro_roles[name][0]:
                continue
            mine = talk[name]
            others = [talk[o] for o in self.order if o != name and talk[o].turns >= 3]
            if mine.turns < 5:
                continue
            if (
                found[name] is Role.GUEST
                and mine.share >= 0.8
                and any(o.share <= 0.2 for o in others)
            ):
                found[name] = Role.HOST
            elif (
                found[name] is Role.HOST
                and mine.share <= 0.2
                and any(o.share >= 0.8 for o in others)
            ):
                found[name] = Role.GUEST
            else:
                continue
            self.why[name].append(
                f"but asks in {mine.asked} of {mine.turns} turns: behaviour this clear outweighs it"
            )

    def co_hosts(self) -> None:
        """Once the introduction names the guests and the host is the one who asks most, a
        speaker it does not name who asks more than those guests hosts too (a co-host)."""
        order, talk, found, intro = self.order, self.talk, self.found, self.intro_roles
        named = [n for n in order if intro.get(n, (None,))[0] is Role.GUEST and n in found]
        hosts = [n for n in order if found.get(n) is Role.HOST and n not in intro]
        if not named or not hosts:
            return
        most = max(talk[n].share for n in named)
        for name in order:
            if name not in found and talk[name].asked and talk[name].share > most:
                found[name] = Role.HOST
                self.why[name].append(
                    "asks more than the guests the introduction names "
                    f"({', '.join(named)}): a co-host"
                )


def _label_role(name: str, hint: str) -> tuple[Role, str] | None:
    """The role a label's own words give (主持人, 记者, 问, Q; 嘉宾, 答, A), and the word."""
    for role, words in ((Role.HOST, _HOST_WORDS), (Role.GUEST, _GUEST_WORDS)):
        said = words.search(hint) or words.search(name)
        if said:
            return role, said.group(0)
    return None


def _is_account(name: str, account: str) -> bool:
    key = name_key(name)
    return looks_like_account(name) or bool(account and key and key in name_key(account))


# Where an introduction says who is interviewed: `以下为王小川访谈`, `以下是《晚点》与闫俊杰的
# 对话`, `王小川接受了我们的访谈`, `对话月之暗面杨植麟：…`, `蔡崇信访谈：…`, `嘉宾：Chang She`.
_TALK = r"(?:访谈|对话|专访|采访|问答|谈话|实录|群访|交流)"
_GUEST_SLOTS = (
    re.compile(rf"以下(?:为|是)(?P<pair>[^。！？!?\n]{{1,60}}?){_TALK}"),
    re.compile(
        r"(?:^|[，,。！？!?\n])(?P<slot>[^，,。！？!?\n]{2,40}?)接受了?[^。！？!?\n]{0,30}?"
        r"(?:采访|专访|访谈|群访)"
    ),
    re.compile(
        r"(?:^|\n|[｜|])\s*(?:独家|接力)?(?:对话|专访|專訪|访问|訪問)\s*\d*\s*"
        r"(?P<pair>[^：:｜|，,。！？!?\n]{2,30})"
    ),
    # `袁征专访：…`, `…Ivan Zhao 访谈录`: the name before a noun; `X专访Y` (a verb) is below.
    re.compile(
        r"(?:^|\n|[｜|])\s*(?P<pair>[^：:｜|，,。！？!?\n]{2,30}?)(?:最新)?(?:[\d.]+万字)?"
        r"(?:专访|專訪|访谈录|訪談錄|访谈|訪談|对话全文|访谈全文|实录)(?=\s*(?:$|\n|[：:｜|，,。！？!?]))"
    ),
    # `我们采访了…周安平和…赵宏`, `眾新聞專訪三名…支持者：林作、…`: the ones after the verb.
    re.compile(
        r"(?<!接受)(?:专访|專訪|采访|採訪)了?(?P<slot>[^的之，,。！？!?\n][^，,。！？!?\n]{1,59})"
    ),
    re.compile(r"(?:本期|今天的?|今日|这期)嘉宾(?:是|为)?[：:\s]*(?P<slot>[^，,。！？!?\n]{2,30})"),
    re.compile(r"(?:^|\n)[ \t]*嘉宾[ \t]*[：:][ \t]*(?P<slot>[^\n]{2,40})"),
    re.compile(r"我们(?:请到|邀请)了(?P<slot>[^，,。！？!?\n]{2,30})"),
    re.compile(r"(?:嘉宾|他们|她们)(?:分别)?(?:是|为|包括)[：:]?(?P<slot>[^。！？!?\n]{2,120})"),
)
_HOST_SLOTS = (
    re.compile(
        r"(?:^|\n)[ \t]*(?:主持人?|访谈|采访|记者|提问)[ \t]*[：:][ \t]*(?P<slot>[^\n]{2,40})"
    ),
    re.compile(r"主持人\s*(?P<slot>[A-Z][A-Za-z .'-]{1,30}|[\u4e00-\u9fff·]{2,6})"),
    re.compile(r"由(?P<slot>[^，,。！？!?\n]{2,30}?)(?:主持|提问|采访)"),
    # The one before 专访/采访 used as a verb interviews (`媒体名日前在北京专访甲、乙`).
    re.compile(
        r"(?:^|[，,。！？!?\n])(?P<slot>(?:(?!接受|受到)[^，,。！？!?\n]){2,20}?)"
        r"(?:日前|近日|最近|此前)?(?:在[^，,。！？!?\n]{1,10})?(?:专访|專訪|采访|採訪)了?"
        r"(?=[^\s，,。！？!?\n：:｜|的之])"
    ),
)
# A `pair` slot may read "X与Y" (以下是《晚点》与闫俊杰的对话): Y is the guest only when X is
# the publication itself; "黄仁勋与Shantam Jain的对话" says nothing about who asks.
_WITH = re.compile(r"^(?P<x>.*)(?:与|和|跟|同)(?P<y>[^与和跟同]+)$")
_PUBLICATION = re.compile(r"^[《「『【]|^(?:我们|本刊|本台|记者|笔者|作者)")


def _intro_roles(
    order: list[str], people: dict[str, _Person], clues: Clues
) -> dict[str, tuple[Role, str]]:
    """Roles the introduction gives by name, with the words that give them."""
    found: dict[str, tuple[Role, str]] = {}
    for role, patterns in ((Role.GUEST, _GUEST_SLOTS), (Role.HOST, _HOST_SLOTS)):
        for slot, quote in _slots(clues.intro, patterns, clues.account):
            for name in order:
                if name not in found and any(_within(form, slot) for form in people[name].forms):
                    found[name] = (role, quote)
    return found


def _slots(text: str, patterns: tuple[re.Pattern[str], ...], account: str) -> list[tuple[str, str]]:
    """The text each pattern marks as naming someone, with a short quote of where."""
    found = []
    for pattern in patterns:
        for match in pattern.finditer(text):
            named = match.groupdict()
            slot = (named.get("pair") or named.get("slot") or "").strip()
            paired = _WITH.match(slot) if named.get("pair") else None
            if paired:
                publisher = paired.group("x").strip()
                if not (_PUBLICATION.search(publisher) or _is_account(publisher, account)):
                    continue
                slot = paired.group("y")
            found.append((slot, _quote(match.group(0).strip(" \n，,。！？!?"))))
    return found


def _within(form: str, text: str) -> bool:
    key = name_key(form)
    return len(key) >= 2 and key in name_key(text)


def _quote(text: str, limit: int = 36) -> str:
    text = text.replace("\n", " ")
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"


# --- who a speaker is, by name -------------------------------------------------------------------


@dataclass(frozen=True)
class _Person:
    """The ways the article may write one speaker, and for a generic label (嘉宾) where the
    article says who it is."""

    forms: tuple[str, ...]
    names: tuple[str, ...] = ()  # the full names, whose first given name may tell the gender
    links: tuple[str, ...] = ()  # where the article says who a label is


def _person_names(name: str, clues: Clues) -> _Person:
    """The label, its aliases, the person a generic label stands for, and for a name like
    `山姆·奥特曼` the family name alone."""
    forms: list[str] = []
    generic = bool(_GENERIC.fullmatch(name_key(name)))
    if not generic:
        forms += [name]
        forms += [
            alias
            for alias in clues.aliases.get(name, ())
            if not _GENERIC.fullmatch(name_key(alias)) and not is_asr_label(alias)
        ]
        stripped = _GENERIC.sub("", name).strip()
        if stripped and stripped != name:
            forms.append(stripped)  # 主持人王芳 → 王芳
    links = [clues.full_names[name]] if name in clues.full_names else []
    person = clues.named.get(name)
    if person:
        links.append(f"{name} is {person} (who's who before the dialogue)")
    elif generic:
        person, quote = linked(name, clues)
        if person:
            links.append(f"{name} is {person} ({quote})")
    if person:
        forms.append(person)
    for form in list(forms):
        for latin, quote in _latin_names(form, clues.intro):
            forms.append(latin)
            links.append(f"{form} is {latin} ({quote})")
    extra = []
    for form in forms:
        if "·" in form or "•" in form:
            extra.append(re.split(r"[·•]", form)[-1])
        words = form.split()
        if len(words) > 1 and words[-1].isascii() and len(words[-1]) >= 4:
            extra.append(words[-1])  # Geoffrey Hinton → Hinton
    kept = dict.fromkeys(f.strip() for f in forms + extra if len(name_key(f)) >= 2)
    return _Person(tuple(kept), tuple(f for f in kept if f in forms), tuple(links))


def _latin_names(form: str, text: str) -> list[tuple[str, str]]:
    """The Latin spelling an article gives in brackets right after a Chinese name, and where:
    `黄仁勋（Jensen Huang）`, or after a longer name ending in it (布拉德·莱特卡普 for 莱特卡普)."""
    if form.isascii() or len(name_key(form)) < 2:
        return []
    pattern = rf"{re.escape(form)}\s*[（(]\s*({_LATIN_NAME.pattern})\s*[,，、)）]"
    found = {match.group(1): _quote(match.group(0)) for match in re.finditer(pattern, text)}
    return list(found.items())


def linked(name: str, clues: Clues) -> tuple[str, str]:
    """The person the introduction names for a generic 嘉宾/主持人 label, and where."""
    is_host = bool(_HOST_WORDS.search(name) or _HOST_WORDS.search(clues.hints.get(name, "")))
    patterns = _HOST_SLOTS if is_host else _GUEST_SLOTS
    for slot, quote in _slots(clues.intro, patterns, clues.account):
        person = person_in(slot) or _pen_name(slot.strip(), clues.intro)
        if person:
            return person, quote
    return "", ""


def _pen_name(slot: str, intro: str) -> str | None:
    """A name without a family name (静远, a pen name) that the introduction keeps writing
    about: at least three times."""
    if re.fullmatch(r"[\u4e00-\u9fff]{2,4}", slot) and intro.count(slot) >= 3:
        return slot
    return None


_TITLES = re.compile(
    r".*(?:创始人|联合创始人|负责人|CEO|CTO|总裁|董事长|总经理|主编|主持人|记者|教授|博士|"
    r"科学家|工程师|研究员|合伙人|投资人|作家|导演|总监|经理|主席|院长|校长|老师|嘉宾)",
)
_LATIN_NAME = re.compile(r"(?<![A-Za-z0-9])[A-Z][a-z'’]+(?:[ -][A-Z][A-Za-z'’-]+)*(?![A-Za-z0-9])")


def person_in(slot: str) -> str | None:
    """A person's name in a phrase like `妙鸭产品负责人张月光` or `CBS 主持人 Brook Silva-Braga`:
    the last capitalized Latin name, else the Chinese name after the last job title."""
    latin = _LATIN_NAME.findall(slot)
    if latin:
        return str(latin[-1])
    text = re.sub(r"^(?:对|与|和)|的$", "", _TITLES.sub("", slot.strip())).strip()
    text = re.sub(r"[^\u4e00-\u9fff·]", "", text)
    for size in (3, 2, 4):
        candidate = text[-size:] if len(text) >= size else ""
        if candidate and _given_name(candidate) is not None and len(text) <= 6:
            return candidate
    return None


# --- gender --------------------------------------------------------------------------------------

_PRONOUN = re.compile(r"(?<![其吉利])(他|她)(?![们人国乡山者])")
_SENTENCE = re.compile(r"[。！？!?；;]")
_FEMALE_AFTER = re.compile(r"^\s*(?:女士|小姐|夫人|太太)")
_MALE_AFTER = re.compile(r"^\s*先生")
_JOBS = (
    r"(?:性|士|子|生|孩|演员|歌手|作家|导演|企业家|创始人|创业者|科学家|工程师|教授|博士|学者|"
    r"记者|主持人|主播|总裁|董事长|CEO|高管|投资人|合伙人|嘉宾|律师|医生|运动员|选手|程序员|设计师|"
    r"導演|學者|記者|醫生|同学|同學)"
)
_FEMALE_BEFORE = re.compile(rf"女{_JOBS}\s*$")
_MALE_BEFORE = re.compile(rf"男{_JOBS}\s*$")
_SEX_AFTER = re.compile(r"^\s*[（(]\s*(女|男)\s*[，,、）)]")
_WINDOW = 80


@dataclass
class _Tally:
    """Text evidence for one speaker: weighted votes and one example of each kind."""

    female: float = 0.0
    male: float = 0.0
    notes: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, gender: Gender, weight: float, kind: str, example: str) -> None:
        if gender is Gender.FEMALE:
            self.female += weight
        else:
            self.male += weight
        self.notes[kind] += 1
        self.examples.setdefault(kind, example)

    def verdict(self) -> Gender | None:
        if self.female > 0 and self.female >= 2 * self.male:
            return Gender.FEMALE
        if self.male > 0 and self.male >= 2 * self.female:
            return Gender.MALE
        return None

    def describe(self) -> list[str]:
        return [
            f"text: {kind}{f' ×{count}' if count > 1 else ''} ({self.examples[kind]})"
            for kind, count in self.notes.items()
        ]


def _gender(
    name: str,
    order: list[str],
    people: dict[str, _Person],
    turns: Sequence[tuple[str, Sequence[str]]],
    clues: Clues,
) -> tuple[Gender | None, list[str]]:
    forms = list(people[name].forms)
    if not forms:
        return None, ["nothing in the text or the name says"]
    others = [form for other in order if other != name for form in people[other].forms]
    texts = [("the introduction", clues.intro)] + [
        ("another speaker's turn", "\n".join(paragraphs))
        for speaker, paragraphs in turns
        if speaker != name
    ]
    tally = _Tally()
    for where, text in texts:
        _read(text, where, forms, others, tally)
    _read_groups(clues.intro, forms, [people[o].forms for o in order], tally)
    evidence = [*people[name].links, *tally.describe()]
    verdict = tally.verdict()
    if verdict is not None:
        return verdict, evidence
    if tally.notes:
        evidence.append("the text says both")
    for full in people[name].names:
        guess = name_gender(full)
        if guess is not None:
            gender, why = guess
            return gender, [*evidence, f"name: {why}"]
    evidence.append(
        "the name does not say" if tally.notes else "nothing in the text or the name says"
    )
    return None, evidence


def _read(text: str, where: str, forms: list[str], others: list[str], tally: _Tally) -> None:
    """Add what `text` says about the person written as `forms`: titles, 女/男 before a job,
    and the first 她/他 after each mention, within the sentence after it."""
    if not text:
        return
    mention = _mention_pattern(tuple(forms))
    other = _mention_pattern(tuple(others)) if others else None
    for match in mention.finditer(text):
        before, after = text[max(0, match.start() - 12) : match.start()], text[match.end() :]
        before = before.rsplit("\n", 1)[-1]  # a title's 女导演 says nothing of the caption below
        said = match.group(0)
        title = _FEMALE_AFTER.match(after) or _MALE_AFTER.match(after)
        if title:
            gender = Gender.FEMALE if title.re is _FEMALE_AFTER else Gender.MALE
            word = title.group(0).strip()
            tally.add(gender, 3, f"{word} after the name", _quote(said + title.group(0)))
        sex = _SEX_AFTER.match(after)
        if sex:
            gender = Gender.FEMALE if sex.group(1) == "女" else Gender.MALE
            tally.add(gender, 3, f"（{sex.group(1)}） after the name", _quote(said + after[:4]))
        if _FEMALE_BEFORE.search(before):
            tally.add(Gender.FEMALE, 3, "女 before a title", _quote(before[-6:] + said))
        elif _MALE_BEFORE.search(before):
            tally.add(Gender.MALE, 3, "男 before a title", _quote(before[-6:] + said))
        window = _window(after)
        if other is not None:
            cut = other.search(window)
            if cut:
                window = window[: cut.start()]
        nearer = mention.search(window)
        if nearer:
            window = window[: nearer.start()]  # the next mention counts for itself
        pronoun = _PRONOUN.search(window)
        if pronoun and len({p.group(1) for p in _PRONOUN.finditer(window)}) > 1:
            pronoun = None  # `陈冲的祖屋…他向她发去照片`: two people, no telling which is which
        if pronoun:
            gender = Gender.FEMALE if pronoun.group(1) == "她" else Gender.MALE
            example = _quote(said + window[: pronoun.end() + 6])
            tally.add(gender, 1, f"{pronoun.group(1)} after the name in {where}", example)


_COUNT = {"两": 2, "二": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_GROUP = re.compile(
    rf"(?P<count>[两二兩三四五六七八九]|\d)\s*(?:位|名|个|個)(?P<mid>[^，,。！？!?、\n]{{0,8}}?)"
    rf"(?P<sex>女|男)(?:{_JOBS[3:-1]}|同学|同學|士)"
)


def _read_groups(text: str, forms: list[str], groups: list[tuple[str, ...]], tally: _Tally) -> None:
    """`三位标杆性女导演`, `3名男同學`, `两位女士`: each speaker named in that sentence or the one
    before it has that gender, when the count is the number of speakers named there."""
    sentences = [s for s in re.split(r"(?<=[。！？!?\n])", text) if s.strip()]
    for index, sentence in enumerate(sentences):
        for match in _GROUP.finditer(sentence):
            count = _COUNT.get(match.group("count")) or int(match.group("count"))
            window = "".join(sentences[max(0, index - 1) : index + 1])
            named = [g for g in groups if g and _mention_pattern(tuple(g)).search(window)]
            own = _mention_pattern(tuple(forms)).search(window) if forms else None
            if own and len(named) == count:
                gender = Gender.FEMALE if match.group("sex") == "女" else Gender.MALE
                tally.add(gender, 3, "a group statement", _quote(match.group(0)))


def _window(after: str) -> str:
    """The rest of the sentence after a mention and the whole next one, at most 80 chars."""
    text = after[:_WINDOW]
    ends = [m.end() for m in _SENTENCE.finditer(text)]
    return text[: ends[1]] if len(ends) >= 2 else text


@functools.lru_cache(maxsize=256)
def _mention_pattern(forms: tuple[str, ...]) -> re.Pattern[str]:
    """Any of `forms`, spaces and middle dots aside; Latin names as whole words."""
    parts = []
    for form in sorted(forms, key=len, reverse=True):
        escaped = r"[\s·•・]*".join(re.escape(part) for part in re.split(r"[\s·•・]+", form))
        if form.isascii():
            parts.append(rf"(?<![A-Za-z]){escaped}(?![A-Za-z])")
        else:
            parts.append(escaped)
    return re.compile("|".join(parts), re.IGNORECASE)


def name_gender(name: str) -> tuple[Gender, str] | None:
    """The gender a given name suggests, and why; None when it does not say.

    English given names: gender-guesser's dictionary, trusted only when every country that
    lists the name agrees and at least two do (it lists `Nilay` as female from Turkey alone; the
    Verge's Nilay Patel is a man). Chinese names: the given name after a common family name,
    by the table of characters below; a name with characters of both kinds says nothing.
    """
    latin = re.findall(r"[A-Za-z]+", name)
    if latin:
        return _english_gender(latin[0])
    given = _given_name(re.sub(r"[^\u4e00-\u9fff]", "", name))
    if not given:
        return None
    female = [ch for ch in given if ch in FEMALE_CHARACTERS]
    male = [ch for ch in given if ch in MALE_CHARACTERS]
    if bool(female) == bool(male):
        return None
    gender = Gender.FEMALE if female else Gender.MALE
    chars = female or male
    one, many = {Gender.FEMALE: ("a woman's", "women's"), Gender.MALE: ("a man's", "men's")}[gender]
    kind = f"{one} given-name character" if len(chars) == 1 else f"{many} given-name characters"
    return gender, f"{'、'.join(chars)} in {name}: {kind} (given-name table)"


def _given_name(name: str) -> str | None:
    """The given name of a 2-4 character Chinese name with a common family name, else None
    (also for a transliterated foreign name such as 安德鲁 or 马斯克)."""
    if not 2 <= len(name) <= 4 or any(ch in TRANSLITERATION for ch in name):
        return None
    for surname in COMPOUND_SURNAMES:
        if name.startswith(surname) and 1 <= len(name) - len(surname) <= 2:
            return name[len(surname) :]
    if name[0] in SURNAMES and len(name) <= 3:
        return name[1:]
    return None


@functools.cache
def _detector() -> Any:
    try:
        import gender_guesser.detector as detector
    except ImportError:
        log.warning(
            "gender-guesser is missing, so English given names say nothing about gender: "
            "pip install gender-guesser"
        )
        return None
    return detector.Detector(case_sensitive=False)


def _english_gender(given: str) -> tuple[Gender, str] | None:
    """gender-guesser's answer for a given name, trusted only when every country listing the
    name agrees and either an English-speaking country or at least two countries list it:
    it has `Nilay` as a woman's name from Turkey alone, and The Verge's Nilay Patel is a man."""
    detector = _detector()
    if detector is None or len(given) < 2:
        return None
    entries: dict[str, str] = getattr(detector, "names", {}).get(given.lower(), {})
    countries = Counter(
        {kind: sum(1 for c in values if c.strip()) for kind, values in entries.items()}
    )
    english = [detector.COUNTRIES.index(c) for c in ("great_britain", "ireland", "usa")]
    for gender, other in ((Gender.MALE, Gender.FEMALE), (Gender.FEMALE, Gender.MALE)):
        same = countries[gender.value] + countries[f"mostly_{gender.value}"]
        against = countries[other.value] + countries[f"mostly_{other.value}"]
        in_english = any(
            len(entries.get(gender.value, "")) > i and entries[gender.value][i].strip()
            for i in english
        )
        if (
            countries[gender.value]
            and (same >= 2 or in_english)
            and not against
            and countries["andy"] * 4 <= same
        ):
            person = "man" if gender is Gender.MALE else "woman"
            return gender, f"{given} is a {person}'s given name (gender-guesser)"
    return None


# Characters that spell foreign names (安德鲁, 马斯克, 奥特曼) and are rare in Chinese given names.
TRANSLITERATION = frozenset("斯尔姆鲁特拉尼顿夫茨基奥巴普蒂埃萨塔卡瓦沃索瑟赫格勒洛")
# Given-name characters that Chinese naming custom reserves, in practice, for one sex. Built by
# hand from the semantic fields parents choose from: for girls the 女 radical (娟, 婷), flowers
# and plants (芳, 兰), jewels (琳, 瑶) and grace or beauty (丽, 淑); for boys strength and valour
# (强, 勇), the state and the army (国, 军), ambition and virtue (志, 德), mountains, rivers and
# metal (峰, 川, 钢). Characters parents give to both (明, 华, 文, 晓, 玉, 英, 云, 海, 平,
# 宁, 佳, 欣, 子, 小 …) are left out on purpose: a name made only of those says nothing.
FEMALE_CHARACTERS = frozenset(
    "娟婷娜婉娅妍姗姝婧媛嫣娇婕妮娥婵姣嫦媚姿娴娉嬿妹"
    "芳芬兰梅莲菊萍蓉薇莉荷茜蕾蕊芸芝菲萱黛蔓茹"
    "珠琳瑶璐琪琴珍玲珊璇瑛琼莹珺"
    "丽美艳秀倩雅淑柔惠静怡颖洁曼"
    "燕凤莺鹃霞雪露月丹红翠巧爱"
)
MALE_CHARACTERS = frozenset(
    "伟强刚勇武威雄豪杰俊军兵国建栋邦忠义志宏鹏龙虎彪斌彬涛浩峰锋山岩磊森钢铁鑫辉亮坤健"
    "超凯毅昊博德胜权炳耀庆祥福贵仁勋麟川鸣康崇信光"
)
