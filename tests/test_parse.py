"""The parser on every label style, the look-alikes, encodings, bad input and the seed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interview_audio.article.decode import decode
from interview_audio.article.markup import clean_text
from interview_audio.article.parse import parse_article, read_article
from interview_audio.article.script import Role
from interview_audio.errors import InputError, ParseError

FIXTURES = Path(__file__).parent / "fixtures" / "labels"
SAMPLE = Path(__file__).parents[1] / "examples" / "sample.txt"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_79d8b0fa45fee915.txt"

PARK_TURNS = [
    "今天我们聊聊城市里的公园。你为什么关心这个话题？",
    "因为公园是城市里最便宜的公共客厅。每个人都可以进去，不需要买票。",
    "那你觉得现在的公园够用吗？",
    "还不够。很多老城区的居民，走十五分钟也找不到一块像样的绿地。",
]


@pytest.mark.parametrize(
    ("fixture", "host", "guest"),
    [
        ("bold_inline.txt", "王芳", "刘建国"),  # `主持人王芳：`: the role, then the name
        ("bold_own_line.txt", "王芳", "刘建国"),
        ("plain.txt", "王芳", "刘建国"),
        ("colon_outside.txt", "王芳", "刘建国"),
        ("halfwidth_english.txt", "Kara Swisher", "Jan Gehl"),
        ("bold_alone.txt", "王芳", "刘建国"),
        ("qa_bold.txt", "主持人", "嘉宾"),
        ("qa_plain.txt", "主持人", "嘉宾"),
    ],
)
def test_label_styles(fixture: str, host: str, guest: str) -> None:
    script = read_article(FIXTURES / fixture)
    assert [(s.name, s.role) for s in script.speakers] == [(host, Role.HOST), (guest, Role.GUEST)]
    assert [t.speaker for t in script.turns] == [host, guest, host, guest]
    assert [t.text for t in script.turns] == PARK_TURNS


def test_three_speakers_and_mixed_names() -> None:
    script = read_article(FIXTURES / "three_speakers.txt")
    names = [(s.name, s.role, script.turn_count(s.name)) for s in script.speakers]
    assert names == [
        ("王芳", Role.HOST, 3),
        ("刘建国", Role.GUEST, 2),
        ("黄仁勋", Role.GUEST, 2),
        ("Lex Fridman", Role.GUEST, 2),
    ]
    assert script.turns[3].text == "我同意。好的公园让人愿意走出家门。"


def test_lookalikes_are_not_speakers_and_noise_is_not_spoken() -> None:
    script = read_article(FIXTURES / "lookalikes.txt")
    assert [s.name for s in script.speakers] == ["安德鲁", "山姆·奥特曼"]
    assert script.speakers[1].aliases == ("奥特曼",)
    assert [t.speaker for t in script.turns] == ["安德鲁", "山姆·奥特曼"] * 2 + ["安德鲁"]
    first = script.turns[0]
    # A name wrapped over two lines joins with a space; \& is unescaped; the image is dropped;
    # the unlabelled paragraph continues the current speaker.
    assert first.paragraphs == (
        "你好，Sam。我刚读到Alex Heath的文章，他说了一些有趣的事情&观点。",
        "这一段没有标签，应该算作安德鲁的话。",
    )
    # Bold split across lines (`**…**\n。`) and emoji vanish; link text stays, URLs go.
    assert script.turns[1].text == "是的，算法的进步才是最重要的。这一点我很确定。"
    assert script.turns[2].text == "你怎么看这篇报道？"
    assert script.turns[3].text == "我认为这个链接不用念出来。"
    assert script.turns[4].text == "谢谢。"
    assert script.headings == ()


def test_headings_inside_the_dialogue() -> None:
    script = read_article(FIXTURES / "headings.txt")
    assert [(h.title, h.start_turn) for h in script.headings] == [
        ("公园为什么重要", 0),
        ("现状与不足", 2),
        ("未来的公园", 4),
        ("给读者的建议", 6),
    ]
    assert len(script.turns) == 8


def test_sample_interview() -> None:
    script = read_article(SAMPLE)
    assert script.meta.title.startswith("对话独立游戏开发者")
    assert script.meta.author == "慢速播客实验室"
    assert script.meta.date == "2025-03-18" and script.meta.time == "20:30"
    assert script.meta.source_url == "https://example.com/articles/indie-game-interview?id=42"
    assert script.meta.cover_url == "https://example.com/images/indie-game-cover.jpg"
    assert [s.name for s in script.speakers] == ["林晓", "陈默", "周一鸣"]
    assert len(script.turns) == 14
    assert [t.title for t in script.topics] == [
        "从辞职到立项",
        "小团队的分工与工具",
        "发行、定价与销量",
        "给后来者的建议",
    ]
    assert script.turns[-1].text == "非常感谢两位的分享，也谢谢现场的各位朋友。"
    _assert_speakable(script.turns)


def _assert_speakable(turns: object) -> None:
    assert isinstance(turns, tuple)
    for turn in turns:
        for paragraph in turn.paragraphs:
            assert not re.search(r"[*#>`\[\]]|https?:|www\.|\\", paragraph), paragraph
            assert not re.search(r"公众号|星标|往期|参考资料", paragraph), paragraph
            assert not any(
                0x1F000 <= ord(ch) <= 0x1FAFF or 0x2600 <= ord(ch) <= 0x27BF for ch in paragraph
            ), paragraph
            assert paragraph.strip() == paragraph and paragraph


@pytest.fixture
def seed() -> Path:
    if not SEED.exists():
        pytest.skip(f"the seed article is not at {SEED} (it lives in ../shared beside the repo)")
    return SEED


def test_seed_article(seed: Path) -> None:
    script = read_article(seed)
    assert script.meta.title == (
        "纽约时报专访奥特曼：如果时光倒流我会要OpenAI股份，马斯克的xAI是强大的对手"
    )
    assert script.meta.date == "2024-12-06"
    assert script.meta.author == "瓜哥AI新知"
    assert script.meta.source_url.startswith("http://mp.weixin.qq.com/s?__biz=MzA5NTU4NDM2MA==")
    assert script.meta.source_url.endswith("#rd")
    assert script.meta.cover_url.startswith("https://mmbiz.qpic.cn/")
    assert len(script.turns) == 59
    assert script.turn_count("安德鲁") == 30  # `主持人安德鲁`: the role, then the name
    assert script.turn_count("山姆·奥特曼") == 29
    assert [s.role for s in script.speakers] == [Role.HOST, Role.GUEST]
    assert len(script.topics) == 9
    assert script.topics[3].title == "与微软的合作关系及算力获取"
    assert script.topics[0].text.startswith("虽然OpenAI内部")
    _assert_speakable(script.turns)
    joined = "\n".join(t.text for t in script.turns)
    assert "Alex Heath" in joined
    assert "最大的因素。你知道" in joined  # the stray `**\n。` of the seed
    assert "让创作者拥有新的收入来源。" in joined  # a `。` alone on the line after `**`


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030", "gbk"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_encodings_and_newlines(tmp_path: Path, encoding: str, newline: str) -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace("🌟", "").replace("👇", "")
    path = tmp_path / "article.txt"
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    script = read_article(path)
    assert script == parse_article(text)
    assert len(script.turns) == 14


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \n\n ", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        (b"\x80 abc \xc3\x28 \xff\xff", "neither UTF-8 nor GB18030"),
        (b"\x81\x30\x81\x30" * 40, "neither UTF-8 nor GB18030"),
        (b"\xef\xbb\xbf\xc3\x28 broken after a BOM", "not valid UTF-8"),
    ],
)
def test_bad_bytes(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_article(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_article(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="is a directory"):
        read_article(tmp_path)


def test_no_labels_says_what_was_looked_for() -> None:
    with pytest.raises(ParseError) as info:
        parse_article("这是一篇普通文章。\n\n没有任何说话人。\n", "essay.txt")
    message = str(info.value)
    assert "essay.txt" in message and "**名字：**" in message and "问：/答：" in message
    assert "\n" not in message


def test_gb18030_is_detected_not_mangled() -> None:
    assert (
        decode("主持人：你好。\n嘉宾：你好。\n".encode("gb18030"))
        == "主持人：你好。\n嘉宾：你好。\n"
    )


@pytest.mark.parametrize(
    ("raw", "spoken"),
    [
        ("**加粗**文字", "加粗文字"),
        ("结束<**/details>了", "结束了"),
        ("结束</<br/>details>了", "结束了"),
        ("结束</· FIN ·details>了", "结束了"),
        ("a<b and c>d, 1 < 2", "ad, 1 < 2"),
        ('{**{< track-segment start="00:00:00.000" >}}开始', "开始"),
        ("看[链接](https://a.b/c)吧", "看链接吧"),
        ("网址 https://a.b/c?x=1 不念", "网址不念"),
        ("R\\&D 部门", "R&D部门"),
        ("_强调_ 与 snake_case", "强调与snake_case"),
        ("好的 🚀🌟 是的", "好的是的"),
        ("AT&amp;T", "AT&T"),
        ("![](https://cubox.pro/c/filters:no_upscale()?imageUrl=https%3A%2F%2Fmmbiz)好的", "好的"),
        ("[![](https://a.b/c.png)](https://a.b/d)图后文字", "图后文字"),
        ("[mp.weixin.qq.com](https://mp.weixin.qq.com/s/x)晚点团队", "晚点团队"),
        ("你好<img src=x.png>世界<br/>！", "你好世界！"),
        ("中\x00文\u200b字\ufeff", "中文字"),
        ("残留%E4%B8%AD%E6%96%87编码", "残留编码"),
        ("剩下?imageUrl=https%3A%2F%2Fx&valid=true的", "剩下的"),
        (
            '{{< styled-paragraph class="lang-cn" >}}采访者：好的。{{< /styled-paragraph >}}',
            "采访者：好的。",
        ),
        ("一种非共识------但我理解他", "一种非共识——但我理解他"),
    ],
)
def test_clean_text(raw: str, spoken: str) -> None:
    assert clean_text(raw) == spoken


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("主持人嘉宾问答QA：:*#\n \t。，ab12![]()_\\🌟"))
        | st.characters(),
        max_size=400,
    )
)
def test_arbitrary_text_parses_or_raises_parse_error(text: str) -> None:
    try:
        script = parse_article(text)
    except ParseError:
        return
    assert script.turns
    assert all(turn.paragraphs and all(p for p in turn.paragraphs) for turn in script.turns)


def test_title_line_with_a_name_is_the_title_not_a_speaker() -> None:
    text = (
        "对话 MiniMax 闫俊杰：AGI 不是大杀器\n"
        "===================\n\n"
        "**《晚点》：你们为什么做 MoE？**\n\n"
        "闫俊杰：因为成本。\n\n"
        "**《晚点》：那今天可以说说吗？**\n\n"
        "闫俊杰：还是服务每一个人。\n\n"
        "· FIN ·\n\n"
        "题图来源：《极速车王》\n"
    )
    script = parse_article(text)
    assert script.title == "对话MiniMax闫俊杰：AGI不是大杀器"
    assert [(s.name, s.role) for s in script.speakers] == [
        ("晚点", Role.HOST),
        ("闫俊杰", Role.GUEST),
    ]
    assert [t.text for t in script.turns] == [
        "你们为什么做MoE？",
        "因为成本。",
        "那今天可以说说吗？",
        "还是服务每一个人。",
    ]


def test_front_matter_gives_the_meta_and_is_never_spoken() -> None:
    text = (
        "---\ntitle: \"蔡崇信访谈\"\nauthor: 某人\ndate: '2024-04-03'\n"
        "source: https://www.youtube.com/watch?v=x\n---\n\n"
        "**Nikolai:** 你好。\n\n<details>\n<summary>View</summary>\n"
        '<p class="english-text">hello there everyone, welcome.</p>\n</details>\n\n'
        "**Joe:** 谢谢你邀请我。\n\n**Nikolai:** 再见。\n\n**Joe:** 再见。\n"
    )
    script = parse_article(text)
    assert script.meta.title == "蔡崇信访谈"
    assert script.meta.date == "2024-04-03"
    assert script.meta.source_url == "https://www.youtube.com/watch?v=x"
    assert [t.text for t in script.turns] == ["你好。", "谢谢你邀请我。", "再见。", "再见。"]


def test_account_cards_and_publisher_lines_are_not_speakers() -> None:
    text = (
        "# 标题\n\n**钛媒体AGI**\n\n钛媒体集团旗下产品。\n\n54篇原创内容\n\n公众号\n\n"
        "本文首发钛媒体App：\n\n主持人：问题一？\n\n黄仁勋：回答一。\n\n"
        "主持人：问题二？\n\n黄仁勋：回答二。\n\n下载钛媒体App，打开科技，打开财富\n\n"
        "分割线------------\n\n**钛媒体AGI**\n\n钛媒体集团旗下产品。\n\n54篇原创内容\n\n公众号\n"
    )
    script = parse_article(text)
    assert [s.name for s in script.speakers] == ["主持人", "黄仁勋"]
    assert script.turns[-1].text == "回答二。"


def test_a_plain_label_that_speaks_once_is_a_speaker_when_it_reads_as_a_name() -> None:
    text = (
        "# 三人谈\n\n主持人：欢迎两位。你们是怎么开始的？\n\n张伟：我从大学就开始做独立游戏了。\n\n"
        "李华：我补充一句，我是后来加入的，主要负责美术。\n\n举个例子：我们第一款游戏只卖了三百份。\n\n"
        "主持人：那你们怎么分工？\n\n张伟：我写代码，她画画。\n"
    )
    script = parse_article(text)
    assert [s.name for s in script.speakers] == ["主持人", "张伟", "李华"]
    assert script.turns[2].speaker == "李华"
    assert script.turns[2].paragraphs[0] == "我补充一句，我是后来加入的，主要负责美术。"
    # `举个例子：` is not a name: it stays 李华's words.
    assert script.turns[2].paragraphs[1].startswith("举个例子：")
    assert not any(p.startswith("李华") for turn in script.turns for p in turn.paragraphs)


@pytest.mark.parametrize(
    ("written", "date", "time"),
    [
        ("2025-03-18 20:30", "2025-03-18", "20:30"),
        ("2025年3月18日 20:30", "2025-03-18", "20:30"),
        ("2024-05-01T10:00:00+08:00", "2024-05-01", "10:00:00+08:00"),
        ("2024-05-01 10:00 UTC+8", "2024-05-01", "10:00+08:00"),
        ("2024-05-01 10:00 北京时间", "2024-05-01", "10:00+08:00"),
        ("2024-05-01T02:00:00Z", "2024-05-01", "02:00:00+00:00"),
        ("2024/5/1", "2024-05-01", ""),
        ("2024-05-01 25:00", "2024-05-01", ""),  # not a time of day
    ],
)
def test_the_date_keeps_the_time_and_zone_it_gives(written: str, date: str, time: str) -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace("2025-03-18 20:30", written, 1)
    script = parse_article(text)
    assert (script.meta.date, script.meta.time) == (date, time)


def test_script_yaml_keeps_the_time(tmp_path: Path) -> None:
    from interview_audio.article.script import dump_yaml, load_script

    script = read_article(SAMPLE)
    path = tmp_path / "script.yaml"
    path.write_text(dump_yaml(script), encoding="utf-8")
    assert load_script(path).meta.time == "20:30"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("time: '20:30'", "time: 21:05:00+08:00"), encoding="utf-8")
    assert load_script(path).meta.time == "21:05:00+08:00"


# --- issue 20: labels inside lines, look-alikes, footers, speech recognition ---------------------
# Short real excerpts (tests/fixtures/corpus names the sources); each breaks one rule.

KK = """# 关于未来变化，你需要知道的27件事

他就是《KK三部曲》、《5000天后的世界》的作者：凯文·凯利。他曾预言了互联网的未来。

刘润：“在书中，您提到我们要学会积极地失败。为什么这么说？”K.K.：因为所有的进步都来自失败，创新也是如此。

K.K.：好问题。人类这种高级创造力的来源是什么？

K.K.：是的，我认为你的观点正确。我将其视为小c的创造力和大C的创造力。

刘润：再次感谢kk。
"""


def test_a_label_after_the_questions_closing_quote_starts_the_answer() -> None:
    script = parse_article(KK)
    assert [t.speaker for t in script.turns] == ["刘润"] + ["凯文·凯利"] * 3 + ["刘润"]
    assert script.turns[0].text == "“在书中，您提到我们要学会积极地失败。为什么这么说？”"
    assert script.turns[1].text.startswith("因为所有的进步")
    assert "K.K." not in "".join(t.text for t in script.turns)


WUTIAOREN = """ **看理想** ：大家最近快乐吗？ **阿茂** ：我很快乐，只是我这两天喉咙有点问题。 **仁科**
：说到快乐，我之前在上海专场上有说过，快乐的反义词是幸福。 **看理想**
：为什么会觉得快乐和幸福是相反的呢？ **仁科**
：你看，叔本华说，幸福的本质是减少痛苦。

**看理想** ：你们有测过MBTI吗？

**阿茂** ：我没有测过。

**仁科** ：我测过，我是ENFP。

**仁科** ：快乐就快乐嘛，干嘛小狗！

 **三联生活周刊：** 你曾经在越南和法国接受教育，现在在美国做教授。

 **吴宝珠：** 越南还是一个发展中国家，职业数学家仍然很少。

 **三联生活周刊：你是否在很小的时候就发现了自己的数学才能？** **吴宝** **珠：**
并不是这样，我是从中学开始才非常认真地学习数学。

《英格力士》工作照三联生活周刊：你所理解的“踏实的生活”是什么样的？
**吴宝珠：**
我骨子里就是个农民。但我问张三：你怎么看？
"""


def test_labels_after_bold_text_split_by_bold_and_with_the_colon_on_the_next_line() -> None:
    script = parse_article(WUTIAOREN)
    assert [t.speaker for t in script.turns] == [
        "看理想", "阿茂", "仁科", "看理想", "仁科", "看理想", "阿茂", "仁科", "仁科",
        "三联生活周刊", "吴宝珠", "三联生活周刊", "吴宝珠", "三联生活周刊", "吴宝珠",
    ]  # fmt: skip
    assert script.turns[2].text.startswith("说到快乐")  # the wrapped colon is not read
    assert script.turns[11].text == "你是否在很小的时候就发现了自己的数学才能？"
    assert script.turns[12].text == "并不是这样，我是从中学开始才非常认真地学习数学。"
    assert script.turns[13].text.startswith(
        "你所理解的"
    )  # the photo caption glued to it is left out
    assert script.turns[14].text.endswith(
        "但我问张三：你怎么看？"
    )  # a name after a verb is no label


def test_a_list_marker_before_the_first_label_and_surnames_the_title_spells_out() -> None:
    text = """# 江晓原、刘兵：科学文化的二十年

- 江：这几年，科学文化的讨论越来越多了。

刘：是的，而且越来越多人关心科学史。

江：那我们就从科学史说起。

刘：好。
"""
    script = parse_article(text)
    assert [t.speaker for t in script.turns] == ["江晓原", "刘兵"] * 2
    assert script.turns[0].text.startswith("这几年")


DIRECTORS_END = """**主持人** ：下面想和西川美和导演聊聊。您入行时是怎样的？
 **西川美和**
：我是1974年出生的。
 **主持人** ：想问问西川导演，这种设置您有哪些考量？
 **西川美和**
：我作为女性，如果想写女性的东西，在女主角身上可能无法写得太犀利。但其实你可以问模型：
为了和他们见面，我就拼命写作品。
**有同伴是最好的奖励。** **主持人** ：这让今天的论坛有更深的意义。

现场翻译：吴英爱

 **商业合作** ：bd@vistopia.com.cn **投稿或其他事宜** ：linl@vistopia.com.cn
"""


def test_business_lines_and_a_sentence_ending_in_a_colon_are_not_speakers() -> None:
    script = parse_article(DIRECTORS_END)
    assert [s.name for s in script.speakers] == ["主持人", "西川美和"]
    assert [t.speaker for t in script.turns] == ["主持人", "西川美和"] * 2 + ["主持人"]
    assert script.turns[3].text.endswith("有同伴是最好的奖励。")
    assert not any("vistopia" in t.text or "吴英爱" in t.text for t in script.turns)


HKCNEWS_END = """記者：您一直對CNBG業務比較偏愛？

任正非：不是，對誰愛才罵誰，不愛怎麼罵他？

記者：怎麼看CBG這塊業務的成長？

任正非：它畢竟是輔助產業，目的就是賺錢。

---

請加入成為眾新聞的月費訂戶，長期支持我們的工作。所有訂戶都可以收到我們的「每周時事」通訊 。

月費訂戶 [網址：hkcnews.com/aboutus/#subscribe](/web/20211204135643/https://hkcnews.com/aboutus/#subscribe)
"""


def test_a_news_archives_subscription_plea_is_never_spoken() -> None:
    script = parse_article(HKCNEWS_END)
    assert script.turns[-1].text == "它畢竟是輔助產業，目的就是賺錢。"


def test_speech_recognition_labels_with_timestamps_brackets_and_a_misheard_label() -> None:
    header = """全球地缘政治与中国经济

发言人1 00:03
今天是2026年1月19日，欢迎大家来到三枪内参。我是负责经济新闻与地缘政治新闻的。

发言人2 00:21
我是负责中南海及其周边的重大事件、中国社会事件的。

发言人1 12:31
这个林成佑男记者，他跟很多现役军人和退役军人，他收中国的钱。

发言2 12:58
但是我觉得台湾好多人已经疯了。
"""
    script = parse_article(header)
    assert [t.speaker for t in script.turns] == ["发言人1", "发言人2"] * 2  # 发言2 is 发言人2
    assert not any(re.search(r"\d\d:\d\d", t.text) for t in script.turns)
    bracket = """【说话人1】大家好，我是 Dan。欢迎回到我的频道。
【说话人2】有没有？
【说话人1】先来说亚马逊，它本周的股价下跌将近 4%，回到了 240 美元下方。
【说话人2】没有没有。
"""
    script = parse_article(bracket)
    assert [t.speaker for t in script.turns] == ["Dan", "说话人2"] * 2
    assert script.speakers[0].aliases == ("说话人1",)
