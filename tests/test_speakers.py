"""Who the speakers are: roles from behaviour and the introduction, gender from the text and
the given name, and the evidence for both (speakers.py), on small articles written to the
shapes real ones take."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interview_audio.article.parse import parse_article
from interview_audio.article.script import Gender, Role, Script, dump_yaml, load_script
from interview_audio.article.speakers import Clues, identify, name_gender, person_in
from interview_audio.cli import app
from interview_audio.errors import ScriptError

runner = CliRunner()
CASTING = Path(__file__).parent / "fixtures" / "casting"

PANEL = (CASTING / "panel.md").read_text(encoding="utf-8")


def test_a_panel_of_four_with_one_woman() -> None:
    script = parse_article(PANEL)
    found = {s.name: (s.role, s.gender) for s in script.speakers}
    assert found == {
        "陈默": (Role.GUEST, None),  # speaks first, asks nothing; 默 is anyone's name
        "林晓": (Role.HOST, None),  # `主持人：`, and the intro says 由主持人林晓主持
        "刘建国": (Role.GUEST, Gender.MALE),
        "王芳": (Role.GUEST, Gender.FEMALE),
    }
    wang = next(s for s in script.speakers if s.name == "王芳")
    assert any("女士 after the name" in e for e in wang.gender_evidence)
    assert any("她 after the name" in e for e in wang.gender_evidence)
    liu = next(s for s in script.speakers if s.name == "刘建国")
    assert liu.gender_evidence == (
        "name: 建、国 in 刘建国: men's given-name characters (given-name table)",
    )


ACCOUNT = (CASTING / "account.md").read_text(encoding="utf-8")


def test_an_account_that_speaks_twice_is_the_narrator_not_the_guest() -> None:
    script = parse_article(ACCOUNT)
    roles = {s.name: s.role for s in script.speakers}
    assert roles == {"42章经": Role.NARRATOR, "曲凯": Role.HOST, "Albert": Role.GUEST}
    account = script.speakers[0]
    assert "named like an account or publication and asks nothing" in account.role_evidence[0]
    assert [t.role for t in script.turns][:2] == [Role.NARRATOR, Role.HOST]


QA = (CASTING / "qa.md").read_text(encoding="utf-8")


def test_qa_labels_take_their_roles_and_the_guest_borrows_the_name_the_intro_gives() -> None:
    script = parse_article(QA)
    host, guest = script.speakers
    assert (host.name, host.role, host.gender) == ("主持人", Role.HOST, None)
    assert (guest.name, guest.role, guest.gender) == ("张伟", Role.GUEST, Gender.MALE)
    assert "嘉宾" in guest.aliases  # the page, captions, tags and narrator say 张伟
    assert host.role_evidence[0] == "the label says so (问)"
    assert guest.role_evidence[0] == "the label says so (答)"
    assert guest.gender_evidence[0] == "嘉宾 is 张伟 (introduction: “以下为张伟访谈”)"
    assert "他 after the name in the introduction" in guest.gender_evidence[1]


def test_the_host_is_whoever_asks_not_whoever_comes_first_or_second() -> None:
    turns = [
        ("甲", ["我先讲讲我们的背景。我们做了十年的硬件。"]),
        ("乙", ["我补充一点，我们也做软件，而且越来越多。"]),
        ("丙", ["你们为什么转向软件？"]),
        ("甲", ["因为硬件的利润越来越薄，而软件可以不断更新。"]),
        ("丙", ["那乙总怎么看？"]),
        ("乙", ["我同意，而且软件让我们离用户更近。"]),
    ]
    roles = {s.name: s.role for s in identify(turns)}
    assert roles == {"甲": Role.GUEST, "乙": Role.GUEST, "丙": Role.HOST}


def test_the_introduction_names_the_guest_even_when_the_guest_asks_back() -> None:
    turns = [
        ("杨植麟", ["你也用Kimi吗？"]),
        ("腾讯新闻", ["用的。你们最近怎么样"]),
        ("杨植麟", ["忙，但很兴奋。"]),
    ]
    clues = Clues(intro="以下是对杨植麟的访谈全文。")
    speakers = {s.name: s for s in identify(turns, clues)}
    assert speakers["杨植麟"].role is Role.GUEST
    assert (
        speakers["杨植麟"].role_evidence[0] == "the introduction names them: “以下是对杨植麟的访谈”"
    )
    assert speakers["腾讯新闻"].role is Role.HOST


def test_a_pronoun_in_the_speakers_own_turn_says_nothing_about_them() -> None:
    turns = [
        ("主持人", ["王芳，你最近在忙什么？"]),
        ("王芳", ["王芳这个名字很常见。他是我的同事，他最近在写书。"]),
    ]
    wang = identify(turns)[1]
    assert wang.gender is Gender.FEMALE  # from the name, not from her own 他
    assert wang.gender_evidence == (
        "name: 芳 in 王芳: a woman's given-name character (given-name table)",
    )


def test_text_outranks_the_name_and_contradictions_fall_back_to_it() -> None:
    turns = [("主持人", ["欢迎。"]), ("张伟", ["谢谢。"])]
    # 伟 reads as a man's name, but the article says otherwise.
    she = identify(turns, Clues(intro="本期嘉宾是张伟。她在工厂做了二十年工程师。"))[1]
    assert she.gender is Gender.FEMALE
    assert she.gender_evidence[-1].startswith("text: 她 after the name in the introduction")
    mixed = identify(turns, Clues(intro="张伟来了。她说好。张伟走了。他说再见。"))[1]
    assert mixed.gender is Gender.MALE
    assert "the text says both" in mixed.gender_evidence
    assert mixed.gender_evidence[-1].startswith("name: 伟")


def test_unknown_stays_unknown() -> None:
    turns = [("主持人", ["你好吗？"]), ("嘉宾", ["很好。"]), ("陈默", ["我也来说两句。"])]
    for speaker in identify(turns, Clues(intro="一场关于城市的对话。")):
        assert speaker.gender is None
        assert speaker.gender_evidence == ("nothing in the text or the name says",)


@pytest.mark.parametrize(
    ("name", "gender"),
    [
        ("王芳", Gender.FEMALE),
        ("欧阳娜娜", Gender.FEMALE),
        ("张小珺", Gender.FEMALE),
        ("刘建国", Gender.MALE),
        ("闫俊杰", Gender.MALE),
        ("林晓", None),  # 晓 is given to both
        ("张月光", None),  # 月 and 光 point both ways
        ("安德鲁", None),  # a transliteration (Andrew), not a Chinese name
        ("马斯克", None),
        ("晚点", None),  # a publication: 晚 is no family name
        ("Lisa Su", Gender.FEMALE),
        ("Geoffrey Hinton", Gender.MALE),
        ("Nilay Patel", None),  # listed as a woman's name in one country only
        ("Brook Silva-Braga", None),  # as often a woman's name as a man's
        ("Jan Gehl", None),  # a man's name in Denmark, a woman's in England
        ("Chang She", None),  # pinyin says nothing
    ],
)
def test_given_names(name: str, gender: Gender | None) -> None:
    guess = name_gender(name)
    assert (guess[0] if guess else None) is gender


@pytest.mark.parametrize(
    ("phrase", "person"),
    [
        ("妙鸭产品负责人张月光", "张月光"),
        ("CBS 主持人 Brook Silva-Braga", "Brook Silva-Braga"),
        ("对杨植麟的", "杨植麟"),
        ("经极客公园整理的", None),
        ("Web3天空之城x APPSO", None),
    ],
)
def test_person_in_a_phrase(phrase: str, person: str | None) -> None:
    assert person_in(phrase) == person


def test_script_yaml_keeps_and_sets_gender(tmp_path: Path) -> None:
    script = parse_article(PANEL)
    path = tmp_path / "script.yaml"
    path.write_text(dump_yaml(script), encoding="utf-8")
    assert load_script(path) == script
    text = path.read_text(encoding="utf-8")
    assert "  gender: female\n" in text and "  gender: null\n" in text
    edited = text.replace(
        "- name: 陈默\n  role: guest\n  gender: null", "- name: 陈默\n  role: guest\n  gender: male"
    )
    path.write_text(edited, encoding="utf-8")
    chen = next(s for s in load_script(path).speakers if s.name == "陈默")
    assert chen.gender is Gender.MALE and chen.gender_evidence == ("set in the script",)
    path.write_text(text.replace("gender: female", "gender: woman"), encoding="utf-8")
    with pytest.raises(ScriptError, match=r"line \d+.*unknown gender 'woman'.*male, female"):
        load_script(path)


def test_script_command_shows_roles_genders_and_why(tmp_path: Path) -> None:
    article = tmp_path / "panel.md"
    article.write_text(PANEL, encoding="utf-8")
    table = runner.invoke(app, ["script", str(article)])
    assert table.exit_code == 0, table.output
    assert "王芳 [guest, female]: 1 turn" in table.output
    assert "陈默 [guest, gender unknown]: 2 turns" in table.output
    assert "      gender: text: 女士 after the name (“王芳女士”)" in table.output
    data = json.loads(runner.invoke(app, ["script", str(article), "--json"]).output)
    wang = next(s for s in data["speakers"] if s["name"] == "王芳")
    assert wang["gender"] == "female" and wang["role"] == "guest"
    assert wang["gender_evidence"][0] == "text: 女士 after the name (“王芳女士”)"
    assert wang["role_evidence"][0].startswith("the introduction names them: “")


def test_a_script_without_evidence_is_still_a_script() -> None:
    """Scripts built by hand (tests, tools) carry no evidence; they compare by content."""
    script = parse_article(QA)
    bare = Script(
        script.meta,
        tuple(type(s)(s.name, s.role, s.aliases, s.gender) for s in script.speakers),
        script.turns,
        script.topics,
        script.headings,
        intro=script.intro,
    )
    assert bare == script


def test_a_latin_name_in_brackets_after_a_chinese_one_is_the_same_person() -> None:
    """A real shape (腾讯科技 on OpenAI's COO): 布拉德·莱特卡普（Brad Lightcap） names the speaker
    labelled 莱特卡普, whose given name then tells what the text does not."""
    intro = (
        "首席运营官布拉德·莱特卡普（Brad Lightcap），近日首次共同接受风险投资公司20VC创始人"
        "哈里·斯特宾斯（Harry Stebbings）的专访。"
    )
    turns = [("斯特宾斯", ["你们怎么认识的？"]), ("莱特卡普", ["我们在YC共同度过了很多时光。"])]
    host, guest = identify(turns, Clues(intro=intro))
    assert (host.role, host.gender) == (Role.HOST, Gender.MALE)
    assert guest.gender is Gender.MALE
    assert guest.gender_evidence == (
        "莱特卡普 is Brad Lightcap (“莱特卡普（Brad Lightcap）”)",
        "name: Brad is a man's given name (gender-guesser)",
    )


# --- issue 20: names as listeners hear them, group genders, roles that match behaviour ----------
# Short real excerpts (tests/fixtures/corpus names the sources).


def test_short_labels_take_the_full_name_the_article_gives() -> None:
    agnes = """# 陳美齡：我而家唔係做教育局長，亦唔會做教育局長

**問：《在晴朗的一天出發》主持人**

**陳：陳美齡**

**問：點解會有疑似局長的說法？**

陳：係一個記者問我，我話No Comment。

**問：你今早可會有一個更清楚的說法？**

陳：我個朋友話我聽，「假設性問題你應該唔答」。
"""
    script = parse_article(agnes)
    assert [(s.name, s.role) for s in script.speakers] == [
        ("主持人", Role.HOST),  # traditional 問 like 问; its who's-who line is not a turn
        ("陳美齡", Role.GUEST),
    ]
    assert len(script.turns) == 4 and script.speakers[1].aliases == ("陳",)
    leung = """# 奇文共賞：梁振英如何回應替周浩鼎修改研究範疇

**行政長官梁振英被揭發私下找立法會專責調查他收取UGL5千萬元委員會副主席周浩鼎商議，梁振英人在北京。**

記者：特首，UGL委員會那裏為甚麼特首辦要指示周浩鼎去修訂文件？

行政長官：首先，它那個擬議的研究範圍不是保密的，一直都公開。

記者：為甚麼不把你的意見公開給整個委員會的委員，包括主席呢？

行政長官：我可以有很多個渠道做。
"""
    chief = parse_article(leung).speakers[1]
    assert (chief.name, chief.gender, chief.aliases) == ("梁振英", Gender.MALE, ("行政長官",))
    assert chief.gender_evidence[0].startswith("行政長官 is 梁振英 (introduction:")


def test_a_group_statement_gives_each_member_named_with_it_a_gender() -> None:
    directors = """# 我的豆瓣不能没有女导演

西川美和在北京期间，与许鞍华、杨荔钠导演进行了一场对话。三位标杆性女导演光是聚在一起，就是一种希望。

**主持人** ：我们先从许鞍华导演开始，因为您走过的路最长。

**许鞍华** ：我大学念的文学，不过是个影迷。

**主持人** ：下面想和西川美和导演聊聊。

**西川美和** ：我是1974年出生的。

**主持人** ：杨导最早也是拍纪录片的。

**杨荔钠** ：我记得我拍完出道作《老头》的时候，有外媒记者采访我。

**观众** ：请问三位导演是否有过想放弃做电影的念头？

**许鞍华** ：有一段时间我手上好几部戏都失败了。
"""
    found = {s.name: (s.role, s.gender) for s in parse_article(directors).speakers}
    assert found == {
        "主持人": (Role.HOST, None),
        "许鞍华": (Role.GUEST, Gender.FEMALE),
        "西川美和": (Role.GUEST, Gender.FEMALE),
        "杨荔钠": (Role.GUEST, Gender.FEMALE),
        "观众": (Role.HOST, None),  # the audience asks: the host's side
    }


def test_one_he_about_a_label_that_stands_for_many_reporters_says_nothing() -> None:
    turns = [
        ("記者", ["余承東講，任總之前用的iphone，現在用華為自己的高端手機？"]),
        ("任正非", ["那太先進了，我每次用的是落後手機。"]),
        ("記者", ["我認為，余承東本人還是非常有能力的。"]),
        ("任正非", ["我沒有說他沒有能力啊。你們記者他們都在幫余承東說話。"]),
    ]
    reporters = identify(turns)[0]
    assert reporters.gender is None and reporters.role is Role.HOST


def test_two_hosts_once_the_introduction_names_the_guest() -> None:
    no_priors = """No Priors Ep. 51 | Notion CEO Ivan Zhao 访谈录

**Sarah:** 大家好，欢迎来到 No Priors！今天我们的嘉宾是 Notion 的联合创始人兼 CEO，Ivan Zhao。

**Elad:** 欢迎 Ivan！

**Ivan:** 谢谢 Sarah 和 Elad 的邀请。

**Sarah:** 第一个问题，也是最难的问题：什么是 Notion？

**Ivan:**  Notion 确实一直都比较难定义，因为它可以做的事情太多了。

**Elad:**  你认为为什么没有更多人尝试构建这种统一的工具和数据呢？

**Ivan:**  我觉得人们从不同的角度尝试过。
"""
    found = {s.name: s.role for s in parse_article(no_priors).speakers}
    assert found == {"Sarah": Role.HOST, "Elad": Role.HOST, "Ivan Zhao": Role.GUEST}


def test_the_one_before_the_verb_interviews_and_clear_behaviour_outweighs_a_sentence() -> None:
    intro = "为解答这些问题，我们采访了南京大学法学院教授周安平和北京大学法学院教授赵宏。"
    turns = [
        ("三联生活周刊", ["个人在公共空间中，是否享有要求安静的权利？"]),
        ("赵宏", ["每个人都要意识到，一旦进入到公共空间之后，就可能会承担一定的容忍义务。"]),
        ("三联生活周刊", ["法律对于容忍义务，是否有明确的规定？"]),
        ("周安平", ["当然，得道歉，那是道德责任，并不是法律责任。"]),
    ]
    roles = {s.name: s for s in identify(turns, Clues(intro=intro))}
    assert roles["赵宏"].role is Role.GUEST
    assert roles["赵宏"].role_evidence[0].startswith("the introduction names them")
    # An introduction read the other way round (the publication before 专访 interviews) …
    backwards = "眾新聞日前專訪三名支持者：湯偉雄、阮民安、林作。"
    asks = [("眾新聞", [f"第{i}個問題，你點睇？"]) for i in range(6)]
    answers = [("湯偉雄", ["唔啱聽你咪唔聽，你無得唔播㗎嘛！"]) for _ in range(6)]
    dialogue = [turn for pair in zip(asks, answers, strict=True) for turn in pair]
    found = {s.name: s for s in identify(dialogue, Clues(intro=backwards))}
    assert found["眾新聞"].role is Role.HOST and found["湯偉雄"].role is Role.GUEST
    # … and who asks in every turn hosts even when one sentence says otherwise.
    wrong = "湯偉雄專訪：眾新聞談選舉"
    found = {s.name: s for s in identify(dialogue, Clues(intro=wrong))}
    assert found["眾新聞"].role is Role.HOST
    assert "behaviour this clear outweighs it" in found["眾新聞"].role_evidence[1]
