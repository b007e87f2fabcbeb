"""What the sender wrote in this mail, apart from the quoted history and the signature.

Rules, completeness checks and the engineer-command parser read only the new text; the whole body
stays in `ParsedMail.text`. A mail is read as lines: `>`-quoted lines are history, and so is
everything after a reply marker ("On … wrote:", "Op … schreef …:", "Am … schrieb …:",
"-----Original Message-----", an Outlook From/Sent/To/Subject block in English, Dutch or German),
unless the marker introduces a `>` block, in which case the sender's text may go on below it
(bottom posting, inline answers). A forward is new text as a whole: the desk needs what was
forwarded. A signature ("-- ", a sign-off with a name under it, "Sent from my iPhone") is taken
off the end only when what follows it looks like a signature, because losing a customer's words
costs more than keeping a name. The new text is never empty when the mail has text: if
everything looks quoted, the whole text is the new text and `fallback` says so.

mail-parser-reply was measured and not used: it misses the common Dutch Gmail and Apple Mail
attributions, drops bottom-posted replies, strips every line's indentation, and takes real content
("Thanks, the router works now…", lists with "- ") for signatures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mailintake.intake.html_text import html_to_text

# Attribution lines are matched on up to three joined lines, since clients wrap long names and
# addresses ("On …, Corey Donohoe\n<reply@github.com>\nwrote:"). A joined line longer than this is
# prose, not an attribution, and bounding it keeps the matching linear on pathological bodies.
MAX_ATTRIBUTION_LINES = 3
MAX_ATTRIBUTION_CHARS = 400

QUOTE_MARK = re.compile(r"^[ \t]*>")
LINK_FRAGMENT = re.compile(r"[/=&?()<>%]")
# Language-bound attributions. Each needs a digit too (every client puts a date in), so that
# "On the invoice you wrote:" in a customer's own text does not cut it, and an address or a `>`
# block under it.
ATTRIBUTIONS = (
    re.compile(r"^On\s.{1,300}?\b(?:wrote|sent|writes)\s*:$", re.IGNORECASE),
    # Gmail NL "Op ma 3 nov 2025 om 10:12 schreef Jan <jan@x.nl>:", Apple NL "Op 3 nov. 2025
    # om 10:12 heeft Jan <jan@x.nl> het volgende geschreven:".
    re.compile(r"^Op\s.{1,300}?\b(?:schreef|geschreven)\b.{0,300}:$", re.IGNORECASE),
    # "Am 03.11.2025 um 10:12 schrieb Jan <jan@x.de>:" and "Jan <jan@x.de> schrieb am 03.11.…:".
    re.compile(r"^Am\s.{1,300}?\bschrieb\b.{0,300}:$", re.IGNORECASE),
    re.compile(r"^.{1,200}\bschrieb am\b.{1,200}:$", re.IGNORECASE),
    re.compile(r"^Le\s.{1,300}?\ba\s+écrit\s*:$", re.IGNORECASE),
)
# "Jan Jansen wrote:" without a date, and attributions in other languages, count only when a
# `>` block follows, which is what makes them certain.
WROTE = re.compile(
    r"\b(?:wrote|schreef|geschreven|schrieb|a écrit|escribió|napisał|написал|написала)\s*:$",
    re.IGNORECASE,
)
ATTRIBUTION_START = re.compile(r"^(?:On|Op|Am|Le)\s", re.IGNORECASE)
DATE_OR_TIME = re.compile(r"\d{1,4}[-./]\d{1,2}[-./]\d{2,4}|\b\d{1,2}:\d{2}\b")
SEPARATOR = re.compile(
    r"^-{2,}\s*(?:original message|reply message|oorspronkelijk bericht|origineel bericht|"
    r"ursprüngliche nachricht|original nachricht|originalnachricht|antwort nachricht"
    r"|message d'origine)\s*-{2,}$",
    re.IGNORECASE,
)
FORWARD = re.compile(
    r"^(?:-{2,}\s*(?:forwarded message|doorgestuurd bericht|weitergeleitete nachricht|"
    r"message transféré)\s*-{2,}"
    r"|begin forwarded message:|begin doorgestuurd bericht:"
    r"|anfang der weitergeleiteten nachricht:)$",
    re.IGNORECASE,
)
# A line of an Outlook header block: "From: …", "*Van:* …", "De : …".
HEADER_LINE = re.compile(r"^\*{0,2}(?P<key>[^\W\d_]{1,12})\*{0,2}[ \t]?:\*{0,2}(?:\s|$)")
FROM_KEYS = frozenset({"from", "van", "von", "de"})
OTHER_KEYS = frozenset(
    {
        "sent", "date", "to", "cc", "subject",
        "verzonden", "datum", "aan", "onderwerp",
        "gesendet", "an", "betreff",
        "envoyé", "à", "objet",
    }
)  # fmt: skip
SUBJECT_KEYS = frozenset({"subject", "onderwerp", "betreff", "objet"})
FORWARD_SUBJECT = re.compile(r"^(?:fw|fwd|doorst|wg|tr|vs)\s*:", re.IGNORECASE)
HEADER_BLOCK_REACH = 16  # lines a header block may span, blank lines and wrapping included
RULE_LINE = re.compile(r"^[-_=*]{8,}$")
TITLED_RULE = re.compile(r"^-{2,}\s*[^\W\d_].{2,40}?-{2,}$")

# RFC 3676's "-- ". Transports and HTML conversion often drop the space, and real signatures
# under a bare "--" hold prose ("Old programmers never die."), so both are trusted alike.
SIGNATURE_DASHES = re.compile(r"^--$")
# A dash before a name at the very end, "-Abhishek Kona" or "-- Tim"; a single dash needs no
# space after it, so that a last list item ("- Jan") is not taken for a name.
DASH_NAME = re.compile(r"^(?:-(?=\S)|--\s?|—\s?)[A-Z][\w.'-]*(?:\s[A-Z][\w.'-]*){0,3}$")
SIGNOFF_PHRASES = (
    r"met vriendelijke groet(?:en)?|vriendelijke groet(?:en)?|met hartelijke groet(?:en)?"
    r"|hartelijke groet(?:en)?|met groet(?:en)?|groet(?:en|jes)?|mvg|m\.v\.g\.?|gr\.?"
    r"|alvast bedankt|bij voorbaat dank|bedankt|dank je wel|dank u wel"
    r"|kind regards|best regards|warm regards|regards|best wishes|best|cheers|sincerely"
    r"|yours sincerely|all the best|thanks|thank you|many thanks|thanks in advance"
    r"|mit freundlichen gr(?:ü|ue)(?:ß|ss)en|freundliche gr(?:ü|ue)(?:ß|ss)e"
    r"|(?:viele|beste|liebe) gr(?:ü|ue)(?:ß|ss)e|gru(?:ß|ss)|mfg|lg|vg"
)
SIGNOFF = re.compile(rf"^(?:{SIGNOFF_PHRASES})[\s,.!]*$", re.IGNORECASE)
# "Regards, Roman" / "Groet, Jan" on one line.
SIGNOFF_WITH_NAME = re.compile(
    rf"^(?:{SIGNOFF_PHRASES})\s*,\s*[A-Z][\w.'-]*(?:\s[A-Z][\w.'-]*){{0,3}}$", re.IGNORECASE
)
MOBILE = re.compile(
    r"^(?:sent from|sent with|sent via|get outlook for|download outlook for"
    r"|verzonden vanaf|verstuurd vanaf|verzonden vanuit|verzonden met|verstuurd met"
    r"|outlook voor \S+ downloaden|gesendet von|gesendet mit|gesendet vom"
    r"|von meinem \S+(?: \S+)? gesendet)\b",
    re.IGNORECASE,
)
URL = re.compile(r"\(?<?https?://\S+")
POSTSCRIPT = re.compile(r"^p\.?\s?s\b", re.IGNORECASE)
# Legal small print under a signature is prose too; these words say it is not the customer's.
DISCLAIMER = re.compile(
    r"disclaimer|vertrouwelijk|confidential|vertraulich|geadresseerde|intended (?:solely )?for"
    r"|bestemd voor|addressee|empfänger|kvk|chamber of commerce|handelsregister"
    r"|environment|milieu|umwelt",  # "think before you print" banners
    re.IGNORECASE,
)
MAX_SIGNATURE_LINES = 30

# Where HTML mail clients put the quoted part; the text before it is what the sender wrote. Tags
# are found with a pattern that cannot run past the next "<", and their attributes are searched
# as plain strings, so hostile HTML cannot make the search quadratic.
HTML_TAG = re.compile(r"<(div|blockquote|hr)\b([^<>]*)>", re.IGNORECASE)
HTML_QUOTE_ATTRIBUTES = {
    "div": (
        "gmail_quote",  # Gmail
        "divrplyfwdmsg",  # Outlook
        "appendonsend",  # Outlook
        "moz-cite-prefix",  # Thunderbird
        "yahoo_quoted",  # Yahoo
        "outlookmessageheader",  # old Outlook Web Access
        "domino-section",  # Lotus Notes
    ),
    "blockquote": ("type=cite",),  # Apple Mail, Thunderbird
    "hr": ("stopspelling",),  # Outlook
}
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Reply:
    """One mail body split in three; `markers` names what was found, for explaining a split."""

    new_text: str
    quoted: str = ""
    signature: str = ""
    # True when everything looked quoted and `new_text` is therefore the whole text.
    fallback: bool = False
    markers: tuple[str, ...] = ()


def split_reply(text: str, *, html: str | None = None) -> Reply:
    """Split a plain-text body into new text, quoted history and signature.

    `html` is the mail's HTML body, if any: it stands in for an empty `text`, and where the text
    shows no reply marker its quote container (Gmail, Apple Mail, Outlook, Thunderbird) says
    where the history starts.
    """
    if not text.strip() and html:
        text = html_to_text(html)
    if not text.strip():
        return Reply(new_text="")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kinds, markers = _mark_quoted(lines)
    if markers == ["forward"]:
        return Reply(new_text=_join(lines), markers=("forward",))
    if not markers and html:
        cut = _html_cut(lines, html)
        if cut is not None:
            kinds[cut:] = ["quoted"] * (len(lines) - cut)
            markers.append("html-quote")
    new_indexes = [index for index, kind in enumerate(kinds) if kind == "new"]
    signature_at, signature_marker = _find_signature([lines[index] for index in new_indexes])
    signature_indexes = new_indexes[signature_at:] if signature_marker else []
    if signature_marker:
        for index in signature_indexes:
            kinds[index] = "signature"
        markers.append(signature_marker)
    new_text = _join(line for line, kind in zip(lines, kinds, strict=True) if kind == "new")
    quoted = _join(line for line, kind in zip(lines, kinds, strict=True) if kind == "quoted")
    signature = _join(lines[index] for index in signature_indexes)
    if not new_text and signature:
        # "Bedankt!\nJan" above a quote is the whole message, not a signature.
        new_text, signature = signature, ""
        markers.append("signature-kept")
    if not new_text:
        return Reply(new_text=_join(lines), fallback=True, markers=(*markers, "fallback"))
    return Reply(new_text, quoted, signature, markers=tuple(markers))


def _join(lines: Iterable[str]) -> str:
    """Lines back to text, with the blank runs left by removed quotes folded to one blank line."""
    joined = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", joined).strip("\n")


def _is_quoted(line: str) -> bool:
    return QUOTE_MARK.match(line) is not None


def _is_blank(line: str) -> bool:
    return not line.strip()


def _mark_quoted(lines: list[str]) -> tuple[list[str], list[str]]:
    """Each line as "new" or "quoted", and the markers that decided it."""
    kinds = ["new"] * len(lines)
    markers: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _is_quoted(line) or _is_wrapped_quote(lines, index):
            kinds[index] = "quoted"
            if "quote-marks" not in markers:
                markers.append("quote-marks")
            index += 1
            continue
        if _is_blank(line):
            index += 1
            continue
        found = _marker_at(lines, index)
        if found is None:
            index += 1
            continue
        marker, start, end = found
        if marker == "forward":
            if not markers:
                # The first marker is a forward: all of it is what the sender brings to the desk.
                return kinds, ["forward"]
            marker = "forward-in-history"
        if marker not in markers:
            markers.append(marker)
        after = end
        while after < len(lines) and _is_blank(lines[after]):
            after += 1
        if after < len(lines) and _is_quoted(lines[after]):
            # The marker heads a `>` block: the sender may write on below it.
            kinds[start:after] = ["quoted"] * (after - start)
            index = after
            continue
        kinds[start:] = ["quoted"] * (len(lines) - start)
        break
    _quote_blank_lines_inside_blocks(lines, kinds)
    return kinds, markers


def _is_wrapped_quote(lines: list[str], index: int) -> bool:
    """An unmarked fragment between two quoted lines, such as the tail of a wrapped link.

    Only a link-like fragment without spaces counts: "Ja" or a sentence there is an answer.
    """
    if index == 0 or index + 1 >= len(lines):
        return False
    fragment = lines[index].strip()
    return (
        LINK_FRAGMENT.search(fragment) is not None
        and " " not in fragment
        and _is_quoted(lines[index - 1])
        and _is_quoted(lines[index + 1])
    )


def _quote_blank_lines_inside_blocks(lines: list[str], kinds: list[str]) -> None:
    previous = None
    for index, line in enumerate(lines):
        if _is_blank(line):
            continue
        if previous is not None and kinds[previous] == kinds[index] == "quoted":
            for between in range(previous + 1, index):
                kinds[between] = "quoted"
        previous = index


def _marker_at(lines: list[str], index: int) -> tuple[str, int, int] | None:
    """The reply or forward marker starting on line `index`: (marker, first line, end line)."""
    line = lines[index].strip()
    if FORWARD.match(line):
        return "forward", index, index + 1
    if SEPARATOR.match(line):
        return "separator", index, index + 1
    block = _header_block_at(lines, index)
    if block is not None:
        return block
    attribution_end = _attribution_end(lines, index)
    if attribution_end is not None:
        return "attribution", index, attribution_end
    return None


def _header_block_at(lines: list[str], index: int) -> tuple[str, int, int] | None:
    """An Outlook-style From/Sent/To/Subject block (English, Dutch, German, French).

    The names come in any order (GMX puts "Gesendet" first), in text made from HTML with a blank
    line between them, and a value may wrap onto the next line.
    """
    if _header_key(lines[index]) is None:
        return None
    keys: set[str] = set()
    forwarded = False
    end = position = index
    while position < len(lines) and position - end < 2 and position - index < HEADER_BLOCK_REACH:
        line = lines[position].strip()
        key = _header_key(line)
        if key is not None:
            keys.add(key)
            end = position + 1
            if key in SUBJECT_KEYS:
                value = line.split(":", 1)[1].strip().strip("*").strip()
                forwarded = FORWARD_SUBJECT.match(value) is not None
        position += 1
    # From and two more names: "Van: 9:00" / "Aan: de balie" in a customer's own text is not one.
    if not keys & FROM_KEYS or len(keys - FROM_KEYS) < 2:
        return None
    start = index
    before = index - 1
    while before >= 0 and _is_blank(lines[before]):
        before -= 1
    if before >= 0 and (
        RULE_LINE.match(lines[before].strip()) or TITLED_RULE.match(lines[before].strip())
    ):
        # Outlook's "________________________________" or a "----- Original Nachricht ----" in
        # any language, right above the block.
        start = before
    return ("forward" if forwarded else "header-block"), start, end


def _header_key(line: str) -> str | None:
    match = HEADER_LINE.match(line.strip())
    if match is None:
        return None
    key = match["key"].lower()
    return key if key in FROM_KEYS or key in OTHER_KEYS else None


def _attribution_end(lines: list[str], index: int) -> int | None:
    """The line after an attribution ("On … wrote:") starting on line `index`, if there is one."""
    first = lines[index].strip()
    # A wrapped attribution begins like one, with "On"/"Op"/"Am"/"Le", a date or a broken
    # address ("Jan Jansen <"): otherwise the reply's last line ("Hello") would be taken in with
    # the "… написал:" under it.
    may_wrap = (
        ATTRIBUTION_START.match(first) is not None
        or DATE_OR_TIME.search(first) is not None
        or first.endswith("<")
    )
    window = ""
    for size in range(1, MAX_ATTRIBUTION_LINES + 1):
        end = index + size
        if end > len(lines):
            return None
        added = lines[end - 1].strip()
        if size > 1 and (not may_wrap or not added or _is_quoted(lines[end - 1])):
            return None
        window = f"{window} {added}".strip() if size > 1 else added
        if len(window) > MAX_ATTRIBUTION_CHARS:
            return None
        if not window.endswith(":"):
            continue
        quote_follows = _quote_follows(lines, end)
        if (
            any(p.match(window) for p in ATTRIBUTIONS)
            and any(c.isdigit() for c in window)
            # Without a `>` block under it, only an address makes it certain: "Op maandag
            # om 10:12 schreef ik al:" above the customer's own words is not history.
            and (quote_follows or "@" in window)
        ):
            return end
        if quote_follows and (
            WROTE.search(window) or ("@" in window and DATE_OR_TIME.search(first))
        ):
            # Other languages' attributions ("02.04.2012 14:20 пользователь … написал:") are
            # known by the date, the address and the `>` block under them.
            return end
    return None


def _quote_follows(lines: list[str], index: int) -> bool:
    while index < len(lines) and _is_blank(lines[index]):
        index += 1
    return index < len(lines) and _is_quoted(lines[index])


def _find_signature(lines: list[str]) -> tuple[int, str | None]:
    """Where the signature starts among the new lines, and which rule found it."""
    nonblank = [index for index, line in enumerate(lines) if not _is_blank(line)]
    # Every rule allows at most MAX_SIGNATURE_LINES under the signature's first line, so only the
    # end of the text is searched: a long pasted log stays linear.
    candidates = nonblank[-(MAX_SIGNATURE_LINES + 1) :]
    for position, index in enumerate(candidates):
        line = lines[index].strip()
        tail = [lines[after].strip() for after in candidates[position + 1 :]]
        if SIGNATURE_DASHES.match(line) and tail and not any(POSTSCRIPT.match(t) for t in tail):
            return index, "signature:dashes"
        if SIGNOFF.match(line) and _looks_like_signature_tail(tail):
            return index, "signature:signoff"
        if SIGNOFF_WITH_NAME.match(line) and _looks_like_signature_tail(tail, named=True):
            return index, "signature:signoff"
        if _is_mobile_line(line) and len(tail) <= 2 and all(_is_short(t) for t in tail):
            return index, "signature:mobile"
        if DASH_NAME.match(line) and not tail and index > 0 and _is_blank(lines[index - 1]):
            return index, "signature:dash-name"
    return 0, None


def _looks_like_signature_tail(tail: list[str], *, named: bool = False) -> bool:
    """Lines under a sign-off that are a name, a company, contact details or small print."""
    if len(tail) > MAX_SIGNATURE_LINES:
        return False
    if tail and not named and not _is_name(tail[0]):
        return False
    return all(
        not POSTSCRIPT.match(line) and (not _is_prose(line) or DISCLAIMER.search(line))
        for line in tail
    )


def _is_name(line: str) -> bool:
    """A name, a title or a company: short, capitalised, not a question or a lead-in."""
    return (
        len(line.split()) <= 6
        and not line.endswith(("?", ":"))
        and not (line[0].isalpha() and line[0].islower())
    )


def _is_prose(line: str) -> bool:
    words = len(line.split())
    return (words >= 5 and line.endswith((".", "?", "!"))) or words >= 14 or "?" in line


def _is_short(line: str) -> bool:
    return len(URL.sub("", line).split()) <= 6


def _is_mobile_line(line: str) -> bool:
    """ "Sent from my iPhone", but not "Sent from my desk, is much easier than my phone." """
    bare = URL.sub("", line).strip()
    return MOBILE.match(bare) is not None and "," not in bare and len(bare.split()) <= 8


def _html_cut(lines: list[str], html: str) -> int | None:
    """The first quoted line of `lines`, as the HTML body's quote container places it.

    The words before the container must be exactly the words of the first lines of the text;
    if they are not, the two bodies differ and the HTML is not trusted.
    """
    start = _html_quote_start(html)
    if start is None:
        return None
    wanted = WORD.findall(html_to_text(html[:start]).lower())
    if not wanted:
        return None
    seen: list[str] = []
    for index, line in enumerate(lines):
        seen.extend(WORD.findall(line.lower()))
        if seen[: len(wanted)] != wanted[: len(seen)]:
            return None
        if len(seen) >= len(wanted):
            return index + 1 if len(seen) == len(wanted) and index + 1 < len(lines) else None
    return None


def _html_quote_start(html: str) -> int | None:
    """Where the first quote container of an HTML body starts, if it has one."""
    for tag in HTML_TAG.finditer(html):
        attributes = tag[2].lower().replace('"', "").replace("'", "")
        if any(mark in attributes for mark in HTML_QUOTE_ATTRIBUTES[tag[1].lower()]):
            return tag.start()
    return None
