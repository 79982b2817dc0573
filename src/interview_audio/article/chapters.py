"""Chapters: where the conversation changes subject, and what each part is called.

Chapters cover the dialogue turns only (`Chapter.start_turn` indexes `script.turns` and the
first starts at 0); the narrator's intro chapter is added by the render stage. The best
evidence wins: chapters the user wrote, then section headings inside the dialogue, then the
article's numbered summary (each stretch of talk is matched to a summary topic), and when the
article has none of these, the places where the vocabulary shifts.

Text is compared through character bigrams and unigrams plus Latin words and numbers, not
through a word segmenter: bigrams need no dictionary (jieba spends well over a second loading
its dictionary, more than this whole stage may take), they do not trip over names and jargon a
dictionary splits wrongly (奥特曼, 算力), and unigram+bigram indexing is the standard
dictionary-free way to search Chinese with quality close to word segmentation. Unigrams, at a
lower weight, let near-synonyms meet (股权 and 股份 share 股).
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from interview_audio.article.script import Chapter, Heading, Role, Script
from interview_audio.choices import ChapterMethod, choose
from interview_audio.errors import InputError, ScriptError
from interview_audio.words import boundaries, simplified, words

log = logging.getLogger(__name__)


# A host turn opens a new exchange when it asks a question of at least QUESTION_CHARS letters
# (病虫害怎么办？) or says at least STATEMENT_CHARS; shorter ones (真厉害。你想要吗？) are
# interjections that stay inside the current exchange.
QUESTION_CHARS = 5
STATEMENT_CHARS = 12
# A last exchange this short that says thank you and asks nothing is the sign-off.
CLOSING_CHARS = 80

# Summary matching: each exchange is scored against each topic used as a BM25 query (topic
# title plus text). TITLE_WEIGHT stays 1: title words are already counted twice whenever the
# text repeats them, and titles are mostly category words (看法, 影响, 展望) that weighting up
# made worse on every test conversation. Host turns weigh more because the question names the
# subject while answers wander.
BM25_K1 = 1.2
BM25_B = 0.75
UNIGRAM_WEIGHT = 0.5
TITLE_WEIGHT = 1.0
HOST_WEIGHT = 1.5
# The segmentation pays SWITCH_PENALTY (in standard deviations of a topic's scores) for each
# new chapter and gets NEXT_TOPIC_BONUS back when the new chapter is the summary's next topic
# (or the first topic opens the talk): summaries are usually written in the order of the
# conversation, but this is only a nudge, so a different order still wins on evidence.
SWITCH_PENALTY = 0.6
NEXT_TOPIC_BONUS = 0.15
# One exchange can be a chapter: an editor gives a single long question and answer about a
# summary topic its own chapter (the seed's copyright question is one exchange).
MIN_CHAPTER_EXCHANGES = 1
# `auto` trusts the summary only when at least this share of its words occur in the dialogue
# (about 0.6 for real summaries, 0.2 or less for a summary of another interview).
MIN_SUMMARY_COVERAGE = 0.3

# Vocabulary shift (TextTiling over exchanges): compare windows of SHIFT_WINDOW exchanges on
# each side of every gap, cut where the depth score exceeds mean - SHIFT_CUTOFF_SD * sd
# (Hearst's liberal cut-off), keeping chapters at least SHIFT_MIN_EXCHANGES long.
SHIFT_WINDOW = 2
SHIFT_CUTOFF_SD = 0.5
SHIFT_MIN_EXCHANGES = 2
TITLE_MAX_CHARS = 16
TITLE_MIN_CHARS = 4
QUESTION_PREFERENCE = 1.5
# A title cut from a long clause prefers the clause's end: a Chinese phrase ends on its head
# (…对华为的影响, …经常发生的常态), while its first characters are often still the lead-in.
HEAD_PREFERENCE = 1.5
CUT_PENALTY = 0.5

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[A-Za-z][A-Za-z0-9+#]*(?:[.\-][A-Za-z0-9]+)*|[0-9]{{2,}}")
_CONTENT = re.compile(rf"[{_CJK}A-Za-z0-9]")
_QUESTION = re.compile(r"[？?]")
_SENTENCE = re.compile(r"[^。？！?!…]+[。？！?!…]*")
# A clause ends at punctuation, but a point or comma between digits (9.9元, 1,000) is part of
# the number.
_CLAUSE = re.compile(r"(?:[^，。？！；：,.?!;:…—“”\"「」『』（）()《》]|(?<=\d)[.,](?=\d))+")

# Characters that carry grammar, not subject: a term containing one says nothing about the
# topic (这个, 我们, 是的 …). Kept short on purpose: 人, 不, 有 … also build content words.
_STOP_CHARS = frozenset(
    "的了是我你他她它们这那吗呢吧啊呀嘛哦嗯哈么着也都就还很和与及而但或在把被让给个些之其此"
    "得地所啦哪呃"
)
# Frequent bigrams of talk and of summary prose that are about no subject in particular.
_STOP_BIGRAM_TEXT = """
    认为 觉得 知道 什么 时候 因为 所以 但是 可以 事情 非常 真的 问题 一个 一些 一下 一点 一样
    一直 一起 一种 已经 可能 就是 还是 如果 不是 没有 这样 那样 怎么 为什么 如何 看到 说过
    谈论 讨论 方面 意思 东西 现在 今天 之前 之后 然后 实际 确实 当然 其实 比如 例如 或者
    以及 而且 并且 虽然 不过 只是 需要 应该 能够 希望 想要 一定 关于 对于 方式 情况 进行 出现
    发生 成为 表示 看法 指出 解释 强调 承认 主要 观点 感谢 谢谢 好的 对吧 是否 那么 这么 多少
    很多 许多 大家 人们 自己 我想 想问 告诉 听到 来说 不会 不要 会有 有些 有点 任何 所有
    每个 整个 同时 最后 开始 地方 时间 之间 这种 那种 那个 这里 那里
"""
_STOP_BIGRAMS = frozenset(_STOP_BIGRAM_TEXT.split())
_STOP_LATIN = frozenset(
    ["the", "a", "an", "and", "or", "of", "to", "in", "is", "it", "that", "this", "you", "we"]
)
# A title cut out of a clause neither starts nor ends on these.
_LOOSE_START = frozenset("的地得了着过和与及或而也都就还是在把被对从向给让")
_LOOSE_END = frozenset("的地得和与及或而在把被对从向给让很最更")
# Words that need what follows them (一个…, 什么样的…): a title does not end on one; and words
# that close what came before them (…方面, …以后): a title does not start with one.
_OPEN_WORDS = frozenset(
    ["一个", "一些", "这个", "那个", "这些", "那些", "这种", "那种", "什么样", "怎样", "哪些"]
    + ["每个", "各种", "有"]
)
_CLOSE_WORDS = frozenset(
    ["方面", "时候", "以后", "之后", "以前", "之前", "以来", "当中", "其中", "上", "中", "里"]
)
_END_PARTICLES = re.compile(r"(?:的话|吗|呢|吧|啊|呀|嘛|方面|的时候|时)$")
# Openers that carry no subject, trimmed from the front of a question used as a title.
_TITLE_FILLERS = re.compile(
    r"^(?:好的|好吧|那么|所以|但是|然后|而且|另外|接下来|最后|顺便问一下|顺便说一句|请问|"
    r"我想问(?:你|一下)?|让我问(?:你)?|我(?:一直)?很好奇(?:的一件事是)?|我想知道|我听说|听说|"
    r"你认为|你觉得|对你来说|我的意思是|我们来|(?:先)?(?:说说|聊聊|谈谈)|但在|但|并且|当你|当|"
    r"如果你|那就是|至于|回到)"
)


# --- public API ------------------------------------------------------------------------------


def find_chapters(
    script: Script, method: ChapterMethod | str = ChapterMethod.AUTO
) -> tuple[Chapter, ...]:
    """Divide the dialogue into titled chapters by `method` (a ChapterMethod or its value).

    `auto` uses the best evidence the script has: its own chapters, then headings, then the
    summary topics, then vocabulary shift. Asking for headings or summary when the script has
    none raises InputError rather than quietly doing something else.
    """
    method = choose(ChapterMethod, method, "chapter method")
    if not script.turns:
        raise InputError(
            "The script has no dialogue turns, so there is nothing to divide into chapters. "
            "Check that the article was parsed into speaker turns."
        )
    if method == "auto" and script.chapters:
        return _checked(script.chapters, len(script.turns))  # the user's, as written
    return distinct_titles(script, _find(script, method))


def _find(script: Script, method: str) -> tuple[Chapter, ...]:
    others = ", ".join(m for m in ChapterMethod if m != method)
    if method == "none":
        return (Chapter(_script_title(script), 0),)
    if method == "headings":
        found = _from_headings(script.headings, len(script.turns))
        if not found:
            raise InputError(
                "The script has no usable section headings inside the dialogue. "
                f"Use another chapter method: {others}."
            )
        return found
    if method == "summary":
        if not script.topics:
            raise InputError(
                "The article has no numbered summary (内容导读 or similar) to take chapters "
                f"from. Use another chapter method: {others}."
            )
        return _from_topics(script, _Corpus.build(script))
    if method == "shift":
        return _from_shift(script)
    found = _from_headings(script.headings, len(script.turns))
    if found:
        return found
    if script.topics:
        corpus = _Corpus.build(script)
        if _summary_fits(corpus):
            return _from_topics(script, corpus)
        log.info("The summary topics share too few words with the dialogue; ignoring them.")
    return _from_shift(script)


def exchanges(script: Script) -> list[range]:
    """Question-and-answer exchanges: consecutive ranges of turn indices covering every turn.

    An exchange opens at a host turn that asks something new and runs until the next one.
    A short host interjection, or a host turn before anyone answered (a co-host adding to the
    question), stays inside. A closing thank-you joins the exchange before it. Without any
    host turn, the first speaker is taken to be the one asking.
    """
    turns = script.turns
    if not turns:
        return []
    has_host = any(turn.role is Role.HOST for turn in turns)
    starts = [0]
    answered = turns[0].role is not Role.HOST if has_host else False
    for index in range(1, len(turns)):
        turn = turns[index]
        asks = turn.role is Role.HOST if has_host else turn.speaker == turns[0].speaker
        if not asks:
            answered = True
        elif answered and _opens_exchange(turn.text):
            starts.append(index)
            answered = False
    ranges = [range(a, b) for a, b in zip(starts, [*starts[1:], len(turns)], strict=True)]
    if len(ranges) > 1 and _is_closing(script, ranges[-1]):
        ranges[-2:] = [range(ranges[-2].start, ranges[-1].stop)]
    return ranges


def clean_title(text: str) -> str:
    """A heading or topic title as a chapter title: no markup, numbering or end punctuation."""
    # Emphasis and code marks go; an underscore inside a name (`mmap_lock`) stays.
    title = re.sub(r"[*`#]+|(?<!\w)_+|_+(?!\w)", "", text).strip()
    if re.fullmatch(
        r"(?:第|part\s*)?[0-9０-９一二三四五六七八九十]{1,3}[、.．:：)）]?", title, re.I
    ):
        return ""
    title = re.sub(
        r"^(?:[(（]?\d{1,2}:\d{2}(?::\d{2})?[)）]?\s*|0\d(?=[\u3400-\u9fff])"
        r"|第?[0-9０-９]{1,3}(?:[、.．:：)）]\s*|\s+)|[一二三四五六七八九十]{1,3}[、.．:：]\s*"
        r"|[(（][0-9一二三四五六七八九十]{1,3}[)）]\s*|part\s*\d+[.:：]?\s*)",
        "",
        title,
        flags=re.IGNORECASE,
    )
    return title.strip().rstrip(":：,，;；。.、!！ \t").strip()


def segment(
    rewards: Sequence[Sequence[float]],
    switch_penalty: float,
    next_bonus: float = 0.0,
    min_length: int = 1,
) -> list[int]:
    """The best label per item: the most reward minus `switch_penalty` per change of label.

    Runs of one label are at least `min_length` items long (unless there are fewer items),
    and a label may come back after others. Changing to the label right after the previous one,
    or starting with label 0, earns `next_bonus`. Dynamic programming over (end of run, label),
    O(items² × labels).
    """
    count = len(rewards)
    labels = len(rewards[0]) if count else 0
    if count == 0 or labels == 0:
        return []
    min_length = max(1, min(min_length, count))
    prefix = [[0.0] * (count + 1) for _ in range(labels)]
    for k in range(labels):
        for e in range(count):
            prefix[k][e + 1] = prefix[k][e] + rewards[e][k]
    minus_inf = float("-inf")
    # best[j][k]: items [0, j) labelled, the last run has label k and ends at j.
    best = [[minus_inf] * labels for _ in range(count + 1)]
    back = [[(0, -1)] * labels for _ in range(count + 1)]
    # entry[i][k]: best score of items [0, i) followed by a change to label k at i.
    entry = [[minus_inf] * labels for _ in range(count + 1)]
    entry_from = [[-1] * labels for _ in range(count + 1)]
    for j in range(min_length, count + 1):
        for k in range(labels):
            value = prefix[k][j] + (next_bonus if k == 0 else 0.0)
            choice = (0, -1)
            for i in range(min_length, j - min_length + 1):
                candidate = entry[i][k] + prefix[k][j] - prefix[k][i]
                if candidate > value:
                    value, choice = candidate, (i, entry_from[i][k])
            best[j][k] = value
            back[j][k] = choice
        _fill_entry(best[j], entry[j], entry_from[j], switch_penalty, next_bonus)
    k = max(range(labels), key=lambda label: best[count][label])
    result = [0] * count
    j = count
    while j > 0:
        i, previous = back[j][k]
        result[i:j] = [k] * (j - i)
        j, k = i, previous
    return result


def _fill_entry(
    scores: list[float], entry: list[float], origin: list[int], penalty: float, bonus: float
) -> None:
    """For each label, the best previous run to change from (any other label, minus the
    penalty, plus the bonus when it is the label just before)."""
    order = sorted(range(len(scores)), key=lambda label: -scores[label])
    for k in range(len(scores)):
        first = next((label for label in order if label != k), -1)
        value, source = (scores[first] - penalty, first) if first >= 0 else (float("-inf"), -1)
        if k > 0 and scores[k - 1] - penalty + bonus > value:
            value, source = scores[k - 1] - penalty + bonus, k - 1
        entry[k], origin[k] = value, source


def shift_boundaries(
    vectors: Sequence[dict[str, float]], window: int, min_length: int
) -> list[int]:
    """Indices where a new segment starts (never 0), by TextTiling depth scores.

    A gap's depth is how far its similarity lies below the peaks on both sides. Gaps deeper
    than the cut-off become boundaries, deepest first, while every segment keeps at least
    `min_length` items.
    """
    count = len(vectors)
    if count < 2 * min_length or count < 2:
        return []
    similarity = [
        _cosine(
            _sum_vectors(vectors[max(0, gap - window) : gap]),
            _sum_vectors(vectors[gap : gap + window]),
        )
        for gap in range(1, count)
    ]
    depths = []
    for index, value in enumerate(similarity):
        left = value
        for other in reversed(similarity[:index]):
            if other < left:
                break
            left = other
        right = value
        for other in similarity[index + 1 :]:
            if other < right:
                break
            right = other
        depths.append(left + right - 2.0 * value)
    mean = sum(depths) / len(depths)
    deviation = math.sqrt(sum((d - mean) ** 2 for d in depths) / len(depths))
    cutoff = max(mean - SHIFT_CUTOFF_SD * deviation, 0.0)
    chosen: list[int] = []
    for index in sorted(range(len(depths)), key=lambda i: -depths[i]):
        if depths[index] <= cutoff:
            break
        edges = sorted([0, count, index + 1, *chosen])
        if all(b - a >= min_length for a, b in itertools.pairwise(edges)):
            chosen.append(index + 1)
    return sorted(chosen)


# --- user chapters and headings -------------------------------------------------------------


def _checked(chapters: Sequence[Chapter], turn_count: int) -> tuple[Chapter, ...]:
    """User-written chapters, after making sure later stages can rely on them."""
    previous = -1
    for chapter in chapters:
        if not 0 <= chapter.start_turn < turn_count:
            raise ScriptError(
                f"Chapter {chapter.title!r} starts at turn {chapter.start_turn}, but the script "
                f"has turns 0 to {turn_count - 1}. Fix start_turn in the script's chapters."
            )
        if chapter.start_turn <= previous:
            raise ScriptError(
                f"Chapter {chapter.title!r} starts at turn {chapter.start_turn}, not after the "
                "chapter before it. List chapters in order with increasing start_turn."
            )
        if not chapter.title.strip():
            raise ScriptError(
                f"The chapter at turn {chapter.start_turn} has no title. Give every chapter one."
            )
        previous = chapter.start_turn
    result = tuple(chapters)
    if result[0].start_turn != 0:
        log.info("The first chapter now starts at turn 0 so the opening turns belong to it.")
        result = (Chapter(result[0].title, 0), *result[1:])
    return result


def _from_headings(headings: Sequence[Heading], turn_count: int) -> tuple[Chapter, ...]:
    """One chapter per heading. Headings before the same turn (a title split over two heading
    lines, a number line and its title) make one title; the opening turns before the first
    heading join the first chapter."""
    parts: dict[int, list[str]] = {}
    for heading in headings:
        title = clean_title(heading.title)
        if title and 0 <= heading.start_turn < turn_count:
            parts.setdefault(heading.start_turn, []).append(title)
    chapters: list[Chapter] = []
    for start in sorted(parts):
        chapters.append(Chapter(_join_title(parts[start]), start if chapters else 0))
    return tuple(chapters)


def _join_title(parts: Sequence[str]) -> str:
    title = ""
    for part in parts:
        if title and title[-1].isascii() and title[-1].isalnum() and part[0].isascii():
            title += " "
        title += part
    return title


# --- text statistics ------------------------------------------------------------------------


def _content_chars(text: str) -> int:
    return len(_CONTENT.findall(text))


def _opens_exchange(text: str) -> bool:
    size = _content_chars(text)
    return size >= STATEMENT_CHARS or (size >= QUESTION_CHARS and bool(_QUESTION.search(text)))


def _is_closing(script: Script, span: range) -> bool:
    text = "".join(script.turns[i].text for i in span)
    return (
        _content_chars(text) < CLOSING_CHARS
        and ("谢" in text or "thank" in text.lower())
        and not _QUESTION.search(text)
    )


def _terms(text: str, stop: frozenset[str] = frozenset()) -> dict[str, float]:
    """Index terms with counts: CJK bigrams and (at a lower weight) single characters, leaving
    out grammar characters, and Latin words and numbers in lower case."""
    counts: dict[str, float] = {}
    for run in _TOKEN.findall(text):
        if run[0].isascii():
            word = run.lower()
            if len(word) > 1 and word not in _STOP_LATIN and word not in stop:
                counts[word] = counts.get(word, 0.0) + 1.0
            continue
        for char in run:
            if char not in _STOP_CHARS and char not in stop:
                counts[char] = counts.get(char, 0.0) + UNIGRAM_WEIGHT
        for i in range(len(run) - 1):
            pair = run[i : i + 2]
            if (
                pair[0] not in _STOP_CHARS
                and pair[1] not in _STOP_CHARS
                and pair not in _STOP_BIGRAMS
                and pair not in stop
            ):
                counts[pair] = counts.get(pair, 0.0) + 1.0
    return counts


def _add(total: dict[str, float], counts: dict[str, float], weight: float = 1.0) -> None:
    for term, count in counts.items():
        total[term] = total.get(term, 0.0) + count * weight


def _name_terms(script: Script) -> frozenset[str]:
    """Terms of the speakers' names: they are everywhere and say nothing about the subject."""
    names: dict[str, float] = {}
    for speaker in script.speakers:
        for name in (speaker.name, *speaker.aliases):
            _add(names, _terms(name))
    return frozenset(names)


def _exchange_terms(
    script: Script, span: range, stop: frozenset[str], host_weight: float = 1.0
) -> dict[str, float]:
    counts: dict[str, float] = {}
    for index in span:
        turn = script.turns[index]
        _add(counts, _terms(turn.text, stop), host_weight if turn.role is Role.HOST else 1.0)
    return counts


@dataclass(frozen=True)
class _Corpus:
    """The script cut into exchanges, each as weighted term counts, and the topics' terms."""

    spans: tuple[range, ...]
    docs: tuple[dict[str, float], ...]
    queries: tuple[dict[str, float], ...]
    idf: dict[str, float]

    @classmethod
    def build(cls, script: Script) -> _Corpus:
        stop = _name_terms(script)
        spans = tuple(exchanges(script))
        docs = tuple(_exchange_terms(script, span, stop, HOST_WEIGHT) for span in spans)
        queries: list[dict[str, float]] = []
        for topic in script.topics:
            query: dict[str, float] = {}
            _add(query, _terms(topic.text, stop))
            _add(query, _terms(topic.title, stop), TITLE_WEIGHT)
            queries.append(query)
        frequency: dict[str, int] = {}
        for counts in (*docs, *queries):
            for term in counts:
                frequency[term] = frequency.get(term, 0) + 1
        total = len(docs) + len(queries)
        idf = {
            term: math.log(1.0 + (total - df + 0.5) / (df + 0.5)) for term, df in frequency.items()
        }
        return cls(spans, docs, tuple(queries), idf)

    def bm25(self) -> list[list[float]]:
        """score[e][k]: how well exchange e answers topic k taken as a search query."""
        lengths = [sum(doc.values()) for doc in self.docs]
        average = max(sum(lengths) / len(lengths), 1e-9) if lengths else 1.0
        scores: list[list[float]] = []
        for doc, length in zip(self.docs, lengths, strict=True):
            norm = BM25_K1 * (1.0 - BM25_B + BM25_B * length / average)
            row = []
            for query in self.queries:
                score = 0.0
                for term, weight in query.items():
                    tf = doc.get(term, 0.0)
                    if tf:
                        score += weight * self.idf[term] * tf * (BM25_K1 + 1.0) / (tf + norm)
                row.append(score)
            scores.append(row)
        return scores


def _summary_fits(corpus: _Corpus) -> bool:
    """A summary retells the conversation, so most of its words (bigrams, Latin words,
    numbers) occur in the dialogue; a list about something else shares only a few."""
    vocabulary = {term for doc in corpus.docs for term in doc}
    words = {term for query in corpus.queries for term in query if len(term) > 1}
    found = sum(1 for term in words if term in vocabulary)
    return bool(words) and found >= MIN_SUMMARY_COVERAGE * len(words)


# --- summary topics -------------------------------------------------------------------------


def _from_topics(script: Script, corpus: _Corpus) -> tuple[Chapter, ...]:
    """Label every exchange with a summary topic and start a chapter wherever the label
    changes, at the host turn that opens the exchange."""
    titles = [clean_title(topic.title) or topic.title.strip() for topic in script.topics]
    rewards = _standardized(corpus.bm25())
    labels = segment(rewards, SWITCH_PENALTY, NEXT_TOPIC_BONUS, MIN_CHAPTER_EXCHANGES)
    chapters: list[Chapter] = []
    for index, topic in enumerate(labels):
        if index == 0 or topic != labels[index - 1]:
            chapters.append(Chapter(titles[topic], corpus.spans[index].start if index else 0))
    log.debug("Chapters from the summary: %s", chapters)
    return tuple(chapters)


def _standardized(scores: Sequence[Sequence[float]]) -> list[list[float]]:
    """Each topic's scores as z-scores over the exchanges.

    Raw BM25 favours topics whose summary text is long or made of common words; the z-score
    asks instead how unusually close an exchange is to a topic, which puts topics on one scale.
    """
    if not scores:
        return []
    columns = list(zip(*scores, strict=True))
    means = [sum(column) / len(column) for column in columns]
    deviations = [
        math.sqrt(sum((value - mean) ** 2 for value in column) / len(column)) or 1.0
        for column, mean in zip(columns, means, strict=True)
    ]
    return [
        [(value - m) / d for value, m, d in zip(row, means, deviations, strict=True)]
        for row in scores
    ]


# --- vocabulary shift -----------------------------------------------------------------------


def _from_shift(script: Script) -> tuple[Chapter, ...]:
    """Chapters where the words of the exchanges before and after a gap have least in common
    compared with the gaps around it, each titled from its opening question."""
    stop = _name_terms(script)
    spans = exchanges(script)
    vectors = [_exchange_terms(script, span, stop) for span in spans]
    count = len(vectors)
    rarity = _rarity(vectors)
    weighted = [{t: c * (rarity[t] + 1.0) for t, c in vector.items()} for vector in vectors]
    starts = [0, *shift_boundaries(weighted, SHIFT_WINDOW, SHIFT_MIN_EXCHANGES)]
    chapters: list[Chapter] = []
    for number, first in enumerate(starts):
        last = starts[number + 1] if number + 1 < len(starts) else count
        title = _stretch_title(script, spans, vectors, rarity, first, last) or _script_title(script)
        chapters.append(Chapter(title, spans[first].start))
    return tuple(chapters)


def _rarity(vectors: Sequence[dict[str, float]]) -> dict[str, float]:
    frequency: dict[str, int] = {}
    for vector in vectors:
        for term in vector:
            frequency[term] = frequency.get(term, 0) + 1
    count = len(vectors)
    return {term: math.log((1.0 + count) / (1.0 + df)) for term, df in frequency.items()}


def _stretch_title(
    script: Script,
    spans: Sequence[range],
    vectors: Sequence[dict[str, float]],
    rarity: dict[str, float],
    first: int,
    last: int,
) -> str:
    """A title for exchanges [first, last) from their own words: the clause of the opening
    question that carries the words that recur in the stretch and are rare elsewhere."""
    spread: dict[str, int] = {}
    for vector in vectors[first:last]:
        for term in vector:
            if len(term) > 1:
                spread[term] = spread.get(term, 0) + 1
    keywords = {t: n * rarity[t] for t, n in spread.items() if n >= min(2, last - first)}
    broad = {t: n * rarity[t] for t, n in spread.items()}
    return _question_title(script, spans[first], keywords) or _question_title(
        script, spans[first], broad
    )


def distinct_titles(script: Script, chapters: Sequence[Chapter]) -> tuple[Chapter, ...]:
    """Chapters with a title that an earlier chapter already has get one from their own words
    (a summary topic the talk comes back to: the second stretch says what it is about)."""
    seen = {chapter.title for chapter in chapters}
    if len(seen) == len(chapters):
        return tuple(chapters)
    stop = _name_terms(script)
    spans = exchanges(script)
    vectors = [_exchange_terms(script, span, stop) for span in spans]
    rarity = _rarity(vectors)
    index_of = {span.start: number for number, span in enumerate(spans)}
    used: set[str] = set()
    result: list[Chapter] = []
    for number, chapter in enumerate(chapters):
        title = chapter.title
        if title in used and chapter.start_turn in index_of:
            first = index_of[chapter.start_turn]
            following = chapters[number + 1].start_turn if number + 1 < len(chapters) else None
            last = index_of.get(following, len(spans)) if following is not None else len(spans)
            own = _stretch_title(script, spans, vectors, rarity, first, max(last, first + 1))
            title = own if own and own not in used and own not in seen else title
        suffix = 2
        base = title
        while title in used:
            title = f"{base}（{suffix}）"
            suffix += 1
        used.add(title)
        result.append(Chapter(title, chapter.start_turn))
    return tuple(result)


def _sum_vectors(vectors: Sequence[dict[str, float]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for vector in vectors:
        _add(total, vector)
    return total


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(value * b.get(term, 0.0) for term, value in a.items())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def _question_title(script: Script, span: range, keywords: dict[str, float]) -> str:
    """The clause of the opening question that carries the chapter's key words, shortened.

    Clauses of question sentences are preferred (the question usually names the subject), and
    so are clauses that fit without being cut.
    """
    opening = [script.turns[i].text for i in span if script.turns[i].role is Role.HOST]
    text = opening[0] if opening else script.turns[span.start].text
    best, best_score = "", 0.0
    for sentence in _SENTENCE.findall(text):
        asks = bool(_QUESTION.search(sentence))
        for raw in _CLAUSE.findall(sentence):
            clause = _trim_clause(raw)
            if _content_chars(clause) < TITLE_MIN_CHARS:
                continue
            score = sum(keywords.get(term, 0.0) for term in _terms(clause))
            score *= (QUESTION_PREFERENCE if asks else 1.0) * (
                1.0 if len(clause) <= TITLE_MAX_CHARS else CUT_PENALTY
            )
            if score > best_score:
                best, best_score = clause, score
    return _shorten(best, keywords)


def _trim_clause(clause: str) -> str:
    """Drop openers and end particles that carry no subject (所以…, …吗), each only where it is
    a word of its own: 当 of 当然 and 时 of 同时 stay."""
    previous = None
    clause = clause.strip()
    while clause != previous:
        previous = clause
        opener = _TITLE_FILLERS.match(clause)
        if opener and opener.end() in boundaries(clause):
            clause = clause[opener.end() :].strip()
            continue
        ending = _END_PARTICLES.search(clause)
        if ending and ending.start() in boundaries(clause):
            clause = clause[: ending.start()].strip()
    return clause


def _shorten(clause: str, keywords: dict[str, float]) -> str:
    """A clause as a title of at most TITLE_MAX_CHARS, made of whole words: the run of words
    that carries the most key words (the question's topic, not its first characters), not
    starting or ending on a particle (…的缩放定律 → 人工智能的缩放定律…)."""
    if len(clause) <= TITLE_MAX_CHARS and not (
        clause[:1] in _LOOSE_START or clause[-1:] in _LOOSE_END
    ):
        return clause  # whole, as the question says it: no segmenter needed
    pieces = words(clause)
    while len(pieces) > 1 and pieces[0] in _LOOSE_START:
        pieces.pop(0)
    while len(pieces) > 1 and pieces[-1] in _LOOSE_END:
        pieces.pop()
    if len("".join(pieces)) <= TITLE_MAX_CHARS:
        return "".join(pieces)
    best, best_rank = "", (-1.0, 0)
    plain = [simplified(piece) for piece in pieces]
    for first in range(len(pieces)):
        if pieces[first][0] in _LOOSE_START or plain[first] in _CLOSE_WORDS:
            continue
        piece = ""
        for last in range(first, len(pieces)):
            if len(piece) + len(pieces[last]) > TITLE_MAX_CHARS:
                break
            piece += pieces[last]
            if (
                piece[-1] in _LOOSE_END
                or plain[last] in _OPEN_WORDS
                or _content_chars(piece) < TITLE_MIN_CHARS
            ):
                continue
            score = sum(keywords.get(term, 0.0) for term in _terms(piece))
            if last == len(pieces) - 1:
                score = score * HEAD_PREFERENCE or 0.1  # the phrase's head noun comes last
            rank = (score, len(piece))
            if rank > best_rank:
                best, best_rank = piece, rank
    return best or _head(pieces)


def _head(pieces: Sequence[str]) -> str:
    """The opening words that fit in a title (at least one word)."""
    head = pieces[0]
    for word in pieces[1:]:
        if len(head) + len(word) > TITLE_MAX_CHARS:
            break
        head += word
    return head


def _script_title(script: Script) -> str:
    return script.title.strip() or "访谈"
