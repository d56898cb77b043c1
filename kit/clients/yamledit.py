"""YAML edited as text: ruamel.yaml reads the file (and where each key and item starts), an entry is rendered on its
own and its lines are put after the section's last line; removing it removes those lines. Every other byte stays
as the user (or the client) wrote it: `null`, anchors, aliases, flow styles and the comments beside them.

A section written in flow style (`extensions: {a: {...}}`) gets the entry inside its brackets, in flow style too.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent


class YamlError(ValueError):
    pass


class Document:
    """One loaded file: its data (with positions), its lines and its indentation."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.yaml = YAML()
        self.yaml.preserve_quotes = True
        self.yaml.width = 4096
        self.yaml.representer.add_representer(type(None), _null)
        self.data: Any = CommentedMap()
        if text.strip():
            try:
                data, sequence, offset = _loaded(text, self.yaml)
            except YAMLError as exc:
                raise YamlError(f"not valid YAML ({exc})".replace("\n", " ")) from None
            if data is not None:
                self.data = data
            self.mapping = _mapping_indent(text)
            self.sequence, self.offset = sequence or self.mapping, offset or 0
        else:
            self.mapping, self.sequence, self.offset = 2, 2, 0
        self.yaml.indent(mapping=self.mapping, sequence=self.sequence, offset=self.offset)
        if not isinstance(self.data, dict):
            raise YamlError("not a YAML mapping at the top level")

    def dump(self, data: Any) -> str:
        stream = io.StringIO()
        self.yaml.dump(data, stream)
        return stream.getvalue()


def _loaded(text: str, yaml: YAML) -> tuple[Any, int | None, int | None]:
    """The data, and the sequence indent and dash offset the text uses. ruamel's guess of them fails on a line that
    is a bare dash (`-` alone: an item whose mapping starts on the next line); then the data alone, and the defaults."""
    try:
        return load_yaml_guess_indent(text, yaml=yaml)  # type: ignore[no-any-return]
    except IndexError:
        return yaml.load(text), None, None


def upsert(text: str, key: str, name: str, item: Any, list_key: str | None) -> str:
    """Put `item` (an entry named `name`) in the section `key` at the top of the document: a mapping by name, or
    with `list_key` a list of mappings."""
    text = delete(text, key, name, list_key)
    doc = Document(text)
    section = doc.data.get(key)
    new: Any = [item] if list_key else {name: item}
    if key not in doc.data:
        return _ensure_newline(text) + doc.dump({key: new})
    _check_section(doc.data, key, list_key)
    key_line, column = doc.data.lc.key(key)
    if section and _flow(doc, section, key_line):
        opening, closing = _flow_span(doc, section)
        inside = doc.text[opening + 1 : closing]
        at = opening + 1 + len(inside.rstrip())
        return doc.text[:at] + ", " + _flow_member(doc, name, item, list_key) + doc.text[at:]
    rendered = doc.dump({key: new}).splitlines(keepends=True)[1:]  # the entry's lines, as under the key
    if section:
        end = _block_end(doc.lines, key_line, column)
        indent = len(_indent_of(doc.lines[_first_content(doc.lines, key_line)]))
    else:  # empty: `key:`, `key: null` or `key: {}`; the value goes, its entries follow on their own lines
        end = key_line
        indent = column + len(_indent_of(rendered[0]))
        doc.lines[key_line] = _set_value(doc.lines[key_line], "")
    shift = indent - len(_indent_of(rendered[0]))
    block = "".join(
        (" " * shift + line if shift >= 0 else line[-shift:]) if line.strip() else line for line in rendered
    )
    doc.lines[end] = _ensure_newline(doc.lines[end])
    doc.lines.insert(end + 1, block)
    return "".join(doc.lines)


def delete(text: str, key: str, name: str, list_key: str | None) -> str:
    """The entry `name` out of the section `key` (the text unchanged when it is not there); a section left without
    entries is written empty (`{}` or `[]`)."""
    doc = Document(text)
    section = doc.data.get(key)
    if isinstance(section, CommentedSeq) and list_key:
        positions = [i for i, e in enumerate(section) if isinstance(e, dict) and e.get(list_key) == name]
        if not positions:
            return text
        starts = [_dash_line(doc.lines, *section.lc.item(i)) for i in range(len(section))]
        index = positions[0]
    elif isinstance(section, CommentedMap) and not list_key and name in section:
        starts = [section.lc.key(k)[0] for k in section]
        index = list(section).index(name)
    else:
        return text
    key_line, column = doc.data.lc.key(key)
    if _flow(doc, section, key_line):
        opening, closing = _flow_span(doc, section)
        inside = doc.text[opening + 1 : closing]
        member = _flow_member(doc, name, section[index] if list_key else section[name], list_key)
        for found in (", " + member, member + ", ", member):
            if inside.count(found) == 1:
                return doc.text[: opening + 1] + inside.replace(found, "") + doc.text[closing:]
        raise YamlError(f"{key}.{name} is not written as the kit wrote it; remove it by hand")
    start = starts[index]
    end = starts[index + 1] if index + 1 < len(starts) else _block_end(doc.lines, key_line, column) + 1
    while end > start + 1 and _blank_or_comment(doc.lines[end - 1]):
        end -= 1
    del doc.lines[start:end]
    if len(starts) == 1:
        doc.lines[key_line] = _set_value(doc.lines[key_line], "[]" if list_key else "{}")
    return "".join(doc.lines)


def _dash_line(lines: list[str], line: int, column: int) -> int:
    """The line of a list item's dash: its own line, or for a mapping that starts under a bare `-`, the dash's."""
    if lines[line][:column].strip():
        return line
    above = line - 1
    while above > 0 and _blank_or_comment(lines[above]):
        above -= 1
    return above if lines[above].split("#", 1)[0].strip() == "-" else line


def remove_section(text: str, key: str) -> str:
    """The top-level `key` and its value's lines, gone."""
    doc = Document(text)
    if key not in doc.data:
        return text
    key_line, column = doc.data.lc.key(key)
    del doc.lines[key_line : _block_end(doc.lines, key_line, column) + 1]
    return "".join(doc.lines)


def _check_section(data: Any, key: str, list_key: str | None) -> None:
    section = data.get(key)
    expected = CommentedSeq if list_key else CommentedMap
    if section is not None and not isinstance(section, expected):
        raise YamlError(f"not what the client expects ({key} is not a {'list' if list_key else 'mapping'})")


def _flow(doc: Document, section: Any, key_line: int) -> bool:
    """A value that starts on its key's line is written in flow style ({...} or [...])."""
    return bool(section.lc.line == key_line)


def _flow_span(doc: Document, section: Any) -> tuple[int, int]:
    """Where in the text a flow collection's opening and closing brackets are."""
    start = sum(len(line) for line in doc.lines[: section.lc.line]) + section.lc.col
    text, depth, quote, index = doc.text, 0, "", start
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'" and text[index - 1] in "{[, \t\n":
            quote = char
        elif char == "#" and text[index - 1] in " \t\n":
            index = text.find("\n", index) if "\n" in text[index:] else len(text)
            continue
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return start, index
        index += 1
    raise YamlError("a flow collection without its closing bracket")


def _flow_member(doc: Document, name: str, item: Any, list_key: str | None) -> str:
    """An entry as a member of a flow mapping (`name: {...}`) or an item of a flow sequence (`{...}`)."""
    flow = YAML()
    flow.default_flow_style = True
    flow.width = 1_000_000
    flow.representer.add_representer(type(None), _null)
    stream = io.StringIO()
    flow.dump([plain(item)] if list_key else {name: plain(item)}, stream)
    return stream.getvalue().strip()[1:-1]


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _block_end(lines: list[str], key_line: int, column: int) -> int:
    """The last line holding the value of the key at (key_line, column): lines indented deeper, or list items at
    the key's own indentation; comments and blank lines after it belong to what follows."""
    end = key_line
    for index in range(key_line + 1, len(lines)):
        line = lines[index]
        if _blank_or_comment(line):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent > column or (indent == column and line.lstrip().startswith("- ")):
            end = index
            continue
        break
    return end


def _first_content(lines: list[str], after: int) -> int:
    return next(i for i in range(after + 1, len(lines)) if not _blank_or_comment(lines[i]))


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" "))]


def _set_value(line: str, value: str) -> str:
    """The key line with its empty value written (`value`) or taken out: `key: {}  # note` <-> `key:  # note`."""
    head, colon, rest = line.partition(":")
    if value:
        return f"{head}{colon} {value}{rest}"
    stripped = rest.lstrip(" ")
    for old in ("{}", "[]", "null", "~", "Null", "NULL"):
        if stripped.startswith(old) and stripped[len(old) : len(old) + 1] in ("", " ", "#", "\n", "\r"):
            return head + colon + rest[: len(rest) - len(stripped) - 1] + stripped[len(old) :]
    return line


def _blank_or_comment(line: str) -> bool:
    return not line.strip() or line.lstrip().startswith("#")


def _ensure_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _mapping_indent(text: str) -> int:
    """How far the file indents a mapping under its key (ruamel guesses only the sequences' indentation)."""
    parent = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if parent is not None and indent > parent and not stripped.startswith("-"):
            return indent - parent
        parent = indent if stripped.endswith(":") else None
    return 2


def _null(representer: Any, _: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")  # as goose's serde_yaml writes it
