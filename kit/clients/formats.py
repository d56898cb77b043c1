"""The file formats client configs are written in, each able to read a file and change one entry in it while
keeping what the format allows: JSON and JSON with comments edited as text (every other byte kept), TOML with
tomlkit (comments and order kept), YAML with ruamel.yaml's round trip (comments kept).

Every operation takes the file's text and returns the new text, so one merge serves every format.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Protocol

import tomlkit
import tomlkit.exceptions
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from kit.clients import jsonedit

Path = tuple[str, ...]  # keys from the top of the document to the object holding the entries


class FormatError(ValueError):
    """The file cannot be read as this format; the message says where."""


class FileFormat(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def list_key(self) -> str | None:
        """Entries are a list of mappings named by this key (None: a mapping by name)."""

    @property
    def inserts_first(self) -> bool:
        """A new entry goes before the others (else after them)."""

    def parse(self, text: str) -> dict[str, Any]: ...

    def empty(self) -> str: ...

    def upsert(self, text: str, path: Path, name: str, value: dict[str, Any]) -> str: ...

    def delete(self, text: str, path: Path, name: str) -> str: ...


@dataclass(frozen=True)
class Json:
    """JSON, or with `comments` the JSONC that VS Code, Zed and Gemini CLI read (comments, trailing commas)."""

    comments: bool = False
    list_key: None = None
    inserts_first: bool = True  # see jsonedit: comments after the existing members stay where they were

    @property
    def name(self) -> str:
        return "JSON with comments" if self.comments else "JSON"

    def parse(self, text: str) -> dict[str, Any]:
        try:
            return dict(jsonedit.parse(text, comments=self.comments).value)
        except jsonedit.JsonError as exc:
            raise FormatError(f"not valid {self.name} ({exc})") from None

    def empty(self) -> str:
        return "{}\n"

    def upsert(self, text: str, path: Path, name: str, value: dict[str, Any]) -> str:
        try:
            return jsonedit.upsert(text, path, name, value, comments=self.comments)
        except jsonedit.JsonError as exc:
            raise FormatError(f"not what the client expects ({exc})") from None

    def delete(self, text: str, path: Path, name: str) -> str:
        return jsonedit.delete(text, path, name, comments=self.comments)


@dataclass(frozen=True)
class Toml:
    name: str = "TOML"
    list_key: None = None
    inserts_first: bool = False

    def parse(self, text: str) -> dict[str, Any]:
        try:
            return tomlkit.parse(text).unwrap()
        except tomlkit.exceptions.ParseError as exc:
            raise FormatError(f"not valid TOML ({exc})") from None

    def empty(self) -> str:
        return ""

    def upsert(self, text: str, path: Path, name: str, value: dict[str, Any]) -> str:
        document = tomlkit.parse(text)
        node: Any = document
        for key in path:
            if key not in node:
                node.add(key, tomlkit.table(is_super_table=True))
            node = node[key]
            if not isinstance(node, dict):
                raise FormatError(f"not what the client expects ([{key}] is not a table)")
        table = tomlkit.table()
        for key, item in value.items():
            if isinstance(item, dict):
                inline = tomlkit.inline_table()
                inline.update(item)
                table.add(key, inline)
            else:
                table.add(key, item)
        node[name] = table  # replaces in place, or adds at the end
        return _one_final_newline(tomlkit.dumps(document))

    def delete(self, text: str, path: Path, name: str) -> str:
        document = tomlkit.parse(text)
        node: Any = document
        for key in path:
            if key not in node:
                return text
            node = node[key]
        if name not in node:
            return text
        del node[name]
        return _one_final_newline(tomlkit.dumps(document))


@dataclass(frozen=True)
class Yaml:
    """YAML through ruamel's round trip: comments kept, indentation as the file had it. With `list_key`, the
    entries are a list of mappings named by that key (Continue) instead of a mapping by name."""

    list_key: str | None = None
    name: str = "YAML"
    inserts_first: bool = False

    def parse(self, text: str) -> dict[str, Any]:
        data, _ = self._load(text)
        plain: dict[str, Any] = _plain(data)
        return plain

    def empty(self) -> str:
        return ""

    def upsert(self, text: str, path: Path, name: str, value: dict[str, Any]) -> str:
        data, yaml = self._load(text)
        node = data
        for index, key in enumerate(path):
            last = index == len(path) - 1
            if node.get(key) is None:
                node[key] = CommentedSeq() if last and self.list_key else CommentedMap()
            node = node[key]
            expected = list if last and self.list_key else dict
            if not isinstance(node, expected):
                raise FormatError(
                    f"not what the client expects ({key} is not a {'list' if expected is list else 'mapping'})"
                )
        if self.list_key:
            item = CommentedMap({self.list_key: name, **value})
            position = next((i for i, e in enumerate(node) if _named(e, self.list_key, name)), None)
            if position is None:
                node.append(item)
            else:
                node[position] = item
        else:
            node[name] = CommentedMap(value)
        return _dump(yaml, data)

    def delete(self, text: str, path: Path, name: str) -> str:
        data, yaml = self._load(text)
        node = data
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                return text
        if self.list_key and isinstance(node, list):
            kept = [e for e in node if not _named(e, self.list_key, name)]
            if len(kept) == len(node):
                return text
            node[:] = kept
        elif isinstance(node, dict) and name in node:
            del node[name]
        else:
            return text
        return _dump(yaml, data)

    def _load(self, text: str) -> tuple[Any, YAML]:
        yaml = YAML()
        yaml.preserve_quotes = True
        yaml.width = 4096
        if not text.strip():
            return CommentedMap(), yaml
        try:
            # Loaded by the instance that will write it back, told the file's indentation for when it does.
            data, sequence, offset = load_yaml_guess_indent(text, yaml=yaml)
            mapping = _mapping_indent(text)
            yaml.indent(mapping=mapping, sequence=sequence or mapping, offset=offset or 0)
        except YAMLError as exc:
            raise FormatError(f"not valid YAML ({exc})".replace("\n", " ")) from None
        if not isinstance(data, dict):
            raise FormatError("not a YAML mapping at the top level")
        return data, yaml


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


def _named(item: Any, key: str, name: str) -> bool:
    return isinstance(item, dict) and item.get(key) == name


def _dump(yaml: YAML, data: Any) -> str:
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _one_final_newline(text: str) -> str:
    return text.rstrip("\n") + "\n" if text.strip() else ""
