"""JSON and JSON with comments, parsed with the position of every value, and edited as text.

An edit replaces, inserts or removes one member and leaves every other byte of the user's file as it was: their
formatting, their order and (in JSONC) their comments. Removing what was inserted gives the original file back.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<line>//[^\n]*)|(?P<block>/\*.*?\*/)|(?P<string>"(?:[^"\\\n]|\\.)*")"""
    r"""|(?P<number>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<word>true|false|null)|(?P<punct>[{}\[\]:,])""",
    re.S,
)


class JsonError(ValueError):
    def __init__(self, message: str, text: str, position: int) -> None:
        self.line = text.count("\n", 0, position) + 1
        self.column = position - (text.rfind("\n", 0, position) + 1) + 1
        super().__init__(f"line {self.line}, column {self.column}: {message}")


@dataclass
class Node:
    start: int
    end: int
    value: Any = None


@dataclass
class Member:
    key: str
    key_start: int
    value: Node


@dataclass
class ObjectNode(Node):
    members: list[Member] = field(default_factory=list)

    def member(self, key: str) -> Member | None:
        return next((m for m in self.members if m.key == key), None)


def parse(text: str, *, comments: bool) -> ObjectNode:
    """The document's top-level object; `comments` also allows // and /* */ comments and trailing commas."""
    tokens = _tokenize(text, comments)
    if not tokens:
        raise JsonError("the document is empty", text, 0)
    node, index = _value(tokens, 0, text, comments)
    if index != len(tokens):
        raise JsonError("unexpected content after the document", text, tokens[index][1])
    if not isinstance(node, ObjectNode):
        raise JsonError("the document must be an object", text, node.start)
    return node


def upsert(text: str, path: tuple[str, ...], name: str, value: Any, *, comments: bool) -> str:
    """Set `name` in the object at `path` (creating the path) to `value`."""
    root = parse(text, comments=comments)
    unit = _indent_unit(text, root)
    node: ObjectNode = root
    for depth, key in enumerate(path):
        member = node.member(key)
        if member is None:
            nested: Any = {name: value}
            for outer in reversed(path[depth + 1 :]):
                nested = {outer: nested}
            return _insert(text, node, key, nested, depth + 1, unit)
        if not isinstance(member.value, ObjectNode):
            raise JsonError(f'"{key}" is not an object', text, member.value.start)
        node = member.value
    existing = node.member(name)
    if existing is None:
        return _insert(text, node, name, value, len(path) + 1, unit)
    return text[: existing.value.start] + _render(value, len(path) + 1, unit) + text[existing.value.end :]


def delete(text: str, path: tuple[str, ...], name: str, *, comments: bool) -> str:
    """Remove `name` from the object at `path`; the text is unchanged when it is not there."""
    node: Node | None = parse(text, comments=comments)
    for key in path:
        member = node.member(key) if isinstance(node, ObjectNode) else None
        node = member.value if member else None
    if not isinstance(node, ObjectNode) or node.member(name) is None:
        return text
    members = node.members
    index = next(i for i, m in enumerate(members) if m.key == name)
    if len(members) == 1:  # what is left inside is the comments, if any: the member's own line goes
        before = text[node.start + 1 : members[0].key_start]
        after = text[members[0].value.end : node.end - 1]
        if after.lstrip().startswith(","):  # a trailing comma (JSONC)
            after = after[len(after) - len(after.lstrip()) + 1 :]
        if not (before + after).strip():
            return text[: node.start + 1] + text[node.end - 1 :]
        line_start = before.rfind("\n")
        if line_start >= 0 and not before[line_start:].strip():
            before = before[:line_start]
        return text[: node.start + 1] + before + after + text[node.end - 1 :]
    if index == len(members) - 1:  # from the end of the one before: its comma goes too
        return text[: members[index - 1].value.end] + text[members[index].value.end :]
    return text[: members[index].key_start] + text[members[index + 1].key_start :]


def _insert(text: str, node: ObjectNode, key: str, value: Any, depth: int, unit: str) -> str:
    """As the object's first member: the comments after the others stay where they were."""
    member = f"{json.dumps(key)}: {_render(value, depth, unit)}"
    if node.members:
        at = node.members[0].key_start
        if not unit:
            return f"{text[:at]}{member}, {text[at:]}"
        line_start = text.rfind("\n", 0, at) + 1
        own_line = not text[line_start:at].strip()
        separator = "\n" + text[line_start:at] if own_line else " "
        return f"{text[:at]}{member},{separator}{text[at:]}"
    inside = text[node.start + 1 : node.end - 1]
    closing = "\n" + unit * (depth - 1) if not inside.strip() else inside
    return f"{text[: node.start + 1]}\n{unit * depth}{member}{closing}{text[node.end - 1 :]}"


def _render(value: Any, depth: int, unit: str) -> str:
    if not unit:  # a file written on one line stays on one line
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, indent=unit, ensure_ascii=False).replace("\n", "\n" + unit * depth)


def _indent_unit(text: str, root: ObjectNode) -> str:
    """The file's own indentation, read off its first member (two spaces when it has none; none when the whole
    document is on one line)."""
    if root.members and "\n" not in text[root.start : root.end]:
        return ""
    if root.members:
        line_start = text.rfind("\n", 0, root.members[0].key_start) + 1
        indent = text[line_start : root.members[0].key_start]
        if indent and not indent.strip():
            return indent
    return "  "


def _tokenize(text: str, comments: bool) -> list[tuple[str, int, str]]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise JsonError(f"unexpected character {text[position]!r}", text, position)
        kind = match.lastgroup or ""
        if kind in ("line", "block") and not comments:
            raise JsonError("comments are not allowed in this file", text, position)
        if kind not in ("space", "line", "block"):
            tokens.append((kind, position, match.group()))
        position = match.end()
    return tokens


def _value(tokens: list[tuple[str, int, str]], index: int, text: str, comments: bool) -> tuple[Node, int]:
    if index >= len(tokens):
        raise JsonError("the document ends too early", text, len(text))
    kind, start, raw = tokens[index]
    if kind == "punct" and raw == "{":
        return _object(tokens, index, text, comments)
    if kind == "punct" and raw == "[":
        items: list[Any] = []
        index += 1
        while not _is(tokens, index, "]"):
            item, index = _value(tokens, index, text, comments)
            items.append(item.value)
            index = _separator(tokens, index, "]", text, comments)
        return Node(start, tokens[index][1] + 1, items), index + 1
    if kind in ("string", "number", "word"):
        return Node(start, start + len(raw), _scalar(raw, text, start)), index + 1
    raise JsonError(f"expected a value, found {raw!r}", text, start)


def _object(
    tokens: list[tuple[str, int, str]], index: int, text: str, comments: bool
) -> tuple[ObjectNode, int]:
    node = ObjectNode(tokens[index][1], 0, {})
    index += 1
    while not _is(tokens, index, "}"):
        if index >= len(tokens) or tokens[index][0] != "string":
            raise JsonError(
                "expected a quoted key", text, tokens[index][1] if index < len(tokens) else len(text)
            )
        key_start, key = tokens[index][1], _scalar(tokens[index][2], text, tokens[index][1])
        if not _is(tokens, index + 1, ":"):
            raise JsonError(f"expected ':' after {tokens[index][2]}", text, key_start)
        value, index = _value(tokens, index + 2, text, comments)
        node.members.append(Member(key, key_start, value))
        node.value[key] = value.value
        index = _separator(tokens, index, "}", text, comments)
    node.end = tokens[index][1] + 1
    return node, index + 1


def _scalar(raw: str, text: str, position: int) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:  # a string with an escape JSON does not have
        raise JsonError(f"{raw[:20]}: {exc.args[0].split(':')[0]}", text, position) from None


def _separator(
    tokens: list[tuple[str, int, str]], index: int, closing: str, text: str, comments: bool
) -> int:
    if _is(tokens, index, ","):
        if _is(tokens, index + 1, closing) and not comments:
            raise JsonError("trailing comma", text, tokens[index][1])
        return index + 1
    if _is(tokens, index, closing):
        return index
    position = tokens[index][1] if index < len(tokens) else len(text)
    raise JsonError(f"expected ',' or '{closing}'", text, position)


def _is(tokens: list[tuple[str, int, str]], index: int, punct: str) -> bool:
    return index < len(tokens) and tokens[index][0] == "punct" and tokens[index][2] == punct
