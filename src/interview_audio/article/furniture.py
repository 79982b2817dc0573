"""What is not dialogue: promotions, credits, footers, account cards and end markers.

WeChat articles and the tools that save them wrap an interview in furniture: the exporter's
source line, the account's profile card (`**晚点LatePost**`, a slogan, `969篇原创内容`, `公众号`),
picture credits (`题图来源：…`), contributor lines (`…对此文亦有贡献。`), end marks (`· FIN ·`,
`— 完 —`), publishers' calls to download an app or follow an account, related-article lists.
None of it may be spoken or become a speaker. The rules are general, not per site: they name
kinds of furniture, and each kind recurs across publishers.
"""

from __future__ import annotations

import re

from interview_audio.article.markup import EMOJI, only_links

PROMO = re.compile(
    r"公众号|星标|设.{0,2}标|扫码|二维码|长按|阅读原文|点个?[赞在]|在看|转发给|"
    r"欢迎关注|关注我们|点击关注|加入.{0,6}群|商务合作|投稿|免责声明|版权声明|未经授权|禁止.{0,4}转载|"
    r"转载.{0,8}(?:请|授权|联系)|下载.{0,8}(?:App|APP|客户端)|(?:App|APP)\s*[：:]?$|首发于?.{0,12}(?:App|APP)|"
    r"更多精彩内容|本文(?:首发|来自|转载|经授权)|独家授权|原创内容$|^\d+篇原创内容$|"
    r"商[业務务]合作|合作联系|[訂订]戶|[訂订]户|[訂订]閱|[訂订]阅|月[費费]|支持我[們们]的工作|"
    r"以上内容由\s*AI\s*生成"
)
_FOOTER = re.compile(
    r"^(?:参考资料|参考链接|参考文献|资料来源|原文链接|原始内容|来源|Source|原始视频|完整访谈视频|"
    r"访谈来源|视频来源|原视频)(?:来源|链接|地址)?\s*[:：]",
    re.IGNORECASE,
)
_CREDIT = re.compile(
    r"^(?:题图|头图|封面|配图|图片|图源|插图|视觉)(?:来源|来自|作者|设计)?\s*[:：|丨｜]|"
    r"(?:对此文|对本文)亦?有贡献|亦有贡献[。.]?$|^(?:文|图|摄影|编辑|责编|排版|校对|撰文|整理|作者|记者)"
    r"\s*[丨｜|/／]|^-?\s*本文首发于.{1,12}-?$|^(?:译文作者|译者|翻译|校译|听译|字幕)\s*[:：]|"
    r"^(?:排版|责编|编辑|校对|审校|美编|运营|监制|视觉设计)\s*[:：]|版权归.{0,12}所有|如.{0,10}侵犯了?您的|请联系(?:我们)?删除|仅(?:供|用于).{0,8}学习|"
    r"^(?:现场|現場|联合|聯合|论坛|論壇|微信内容|微信內容)?(?:翻译|翻譯|主持|摄影|攝影|策划|策劃|编辑|編輯)\s*[:：]|"
    r"^(?:采写|採寫|撰文|文字|主笔|主筆)\s*[:：|｜]|本文(?:刊载于|刊載於|选自|選自)|^题图[为為]|"
    r"^个人观点|仅供参考[。.]?$"
)
# A sponsor's message read in the middle of a show (`插播一段我们今天赞助商…的简短介绍`,
# `本期节目由…赞助播出`): as long as a turn, but an advertisement, not the conversation.
_AD_READ = re.compile(
    r"^(?:插播|接下来是|下面是)?[^。！？]{0,8}(?:今天|本期)的?赞助商|^本期(?:节目|视频|播客)由.{1,30}赞助|"
    r"^(?:广告时间|廣告時間|感谢.{1,20}对本期(?:节目|视频)的赞助)"
)
_REPOST = re.compile(r"原创文章|转载请|禁止转载|独家授权")
_SEPARATOR = re.compile(r"^(?:分割线)?\s*[-=_*—–·•~]{3,}\s*$|^分割线")
_AROUND = r"[\s·•\-—–=~*_()（）【】\[\]]*"
END_MARK = re.compile(rf"^{_AROUND}(?:FIN|END|THE END|完|全文完|本文完){_AROUND}$", re.IGNORECASE)
END_HEADINGS = re.compile(
    r"往期|推荐阅读|相关阅读|延伸阅读|精选文章|历史文章|热门文章|END\b|参考资料|推 荐 阅 读|"
    r"跳转到 ?Cubox ?查看|热点视频|更多阅读|热门推荐|猜你喜欢|精彩回顾|往期回顾|点击阅读|"
    r"^附[录錄]$|^Appendix$"
)
# The rest of an image address that an exporter broke over two lines (`&from;=appmsg)**`).
_URL_TAIL = re.compile(r"^[*\s]*[&?][\w;]+=[^\s()\u3400-\u9fff]*\)?[*\s]*")
# An editor's or a note-taker's aside inside the dialogue, never the speaker's words.
_NOTE = re.compile(
    r"^\*\*\s*(?:小结|小結|编者按|編者按|编者注|編者注|编注|編注|注|备注|備註)\s*[:：]"
)
_TIMESTAMP = re.compile(r"^[\[(（]?\d{1,2}:\d{2}(?::\d{2})?[\])）]?$")
# An editor's line about what the transcript leaves out (`…會見傳媒談話（前段部分談一帶一路省略）`).
_OMITTED = re.compile(r"[（(][^（()）]{0,24}(?:省略|从略|從略|略去|前略|下略|以下略)[）)]$")
_CARD_COUNT = re.compile(r"^\d+\s*篇原创内容$")
_CARD_WORD = re.compile(r"^(?:公众号|视频号|小程序|，|,)$")


def furniture_kind(raw: str, cleaned: str) -> str:
    """What kind of never-spoken line this is ("" when it may be speech): images and bare
    links, promotions, credits, footers, separators, lines of only emoji or punctuation."""
    stripped = raw.strip()
    if not cleaned or not re.search(r"\w", cleaned):
        return "symbols"
    if _SEPARATOR.match(stripped) or _SEPARATOR.match(cleaned):
        return "separator"
    tail = _URL_TAIL.match(stripped)
    if (
        only_links(stripped)
        or tail
        and (not stripped[tail.end() :].strip(" *") or only_links(stripped[tail.end() :]))
    ):
        return "link"
    if stripped.startswith("|") and stripped.endswith("|"):
        return "table"
    if _NOTE.match(stripped) or len(cleaned) < 80 and _OMITTED.search(cleaned):
        return "note"
    if _TIMESTAMP.match(cleaned):
        return "timestamp"
    if EMOJI.match(stripped.lstrip("*# ")) and len(cleaned) < 80:
        return "symbols"
    if _FOOTER.match(cleaned):
        return "footer"
    if _CREDIT.search(cleaned):
        return "credit"
    if PROMO.search(cleaned) and (len(cleaned) < 80 or _REPOST.search(cleaned)):
        return "promo"
    if _AD_READ.match(cleaned):
        return "promo"
    return ""


_CONTACT = re.compile(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]|(?<![A-Za-z0-9_@.])@[A-Za-z0-9_]{3,}|"
    r"(?<![A-Za-z0-9.@_-])[A-Za-z0-9-]+\.(?:com|cn|net|org|io|hk|tw)(?![A-Za-z0-9-])"
)


def has_contact(cleaned: str) -> bool:
    """An e-mail address, an @handle or a web address: after the last answer, that is the
    show's or the publisher's sign-off (`欢迎大家在 Twitter 上关注 @NoPriorsPod…`)."""
    return bool(_CONTACT.search(cleaned))


def is_furniture(raw: str, cleaned: str) -> bool:
    return bool(furniture_kind(raw, cleaned))


def is_image(raw: str) -> bool:
    """A line that is only pictures (with or without links around them)."""
    stripped = raw.strip()
    return stripped.startswith(("![", "[![")) and only_links(stripped)


_PICTURE_END = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)[*\s]*$")


def ends_in_picture(line: str) -> bool:
    """A picture alone, or one glued to the end of a paragraph (`…一个整体。**![](…)`): what
    stands under it is its caption."""
    return is_image(line) or bool(_PICTURE_END.search(line))


def is_end_mark(cleaned: str) -> bool:
    """`· FIN ·`, `— 完 —`, `-END-`, or a short related-articles heading: the dialogue is over."""
    text = cleaned.strip(":： ")
    return bool(END_MARK.match(text)) or (len(text) < 14 and bool(END_HEADINGS.search(text)))


def account_cards(lines: list[str], cleaned: list[str]) -> set[int]:
    """Lines of embedded account profile cards: a name, a slogan, `N篇原创内容`, `公众号`.

    The card is anchored on its `N篇原创内容` line; the few short lines around it (the bold
    name and slogan above, the `公众号` and stray comma below) belong to it."""
    found: set[int] = set()
    for index, text in enumerate(cleaned):
        if not _CARD_COUNT.match(text):
            continue
        found.add(index)
        seen = 0
        back = index - 1
        while back >= 0 and seen < 2:
            if cleaned[back]:
                if len(cleaned[back]) > 160:
                    break
                found.add(back)
                seen += 1
            elif lines[back].strip():
                found.add(back)  # an image (the avatar) inside the card
            back -= 1
        forward = index + 1
        while forward < len(lines) and (
            not lines[forward].strip() or _CARD_WORD.match(cleaned[forward])
        ):
            found.add(forward)
            forward += 1
    return found
