"""Line numbers for TOML keys, so messages about a file's meaning can say where to look.

`tomllib` reports the line of a syntax error but gives no positions for the values it returns.
When a value is wrong (an unknown condition key, a bad regex) we know its key path, such as
`("rule", 3, "when", "any", 1, "body", "regex")`; `TomlLocator.line_of` walks the text to the
table header of that path and then to each key and array element in turn. It reads only as much
TOML as that needs (headers, keys, strings, brackets); when it cannot go deeper it answers the
line of the deepest part it found, which is always at least the table the mistake is in.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

KeyPath = Sequence[str | int]

_HEADER = re.compile(r"^[ \t]*(\[\[?)[ \t]*([^\[\]\n]+?)[ \t]*\]\]?[ \t]*(?:#.*)?$", re.MULTILINE)
_SYNTAX_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_SYNTAX_END = re.compile(r"\(at end of document\)")


def split_dotted_key(key: str) -> tuple[str, ...]:
    """Split a TOML dotted key (`a."b.c".d`) into its parts."""
    parts: list[str] = []
    current = ""
    quote: str | None = None
    for char in key:
        if quote:
            if char == quote:
                quote = None
            else:
                current += char
        elif char in "\"'":
            quote = char
        elif char == ".":
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return tuple(parts)


def syntax_error_line(message: str, text: str) -> int | None:
    """The line that `tomllib` names in a syntax error message."""
    match = _SYNTAX_POSITION.search(message)
    if match:
        return int(match.group(1))
    if _SYNTAX_END.search(message):
        return text.count("\n") + 1
    return None


def strip_syntax_position(message: str) -> str:
    """The syntax error message without its '(at line …)' part, which we report separately."""
    return _SYNTAX_END.sub("", _SYNTAX_POSITION.sub("", message)).strip()


class TomlLocator:
    """Finds the line of a key path in one TOML document."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
        # Each section: (resolved key path with array indices, body start, body end, header offset)
        self._sections: list[tuple[tuple[str | int, ...], int, int, int]] = []
        self._index_sections()

    def _index_sections(self) -> None:
        headers = list(_HEADER.finditer(self.text))
        counts: dict[tuple[str | int, ...], int] = {}
        latest: dict[tuple[str, ...], tuple[str | int, ...]] = {}
        starts: list[tuple[tuple[str | int, ...], int, int]] = [((), 0, 0)]
        for match in headers:
            names = split_dotted_key(match.group(2))
            resolved: tuple[str | int, ...] = ()
            for depth in range(1, len(names)):
                prefix = names[:depth]
                resolved = latest.get(prefix, (*resolved, names[depth - 1]))
            is_array = match.group(1) == "[["
            if is_array:
                index = counts.get((*resolved, names[-1]), 0)
                counts[(*resolved, names[-1])] = index + 1
                resolved = (*resolved, names[-1], index)
                latest[names] = resolved
            else:
                resolved = (*resolved, names[-1])
            starts.append((resolved, match.end(), match.start()))
        for position, (resolved, body_start, header_at) in enumerate(starts):
            end = starts[position + 1][2] if position + 1 < len(starts) else len(self.text)
            self._sections.append((resolved, body_start, end, header_at))

    def line_at(self, offset: int) -> int:
        return bisect.bisect_right(self._line_starts, offset)

    def line_of(self, path: KeyPath) -> int:
        """The line of `path`, or of the deepest part of it that could be found."""
        target = tuple(path)
        best = self._sections[0]
        for section in self._sections:
            prefix = section[0]
            if len(prefix) > len(best[0]) and target[: len(prefix)] == prefix:
                best = section
        resolved, start, end, header_at = best
        position = self._descend(start, end, target[len(resolved) :])
        if position is None:
            return self.line_at(header_at)
        return self.line_at(position)

    def _descend(self, start: int, end: int, rest: tuple[str | int, ...]) -> int | None:
        position: int | None = None
        cursor = start
        for part in rest:
            if isinstance(part, str):
                found = self._find_key(part, cursor, end)
            else:
                found = self._nth_element(cursor, end, part)
            if found is None:
                break
            position, cursor = found
        return position

    def _find_key(self, key: str, start: int, end: int) -> tuple[int, int] | None:
        escaped = re.escape(key)
        pattern = re.compile(
            rf"(?:^|(?<=[\s{{,.]))(?:{escaped}|\"{escaped}\"|'{escaped}')[ \t]*(?==|\.)",
            re.MULTILINE,
        )
        match = pattern.search(self.text, start, end)
        if match is None:
            return None
        return match.start(), match.end()

    def _nth_element(self, start: int, end: int, index: int) -> tuple[int, int] | None:
        """Position of element `index` of the array whose key ends at `start`."""
        text = self.text
        i = start
        while i < end and text[i] in " \t=":
            i += 1
        if i >= end or text[i] != "[":
            return None
        i += 1
        depth = 0
        element = 0
        at_start = True
        while i < end:
            char = text[i]
            if char in " \t\r\n":
                i += 1
                continue
            if char == "#":
                newline = text.find("\n", i)
                i = end if newline < 0 else newline + 1
                continue
            if at_start and depth == 0:
                if char == "]":
                    return None
                if element == index:
                    return i, i
                at_start = False
            if char in "\"'":
                i = self._skip_string(i, end)
                continue
            if char in "[{":
                depth += 1
            elif char in "]}":
                if depth == 0:
                    return None
                depth -= 1
            elif char == "," and depth == 0:
                element += 1
                at_start = True
            i += 1
        return None

    def _skip_string(self, i: int, end: int) -> int:
        text = self.text
        quote = text[i]
        if text.startswith(quote * 3, i):
            closing = text.find(quote * 3, i + 3)
            return end if closing < 0 else closing + 3
        i += 1
        while i < end and text[i] not in (quote, "\n"):
            if quote == '"' and text[i] == "\\":
                i += 1
            i += 1
        return i + 1
