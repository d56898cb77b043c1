"""For any existing file in the shapes its format allows, generated: the kit's entries go in without touching a
foreign key or byte, the file reads back (with a parser other than the kit's) as what the client would read, a
reinstall writes nothing, and an uninstall gives the original bytes back.

TOML (Codex): dotted keys, inline tables, super-tables declared later, arrays of tables, comments. YAML (Goose,
Continue): anchors, aliases, flow and block styles, comments, nulls, 2 or 4 spaces. JSON with comments (VS Code):
comments, trailing commas, CRLF, tabs.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomlkit
import yaml
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from kit.clients import CLIENTS
from kit.clients.common import LaunchEntry, apply_change
from kit.errors import KitError

CASES = 200  # per format: the number the report quotes
PROPERTY = settings(
    max_examples=CASES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MARK = "io.mcpkit.managed=true"
ENTRIES = [
    LaunchEntry("analyst", "docker", ["run", "-i", "--rm", "--label", MARK, "-e", "TOKEN", "mcpkit/analyst:0.1.0"],
                {"TOKEN": "s3cret"}),
    LaunchEntry("time", "docker", ["run", "-i", "--rm", "--label", MARK, "mcpkit/time:1"], {}),
]  # fmt: skip
KIT = {e.name for e in ENTRIES}

TEXT = st.text(st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",)), max_size=8)
NAMES = st.sampled_from(["docs", "files", "my server", "git", "web-search", "a.b", "x_1", "ünï"])


def _check(
    name: str,
    original: str,
    read: Callable[[str], Any],
    entries_of: Callable[[Any], dict[str, Any]],
    folder: Path,
) -> None:
    client = CLIENTS[name]
    path = folder / "config"
    path.write_bytes(original.encode())
    before = read(original)
    change = apply_change(client, path, ENTRIES, dry_run=False)
    assert sorted(change.added) == sorted(KIT)
    installed = path.read_bytes().decode()
    after = read(installed)
    foreign = entries_of(before)
    entries = entries_of(after)
    assert {k: v for k, v in entries.items() if k not in KIT} == foreign, "every foreign entry intact"
    assert all(entries[e.name] == client.render(e) for e in ENTRIES), (
        "the kit's entries as the client reads them"
    )
    assert _outside(after, client.section) == _outside(before, client.section), "every other key kept"
    if "\r\n" in original and original.count("\r\n") == original.count("\n"):
        assert installed.count("\n") == installed.count("\r\n"), "CRLF kept"
    again = apply_change(client, path, ENTRIES, dry_run=False)
    assert not again.written and path.read_bytes().decode() == installed, "a reinstall is a no-op"
    apply_change(client, path, [], dry_run=False, uninstall=True)
    assert path.read_bytes().decode() == original, "uninstall gives the original bytes back"


def _outside(data: Any, section: tuple[str, ...]) -> Any:
    return {k: v for k, v in (data or {}).items() if k != section[0]}


# ---- TOML, as Codex writes and reads it (Python's tomllib: TOML 1.0, as Codex's toml crate) ----

SERVERS = st.dictionaries(
    NAMES,
    st.fixed_dictionaries(
        {"command": TEXT, "args": st.lists(TEXT, max_size=3)},
        optional={"env": st.dictionaries(st.from_regex(r"[A-Z]{1,4}", fullmatch=True), TEXT, max_size=2)},
    ),
    max_size=4,
)


def _key(name: str) -> str:
    return tomlkit.key(name).as_string()


def _value(value: Any) -> str:
    return tomlkit.item(value).as_string()


def _inline(server: dict[str, Any]) -> str:
    return "{ " + ", ".join(f"{_key(k)} = {_inline(v) if isinstance(v, dict) else _value(v)}" for k, v in server.items()) + " }"  # fmt: skip


def _dotted(prefix: str, server: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in server.items():
        if isinstance(value, dict):
            lines += [f"{prefix}.{_key(key)}.{_key(k)} = {_value(v)}" for k, v in value.items()]
        else:
            lines.append(f"{prefix}.{_key(key)} = {_value(value)}")
    return lines


def _table(name: str, server: dict[str, Any], env_table: bool) -> list[str]:
    lines = [f"[mcp_servers.{_key(name)}]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in server.items() if k != "env" or not env_table]
    if "env" in server and env_table:
        lines += [
            "",
            f"[mcp_servers.{_key(name)}.env]",
            *(f"{_key(k)} = {_value(v)}" for k, v in server["env"].items()),
        ]
    return lines


@st.composite
def toml_files(draw: st.DrawFn) -> str:
    servers = draw(SERVERS)
    late: list[str] = []
    mode = draw(
        st.sampled_from(["inline", "dotted at the top", "tables", "super-table declared later", "none"])
    )
    event(f"mcp_servers: {mode}")
    comment = st.sampled_from(["", "# a comment", "# [mcp_servers.fake] in a comment"])
    root = [
        f'model = "o3"  # {draw(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8))}',
        draw(comment),
    ]
    tables: list[list[str]] = [["[tui]", "notifications = true  # on"], ['[[profiles]]', 'name = "a"'],
                               ['[[profiles]]', 'name = "b"', draw(comment)], ["[shell_environment_policy]", 'inherit = "core"']]  # fmt: skip
    names = list(servers)
    split = draw(st.integers(0, len(names)))
    if mode == "inline":
        root.append(
            "mcp_servers = { " + ", ".join(f"{_key(n)} = {_inline(servers[n])}" for n in names) + " }"
        )
    elif mode == "dotted at the top":
        for n in names[:split]:
            root += _dotted(f"mcp_servers.{_key(n)}", servers[n])
        tables += [_table(n, servers[n], draw(st.booleans())) for n in names[split:]]
    elif mode in ("tables", "super-table declared later"):
        tables += [_table(n, servers[n], draw(st.booleans())) for n in names[:split]]
        later = [line for n in names[split:] for line in _dotted(_key(n), servers[n])]
        if mode == "super-table declared later":
            late = ["[mcp_servers]  # declared after its sub-tables", *later]
        else:
            tables += [_table(n, servers[n], False) for n in names[split:]]
    order = draw(st.permutations(range(len(tables))))
    parts = [line for line in root if line] + [""]
    for index in order:
        parts += [*tables[index], *([""] if draw(st.booleans()) else [])]
    text = "\n".join(parts + late)
    text = text.rstrip("\n") + ("\n" if draw(st.booleans()) else "")
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        assume(False)
    return text


@PROPERTY
@given(original=toml_files())
def test_codex_toml_any_shape(original: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    _check(
        "codex", original, tomllib.loads, lambda d: d.get("mcp_servers", {}), tmp_path_factory.mktemp("toml")
    )


# ---- YAML, as Goose and Continue write and read it (PyYAML's safe loader) ----

WORD = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
QUOTED = st.text(st.characters(max_codepoint=0x2FFF, blacklist_categories=("Cs", "Cc")), max_size=8).map(
    json.dumps
)


@st.composite
def goose_files(draw: st.DrawFn) -> str:
    step = draw(st.sampled_from([2, 4]))
    pad = " " * step
    anchors = draw(st.booleans())
    top = [f"GOOSE_PROVIDER: {draw(QUOTED)}", "GOOSE_MODEL: null", "GOOSE_MODE: ~  # unset",
           f"flags: {{a: 1, b: [x, {draw(WORD)}]}}", f"list:\n{pad}- {draw(WORD)}\n{pad}- {draw(QUOTED)}",
           "# a comment line"]  # fmt: skip
    if anchors:
        top.insert(0, f"defaults: &defaults  # shared\n{pad}enabled: true\n{pad}timeout: 300")
    section = draw(st.sampled_from(["absent", "{}", "block", "flow"]))
    event(f"extensions: {section}")
    names = draw(st.lists(WORD.filter(lambda w: w not in KIT), min_size=int(section in ("block", "flow")),
                          max_size=4, unique=True))  # fmt: skip
    block, flow = [], []
    for index, name in enumerate(names):
        style = draw(st.sampled_from(["block", "flow", "alias"] if anchors else ["block", "flow"]))
        event(f"a {style} entry")
        enabled = str(draw(st.booleans())).lower()
        mapping = f"{{name: {name}, type: builtin, enabled: {enabled}}}"
        flow.append(f"{name}: {'*defaults' if style == 'alias' else mapping}")
        if style == "block":
            block.append(f"{pad}{name}:  # b{index}\n{pad * 2}name: {draw(QUOTED)}\n{pad * 2}type: builtin\n"
                         f"{pad * 2}enabled: {enabled}")  # fmt: skip
        else:
            block.append(f"{pad}{flow[-1]}  # f{index}")
        if draw(st.booleans()):
            block.append(f"{pad}# between entries")
    if section == "{}":
        top.append("extensions: {}  # none yet")
    elif section == "block":
        top.append("extensions:\n" + "\n".join(block))
    elif section == "flow":  # the entries inside one pair of braces, on one line or several
        top.append("extensions: {" + draw(st.sampled_from([", ", f",\n{pad}"])).join(flow) + "}  # flow")
    order = draw(st.permutations(top[1:] if anchors else top))
    return "\n".join(top[:1] + list(order) if anchors else order) + "\n"


@st.composite
def continue_files(draw: st.DrawFn) -> str:
    pad = " " * draw(st.sampled_from([2, 4]))
    dash = draw(st.sampled_from(["", pad]))  # `- ` at the key's column, or indented
    top = ["name: Local Assistant", "version: 1.0.0", "schema: v1", "# my assistant",
           f"models:\n{dash}- name: {draw(QUOTED)}\n{dash}  provider: ollama  # local"]  # fmt: skip
    section = draw(st.sampled_from(["absent", "[]", "block", "flow"]))
    event(f"mcpServers: {section}")
    names = draw(st.lists(WORD.filter(lambda w: w not in KIT), min_size=int(section in ("block", "flow")),
                          max_size=4, unique=True))  # fmt: skip
    flow = [f"{{name: {name}, command: {draw(WORD)}, args: [a, {draw(QUOTED)}]}}" for name in names]
    block = [
        f"{dash}- {item}" if draw(st.booleans())
        else f"{dash}- name: {name}  # mine\n{dash}  command: {draw(QUOTED)}\n{dash}  args:\n{dash}  - x"
        for name, item in zip(names, flow, strict=True)
    ]  # fmt: skip
    if section == "[]":
        top.append("mcpServers: []")
    elif section == "block":
        top.append("mcpServers:\n" + "\n".join(block))
    elif section == "flow":
        top.append("mcpServers: [" + ", ".join(flow) + "]")
    return "\n".join(draw(st.permutations(top))) + "\n"


@PROPERTY
@given(original=goose_files())
def test_goose_yaml_any_shape(original: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    _check(
        "goose",
        original,
        yaml.safe_load,
        lambda d: (d or {}).get("extensions") or {},
        tmp_path_factory.mktemp("y"),
    )


@PROPERTY
@given(original=continue_files())
def test_continue_yaml_any_shape(original: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    def entries_of(data: Any) -> dict[str, Any]:
        return {item["name"]: item for item in (data or {}).get("mcpServers") or []}

    _check("continue", original, yaml.safe_load, entries_of, tmp_path_factory.mktemp("c"))


# ---- JSON with comments, as VS Code writes and reads it ----


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3)


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | TEXT, _containers, max_leaves=8)
COMMENTS = st.sampled_from(
    ["", "// a line comment", "/* a block */", "/* multi\n   line */", '// has "quotes" {']
)


@st.composite
def jsonc_files(draw: st.DrawFn) -> str:
    unit = draw(st.sampled_from(["\t", "  ", "    "]))

    def obj(members: list[tuple[str, str]], depth: int) -> str:
        if not members:
            comment = draw(COMMENTS)
            return "{" + (f"\n{unit * (depth + 1)}{comment}\n{unit * depth}" if comment else "") + "}"
        lines = []
        for index, (key, value) in enumerate(members):
            comment = draw(COMMENTS)
            if comment:
                lines.append(unit * (depth + 1) + comment)
            last = index == len(members) - 1
            comma = "," if not last or draw(st.booleans()) else ""
            trailing = draw(st.sampled_from(["", " // after"]))
            lines.append(f"{unit * (depth + 1)}{json.dumps(key)}: {value}{comma}{trailing}")
        return "{\n" + "\n".join(lines) + "\n" + unit * depth + "}"

    servers = draw(st.dictionaries(NAMES, st.fixed_dictionaries({"type": st.just("stdio"), "command": TEXT,
                                                                  "args": st.lists(TEXT, max_size=2)}), max_size=3))  # fmt: skip
    members = [(k, json.dumps(v)) for k, v in draw(st.dictionaries(TEXT.filter(lambda k: k != "servers"), JSON_VALUES, max_size=3)).items()]  # fmt: skip
    section = draw(st.sampled_from(["absent", "present"]))
    if section == "present":
        at = draw(st.integers(0, len(members)))
        members.insert(at, ("servers", obj([(k, json.dumps(v)) for k, v in servers.items()], 1)))
    text = draw(COMMENTS.map(lambda c: c + "\n" if c else "")) + obj(members, 0) + "\n"
    crlf = draw(st.booleans())
    event(f"servers {section}, {'CRLF' if crlf else 'LF'}, indent {unit!r}")
    return text.replace("\n", "\r\n") if crlf else text


def _jsonc(text: str) -> Any:
    """VS Code's reading of JSONC, independently of the kit's parser: comments and trailing commas dropped."""
    pieces = [m.group() for m in re.finditer(r'"(?:[^"\\]|\\.)*"|//[^\n]*|/\*.*?\*/|\s+|.', text, re.S)]
    pieces = [p for p in pieces if not p.startswith(("//", "/*"))]
    kept = []
    for index, piece in enumerate(pieces):
        following = next((p for p in pieces[index + 1 :] if not p.isspace()), "")
        if piece != "," or following not in ("}", "]"):
            kept.append(piece)
    return json.loads("".join(kept))


@PROPERTY
@given(original=jsonc_files())
def test_vscode_jsonc_any_shape(original: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    _check("vscode", original, _jsonc, lambda d: d.get("servers", {}), tmp_path_factory.mktemp("j"))


# ---- any file at all: installed into, or refused with a message; never a traceback ----

GENERATORS = {
    "codex": toml_files(),
    "goose": goose_files(),
    "continue": continue_files(),
    "vscode": jsonc_files(),
}


@settings(
    max_examples=CASES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), name=st.sampled_from(sorted(GENERATORS)))
def test_a_damaged_file_is_changed_safely_or_refused_with_a_message(
    data: st.DataObject, name: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    original = data.draw(GENERATORS[name])
    at = data.draw(st.integers(0, len(original)))
    cut = data.draw(st.integers(0, 3))
    damaged = original[:at] + data.draw(st.sampled_from(["", "[", "{", "}", ":", "=", ",", "\n", "&a", "*a", '"', "- "])) + original[at + cut :]  # fmt: skip
    path = tmp_path_factory.mktemp("d") / "config"
    path.write_bytes(damaged.encode())
    try:
        apply_change(CLIENTS[name], path, ENTRIES, dry_run=False)
    except KitError as exc:
        assert "untouched" in exc.message and path.read_bytes() == damaged.encode()
        return
    apply_change(CLIENTS[name], path, [], dry_run=False, uninstall=True)
