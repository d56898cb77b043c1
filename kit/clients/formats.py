"""The file formats client configs are written in, each able to read a file and change one entry in it while
keeping every byte it does not change: JSON and JSON with comments, TOML and YAML are all edited as text (jsonedit,
tomledit, yamledit), their own parsers only telling where things are.

Every operation takes the file's text and returns the new text, so one merge serves every format.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from ruamel.yaml.error import YAMLError
from tomlkit.exceptions import TOMLKitError

from kit.clients import jsonedit, tomledit, yamledit

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
            return dict(tomledit.parse(text).unwrap())
        except tomledit.TomlError as exc:
            raise FormatError(str(exc)) from None

    def empty(self) -> str:
        return ""

    def upsert(self, text: str, path: Path, name: str, value: dict[str, Any]) -> str:
        self._check(text, path)
        with _refused():
            return tomledit.upsert(text, path, name, value)

    def delete(self, text: str, path: Path, name: str) -> str:
        with _refused():
            return tomledit.delete(text, path, name)

    def _check(self, text: str, path: Path) -> None:
        node: Any = self.parse(text)
        for key in path:
            node = node.get(key, {})
            if not isinstance(node, dict):
                raise FormatError(f"not what the client expects ({key} is not a table)")


@dataclass(frozen=True)
class Yaml:
    """YAML edited as text (see yamledit: every byte the kit did not add is kept). With `list_key`, the entries are
    a list of mappings named by that key (Continue) instead of a mapping by name. Sections are top-level keys."""

    list_key: str | None = None
    name: str = "YAML"
    inserts_first: bool = False

    def parse(self, text: str) -> dict[str, Any]:
        return dict(yamledit.plain(self._doc(text).data))

    def empty(self) -> str:
        return ""

    def upsert(self, text: str, path: Path, name: str, value: dict[str, Any]) -> str:
        (key,) = path
        item = {self.list_key: name, **value} if self.list_key else value
        with _refused():
            return yamledit.upsert(text, key, name, item, self.list_key)

    def delete(self, text: str, path: Path, name: str) -> str:
        with _refused():
            if not path:
                return yamledit.remove_section(text, name)
            (key,) = path
            return yamledit.delete(text, key, name, self.list_key)

    def _doc(self, text: str) -> yamledit.Document:
        try:
            return yamledit.Document(text)
        except yamledit.YamlError as exc:
            raise FormatError(str(exc)) from None


@contextmanager
def _refused() -> Iterator[None]:
    """A file the editor cannot change (its library raising on a shape nobody foresaw) refused with a message,
    never a traceback."""
    try:
        yield
    except FormatError:
        raise
    except (tomledit.TomlError, yamledit.YamlError) as exc:
        raise FormatError(str(exc)) from None
    except (
        TOMLKitError,
        YAMLError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        RecursionError,
    ) as exc:
        raise FormatError(f"not what the kit can change safely ({type(exc).__name__}: {exc})") from None
