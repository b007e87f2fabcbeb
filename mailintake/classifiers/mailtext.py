"""The texts of a mail that rules read, with a fallback for mails that only have HTML.

Rules and completeness checks read `ParsedMail.new_text`, the text the sender wrote in this
mail. Intake fills it; if it is empty (a mail whose only body is HTML, or a parser that did not
split off the quoted history) we fall back to `text` and then to the HTML turned into plain
text, so a rule never sees an empty body just because of how a mail client formats its mail.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

from mailintake.mail import ParsedMail

# Tags after which a line ends when HTML is turned into text.
_BLOCK_TAGS = frozenset(
    {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table"}
)
_SKIPPED_TAGS = frozenset({"style", "script", "head", "title"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML body: tags dropped, blocks on their own lines."""
    collector = _TextCollector()
    try:
        collector.feed(markup)
        collector.close()
    except (AssertionError, ValueError):
        # HTMLParser gives up on some broken markup; keep what it read so far.
        pass
    text = "".join(collector.parts).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in html.unescape(text).splitlines()]
    return "\n".join(line for line in lines if line)


def new_text(mail: ParsedMail) -> str:
    """What the sender wrote in this mail, as plainly as we can get it."""
    if mail.new_text.strip():
        return mail.new_text
    return full_text(mail)


def full_text(mail: ParsedMail) -> str:
    """The whole text body, quoted history included."""
    if mail.text.strip():
        return mail.text
    if mail.html:
        return html_to_text(mail.html)
    return ""
