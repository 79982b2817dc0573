"""The editorial introduction, read by the narrator: what is read and what is not, on real
excerpts (tests/fixtures/headings, the corpus and the seed), and where a listener meets it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from interview_audio.article.intro import SHORT_CHARS, brief
from interview_audio.article.parse import read_source
from interview_audio.article.script import Script, load_script
from interview_audio.episode import intro_paragraphs
from interview_audio.pipeline import RenderOptions, render

FIXTURES = Path(__file__).parent / "fixtures"
SEED = Path(__file__).resolve().parents[2] / "shared/seed/000_79d8b0fa45fee915.txt"
ARTICLES = sorted(
    path
    for folder in ("headings", "corpus")
    for path in (FIXTURES / folder).glob("*.md")
    if path.name != "README.md"
)
UNSPEAKABLE = re.compile(r"https?:|www\.|\]\(|!\[|\*\*|<[A-Za-z/]|&[a-z]+;|\{\{|^>|^\s*[-|#]")


def intro(name: str) -> Script:
    return read_source(FIXTURES / name).script


def test_the_lead_paragraphs_are_read_and_the_page_around_them_is_not() -> None:
    script = intro("headings/wechat_kanlixiang_directors.md")
    full = "\n".join(script.intro)
    assert script.intro[0].startswith("夏天到达尾声")
    assert "与许鞍华、杨荔钠导演进行了一场对话。三位标杆性女导演" in full
    for page_text in ("小懒自动备份", "返回列表页", "永远的托词"):  # credit, link, caption
        assert page_text not in full
    short = "".join(brief(script))
    assert "进行了一场对话" in short and len(short) <= SHORT_CHARS


def test_bylines_decks_captions_and_bold_paragraphs() -> None:
    script = intro("headings/wechat_sanlian_chenchong.md")
    full = "\n".join(script.intro)
    assert script.intro[0].startswith("几年前，作家金宇澄")
    assert "这让我想起导演姜文对她的评语" in full  # a bold paragraph is prose
    for page_text in (
        "孙雅兰",
        "童年的“猫鱼”",
        "《猫鱼》封面",
        "原创内容",
    ):  # byline, deck, caption
        assert page_text not in full
    # Short: from the sentence that says who talks to whom.
    assert "".join(brief(script)).startswith("7月底的一个周末，正在美国忙于拍戏的陈冲接受了本刊")


def test_a_byline_after_the_introduction_and_the_interviews_own_title() -> None:
    script = intro("headings/wechat_sanlian_wubaozhu.md")
    assert len(script.intro) == 3 and script.intro[0].startswith("近日，17岁女孩姜萍")
    full = "\n".join(script.intro)
    for page_text in ("苗千", "数学是一个整体", "专访菲尔茨奖得主", "吴宝珠教授在授课"):
        assert page_text not in full
    short = "".join(brief(script))
    assert "菲尔茨奖得主吴宝珠教授在2019年接受了本刊专访。吴宝珠1972年出生" in short


def test_figure_captions_who_is_who_and_pictures_glued_to_a_sentence() -> None:
    agnes = intro("headings/news_hkcnews_agneschan.md")
    assert agnes.intro == (
        "陳美齡今早接受商台節目《在晴朗的一天出發》時，被主持陳志雲等人多次追問有關她是否出任"
        "教育局長。這是陳美齡上月底接受《眾新聞》訪問後，首次公開談及出任教育局長一事。",
    )
    liurun = intro("headings/wechat_liurun_kk.md")
    assert (
        liurun.intro[-1] == "如果你还未读过他的书，我建议你，至少你要花点时间，读完今天这篇专访。"
    )
    assert not any("主笔" in paragraph for paragraph in liurun.intro)


def test_an_epigraph_above_the_byline_is_not_the_introduction() -> None:
    script = intro("corpus/cubox_latepost_minimax.md")
    full = "\n".join(script.intro)
    assert script.intro[0].startswith("在热闹的中国大模型创业圈")
    assert script.intro[-1] == "以下是《晚点LatePost》与MiniMax创始人闫俊杰的对话。"
    for page_text in ("程曼祺", "宋玮", '几乎没有退路。"', "做分享"):  # epigraph, bylines, caption
        assert page_text not in full
    assert "以下是《晚点LatePost》与MiniMax创始人闫俊杰的对话。" in brief(script)


def test_the_seed_introduction_loses_its_link() -> None:
    if not SEED.exists():
        pytest.skip(f"the seed article is not at {SEED} (it lives beside the repository)")
    script = read_source(SEED).script
    assert script.intro == (
        "本文内容整理自山姆·阿特曼接受New York Times Events Youtube频道专访，"
        "公开发表于2024年12月04日。",
    )


@pytest.mark.parametrize("path", ARTICLES, ids=lambda path: path.name)
def test_no_introduction_reads_markup_and_the_brief_is_part_of_it(path: Path) -> None:
    script = read_source(path).script
    for paragraph in script.intro:
        assert not UNSPEAKABLE.search(paragraph), paragraph
        assert paragraph == paragraph.strip() and len(paragraph) >= 8
    short = brief(script)
    joined = "".join(script.intro)
    for piece in short:  # whole sentences of the introduction, or one cut at a comma
        assert piece in joined or piece[:-1] in joined, piece
    if len(joined) <= SHORT_CHARS:
        assert short == script.intro
    assert sum(map(len, short)) <= SHORT_CHARS + 1


def test_short_and_full_intro_modes() -> None:
    script = intro("headings/wechat_kanlixiang_echo.md")
    full = intro_paragraphs(script, "full")
    short = intro_paragraphs(script, "short")
    assert full[0] == "脱口秀演员Echo，和她的小小胜利。" and short[:2] == full[:2]
    assert full[2:] == list(script.intro)
    assert short[2:] == list(brief(script)) and len(short) < len(full)
    assert intro_paragraphs(script, "none") == []


def test_the_narrator_reads_it_in_the_episode_captions_and_page(tmp_path: Path) -> None:
    """A script.yaml keeps the introduction (edit it there); a render reads it aloud."""
    source = intro("headings/news_hkcnews_renzhengfei.md")
    path = tmp_path / "script.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "title": "任正非答記者問",
                "intro": list(source.intro),
                "turns": [
                    {"speaker": "記者", "text": "華為的治理方向是什麼？"},
                    {"speaker": "任正非", "text": "我們是集體領導。"},
                ],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    assert load_script(path).intro == source.intro
    report = render(
        path,
        RenderOptions(
            output=tmp_path / "out", engine="espeak", cache_dir=tmp_path / "cache", intro="full"
        ),
    )
    said = "華為創辦人任正非在華為深圳總部接受傳媒採訪"
    assert said in (report.folder / "episode.vtt").read_text(encoding="utf-8")
    assert said in (report.folder / "index.html").read_text(encoding="utf-8")
    assert load_script(report.folder / "script.yaml").intro == source.intro
