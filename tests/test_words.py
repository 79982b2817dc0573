"""Word boundaries for every stage that cuts Chinese text (interview_audio.words)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from interview_audio.words import boundaries, tokenize, words


def test_traditional_text_is_segmented_like_its_simplified_form() -> None:
    """jieba's dictionary is Simplified: without OpenCC 操作系統 and 影響 fall apart."""
    traditional = words("在操作系統方面會對華為有什麼樣的影響")
    simplified = words("在操作系统方面会对华为有什么样的影响")
    assert [len(word) for word in traditional] == [len(word) for word in simplified]
    assert "操作系統" in traditional and traditional[-1] == "影響"


@given(st.text(alphabet="華為的操作系统影響在中國企業Ab1 ，。", max_size=40))
def test_words_give_the_text_back_with_their_offsets(text: str) -> None:
    assert "".join(words(text)) == text
    for word, start, end in tokenize(text):
        assert text[start:end] == word
    assert {0, len(text)} <= boundaries(text)
