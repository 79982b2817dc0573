"""`interview-audio script`: readable, JSON and YAML output, and one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interview_audio.article.chapters import find_chapters
from interview_audio.article.parse import read_article
from interview_audio.article.script import load_script
from interview_audio.choices import ChapterMethod
from interview_audio.cli import app

SAMPLE = Path(__file__).parents[1] / "examples" / "sample.txt"
CORPUS = Path(__file__).parent / "fixtures" / "corpus"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_79d8b0fa45fee915.txt"
runner = CliRunner()


def test_script_prints_speakers_topics_and_turns() -> None:
    result = runner.invoke(app, ["script", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "林晓 [host, gender unknown]: 7 turns" in result.output  # label `主持人林晓`
    assert "周一鸣 [guest, male]: 3 turns" in result.output
    assert "role:   the label says so (主持人); asks in 5 of 7 turns" in result.output
    assert "gender: name: 鸣 in 周一鸣: a man's given-name character" in result.output
    assert "Turns:    14" in result.output
    assert "2. 小团队的分工与工具" in result.output
    assert " 13 林晓: 非常感谢两位的分享" in result.output


def test_script_json_shape() -> None:
    result = runner.invoke(app, ["script", str(SAMPLE), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["title"].startswith("对话独立游戏开发者")
    assert data["speakers"][1] == {
        "name": "陈默",
        "role": "guest",
        "gender": None,
        "aliases": [],
        "turns": 4,
        "role_evidence": ["answers", "asks in 0 of 4 turns; median turn 63 characters"],
        "gender_evidence": ["nothing in the text or the name says"],
    }
    assert data["topics"][2]["title"] == "发行、定价与销量"
    assert [t["index"] for t in data["turns"]] == list(range(14))
    assert data["turns"][1]["speaker"] == "陈默"
    assert data["turns"][1]["text"].startswith("那是2021年的秋天。")


def test_yaml_round_trip_and_hand_edit(tmp_path: Path) -> None:
    out = tmp_path / "script.yaml"
    result = runner.invoke(app, ["script", str(SAMPLE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    parsed = read_article(SAMPLE)
    assert load_script(out) == replace(parsed, chapters=find_chapters(parsed))
    # A user fixes a misattributed line by hand; the edited script is read back as edited.
    edited = out.read_text(encoding="utf-8").replace(
        "- speaker: 周一鸣\n  text: 其实不需要说服", "- speaker: 陈默\n  text: 其实不需要说服", 1
    )
    out.write_text(edited, encoding="utf-8")
    script = load_script(out)
    assert script.turns[3].speaker == "陈默"
    assert script.turn_count("周一鸣") == 2
    result = runner.invoke(app, ["script", str(out), "--json"])
    assert json.loads(result.output)["turns"][3]["speaker"] == "陈默"


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("title: x\nturns:\n  - speaker: A\n    text: [oops\n", "line 4: invalid YAML"),
        (
            "title: x\nturns:\n  - speaker: A\n    txt: hello\n",
            "line 4.*unknown key 'txt'.*valid keys: speaker, text",
        ),
        ("title: x\n", "missing `turns:`"),
        ("title: x\nturns: []\n", "no turns"),
        (
            "title: x\nspeakers:\n  - name: A\n    role: boss\nturns:\n  - {speaker: A, text: hi}\n",
            "line 4.*unknown role 'boss'.*host, guest",
        ),
        (
            "title: x\nchapters:\n  - {title: c, start_turn: 5}\nturns:\n  - {speaker: A, text: hi}\n",
            "line 3.*out of range",
        ),
        ("!!python/object/apply:os.system ['echo hacked']\n", "invalid YAML|expected a mapping"),
    ],
)
def test_yaml_script_errors_say_where(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "script.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    result = runner.invoke(app, ["script", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert str(path) in result.output
    assert re.search(message, result.output), result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "is empty"),
        (b"\x00\x01\x02binary\x00", "binary"),
        ("普通文章，没有说话人。\n".encode(), "no speaker labels found"),
    ],
)
def test_bad_input_is_one_line_on_stderr(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "article.txt"
    if content is not None:
        path.write_bytes(content)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "interview_audio", "script", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_script_shows_the_chapters_render_will_use_in_every_form(tmp_path: Path) -> None:
    expected = [(c.title, c.start_turn) for c in find_chapters(read_article(SAMPLE), "shift")]
    table = runner.invoke(app, ["script", str(SAMPLE), "--chapters", "shift"])
    assert table.exit_code == 0, table.output
    for title, start in expected:
        assert f"turn {start:>3}  {title}" in table.output
    data = json.loads(
        runner.invoke(app, ["script", str(SAMPLE), "--json", "--chapters", "shift"]).output
    )
    assert [(c["title"], c["start_turn"]) for c in data["chapters"]] == expected
    out = tmp_path / "script.yaml"
    runner.invoke(app, ["script", str(SAMPLE), "--chapters", "shift", "-o", str(out)])
    assert [(c.title, c.start_turn) for c in load_script(out).chapters] == expected
    bad = runner.invoke(app, ["script", str(SAMPLE), "--chapters", "topics"])
    assert bad.exit_code == 2 and "'topics'" in bad.output
    assert all(f"'{method}'" in bad.output for method in ChapterMethod)


def test_seed_script_json_lists_distinct_chapters() -> None:
    if not SEED.exists():
        pytest.skip(f"the seed article is not at {SEED} (it lives in ../shared beside the repo)")
    data = json.loads(runner.invoke(app, ["script", str(SEED), "--json"]).output)
    assert len(data["turns"]) == 59
    assert [s["turns"] for s in data["speakers"]] == [30, 29]
    assert len(data["topics"]) == 9
    titles = [c["title"] for c in data["chapters"]]
    assert len(titles) == 11 and len(set(titles)) == len(titles)
    assert data["warnings"] == []


def test_script_says_what_was_left_to_the_narrator_or_out() -> None:
    result = runner.invoke(app, ["script", str(CORPUS / "blog_baoyu_petersson.md")])
    assert result.exit_code == 0, result.output
    assert "Narrator:  the title" in result.output
    assert re.search(r"lines \d+-\d+, \d+ non-blank, before the dialogue", result.output)
    data = json.loads(
        runner.invoke(
            app, ["script", str(CORPUS / "bilingual_trailing_english.md"), "--json"]
        ).output
    )
    assert any(item["what"].startswith("translation section") for item in data["left_out"])
    kept = runner.invoke(
        app,
        ["script", str(CORPUS / "bilingual_trailing_english.md"), "--keep-translation", "--json"],
    )
    assert len(json.loads(kept.output)["turns"]) == 12


def test_script_warns_about_unspeakable_text_with_turn_and_text(tmp_path: Path) -> None:
    path = tmp_path / "script.yaml"
    path.write_text(
        "title: t\nturns:\n  - {speaker: 主持人, text: 你好。}\n"
        "  - {speaker: 嘉宾, text: '看这里 https://example.com/x?id=1 和 %E4%B8%AD 吧。'}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["script", str(path)])
    assert result.exit_code == 0
    assert "Warnings (" in result.output
    assert "turn 1 (嘉宾): a URL: 'https://example.com/x?id=1'" in result.output
    assert "turn 1 (嘉宾): percent-encoding: '%E4%B8%AD'" in result.output
    data = json.loads(runner.invoke(app, ["script", str(path), "--json"]).output)
    assert {w["kind"] for w in data["warnings"]} >= {"a URL", "percent-encoding"}
