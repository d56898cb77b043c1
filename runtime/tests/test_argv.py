"""The expander a server's container starts through when its arguments name variables: `${NAME}` filled in from
the environment, the server then started in its place; a missing value named, never shown."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mcpkit_runtime import argv

SHOW_ARGV = "import sys; print(sys.argv[1:])"


def test_only_the_exact_form_with_a_variable_name_is_a_reference() -> None:
    args = [
        "--dsn",
        "${DSN}",
        "postgresql://u:${PASS_1}@h/db",
        "$DSN",
        "${1X}",
        "${a-b}",
        "${}",
        "$${ESCAPED}",
        "${DSN}",
    ]
    assert argv.names(args) == ["DSN", "PASS_1"]


def test_references_are_filled_in_inside_words_and_escapes_stay_literal() -> None:
    expanded = argv.expand(
        ["--dsn=${DSN}", "postgresql://u:${PASS}@h/db", "$${DSN}", "$DSN", "${not-a-name}"],
        {"DSN": "sqlite:///x.db", "PASS": "p@ss ${DSN}"},
    )
    # A value is never expanded again: one holding ${DSN} stays as it is.
    assert expanded == [
        "--dsn=sqlite:///x.db",
        "postgresql://u:p@ss ${DSN}@h/db",
        "${DSN}",
        "$DSN",
        "${not-a-name}",
    ]


@pytest.mark.parametrize("environ", [{}, {"DSN": ""}])
def test_an_unset_or_empty_variable_is_refused(environ: dict[str, str]) -> None:
    with pytest.raises(argv.MissingVariable) as caught:
        argv.expand(["${DSN}"], environ)
    assert caught.value.name == "DSN"


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The file run as the image runs it: isolated, without site, with only the environment given."""
    command = [sys.executable, "-I", "-S", argv.__file__, *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=30, check=False)


def test_the_server_starts_in_its_place_with_the_values() -> None:
    done = _run(
        ["--", sys.executable, "-c", SHOW_ARGV, "--dsn", "${DSN}", "$${DSN}"], {"DSN": "sqlite:///a b.db"}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['--dsn', 'sqlite:///a b.db', '${DSN}']"


def test_a_missing_variable_stops_the_start_naming_it_and_no_value() -> None:
    done = _run([sys.executable, "-c", SHOW_ARGV, "${DSN}", "${TOKEN}"], {"DSN": "value-that-is-secret"})
    assert done.returncode == argv.EXIT_MISSING
    assert done.stdout == "", "the server must not start"
    assert "${TOKEN}" in done.stderr and "kit secret set TOKEN" in done.stderr
    assert "value-that-is-secret" not in done.stderr


def test_a_command_that_does_not_exist_is_said_so() -> None:
    done = _run(["/nonexistent/server", "${DSN}"], {"DSN": "x"})
    assert done.returncode == 127 and "cannot start /nonexistent/server" in done.stderr
