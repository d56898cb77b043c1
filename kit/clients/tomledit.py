"""TOML edited as text: an entry goes in as its own `[section.name]` table at the end of the file, where TOML lets a
table be added whatever shape the rest has (dotted keys, super-tables declared later, arrays of tables); only a
section written as one inline table is edited inside it. Removing an entry removes its table's lines, so removing
what was added gives the original bytes back. tomlkit parses and renders; it never re-lays out the user's file.
"""

from __future__ import annotations

from typing import Any

import tomlkit
import tomlkit.exceptions
import tomlkit.items

Path = tuple[str, ...]


class TomlError(ValueError):
    pass


def parse(text: str) -> Any:
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.TOMLKitError as exc:
        raise TomlError(f"not valid TOML ({exc})") from None


def upsert(text: str, path: Path, name: str, value: dict[str, Any]) -> str:
    text = delete(text, path, name)
    document = parse(text)
    inline = _inline_node(document, path)
    if inline is not None:
        old = inline.as_string()
        trail = old[:-1][len(old[:-1].rstrip()) :]
        separator = ", " if inline else " "
        new = old[: len(old) - 1 - len(trail)] + separator + _member(name, value) + trail + "}"
        inline[name] = _inline(value)
        return _replaced(text, old, new, document)
    block = tomlkit.document()
    node: Any = block
    for key in path:
        node.add(key, tomlkit.table(is_super_table=True))
        node = node[key]
    table = tomlkit.table()
    for key, item in value.items():
        table.add(key, _inline(item) if isinstance(item, dict) else item)
    node.add(name, table)
    # a blank line before the table (or the final newline the file lacked): what `delete` takes away again
    return text + ("\n" if text else "") + tomlkit.dumps(block)


def delete(text: str, path: Path, name: str) -> str:
    """`name` out of the table at `path`; the text unchanged when it is not there."""
    document = parse(text)
    section = _plain_at(document.unwrap(), path)
    if not isinstance(section, dict) or name not in section:
        return text
    inline = _inline_node(document, path)
    if inline is not None:
        old = inline.as_string()
        member = _member(name, section[name])
        new = next((old.replace(s + member, "", 1) for s in (", ", " ") if old.count(s + member) == 1), None)
        del inline[name]
        return _replaced(text, old, new if new is not None else inline.as_string(), document)
    lines = text.splitlines(keepends=True)
    entry = (*path, name)
    starts = [i for i, line in enumerate(lines) if (_header(line) or ())[: len(entry)] == entry]
    if not starts:  # a key = value line (dotted, or an inline table): tomlkit removes that line
        node: Any = document
        for key in path:
            node = node[key]
        del node[name]
        return tomlkit.dumps(document)
    for start in reversed(starts):
        end = next((i for i in range(start + 1, len(lines)) if _header(lines[i]) is not None), len(lines))
        while end > start + 1 and _blank_or_comment(lines[end - 1]):
            end -= 1  # comments before the next table are that table's
        if all(not line.strip() for line in lines[end:]):
            del lines[start:]
            if lines and lines[-1] == "\n":
                del lines[-1]  # the blank line `upsert` put before the table
            elif lines:
                lines[-1] = lines[-1].removesuffix("\n")  # the final newline the file did not have
        else:
            del lines[start:end]
            if 0 < start < len(lines) and lines[start - 1] == "\n" == lines[start]:
                del lines[start]
    return "".join(lines)


def _member(name: str, value: dict[str, Any]) -> str:
    """An entry as one `name = { ... }` inside an inline table."""
    return f"{tomlkit.key(name).as_string()} = {_inline(value).as_string()}"


def _replaced(text: str, old: str, new: str, document: Any) -> str:
    """The inline table's text replaced where it is (tomlkit's dump of the whole document can move arrays of
    tables); rendered whole only when the old text is not found once."""
    if text.count(old) == 1:
        return text.replace(old, new)
    return str(tomlkit.dumps(document))


def _header(line: str) -> tuple[str, ...] | None:
    """The key path of a `[table]` or `[[array]]` header line (None for any other line)."""
    stripped = line.strip()
    if not stripped.startswith("["):
        return None
    try:
        node: Any = tomlkit.parse(stripped).unwrap()
    except tomlkit.exceptions.TOMLKitError:
        return None
    keys: list[str] = []
    while isinstance(node, list) and len(node) == 1:
        node = node[0]
    while isinstance(node, dict) and len(node) == 1:
        key, node = next(iter(node.items()))
        keys.append(key)
        while isinstance(node, list) and len(node) == 1:
            node = node[0]
    return tuple(keys) if keys else None


def _blank_or_comment(line: str) -> bool:
    return not line.strip() or line.lstrip().startswith("#")


def _inline_node(document: Any, path: Path) -> Any:
    """The section when it (or a table above it) is one inline table, which nothing may be added to from outside."""
    node: Any = document
    inline = None
    for key in path:
        if not hasattr(node, "get") or node.get(key) is None:
            return inline
        node = node[key]
        if isinstance(node, tomlkit.items.InlineTable) or inline is not None:
            inline = node
    return inline


def _plain_at(data: Any, path: Path) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _inline(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    table = tomlkit.inline_table()
    for key, item in value.items():
        table[key] = _inline(item)
    return table
