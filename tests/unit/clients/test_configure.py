import json
from pathlib import Path

import pytest

from kit.clients.claude_desktop import CLIENT
from kit.clients.configure import client_named, render
from kit.containers.launch import launch_entries
from kit.errors import KitError
from kit.identity import project_id, project_slug
from kit.project.servers import discover, select
from kit.project.settings import load_settings

GOLDEN = Path(__file__).parent / "golden" / "claude_desktop_analyst.json"


def _entries(project: Path, values: dict[str, str] | None = None):
    settings = load_settings({}, cwd=project)
    return launch_entries(settings, select(discover(settings), ["analyst"]), values)


def test_claude_desktop_config_matches_golden_output(project: Path) -> None:
    rendered = render(CLIENT, _entries(project, {"ANALYST_DATABASE_URL": "postgresql://u:pw@db/x"}))
    # The project's identity is where it is (a temporary folder here): the golden file names it by placeholders.
    text = (
        json.dumps(rendered)
        .replace(project_slug(project), "PROJECT-SLUG")
        .replace(project_id(project), "PROJECT-ID")
    )
    assert json.loads(text) == json.loads(GOLDEN.read_text())


def test_secret_values_never_appear_in_args(project: Path) -> None:
    (entry,) = _entries(project, {"ANALYST_DATABASE_URL": "postgresql://u:pw@db/x"})
    assert entry.env == {"ANALYST_DATABASE_URL": "postgresql://u:pw@db/x"}
    assert not any("pw@" in arg for arg in entry.args)
    assert entry.args[entry.args.index("ANALYST_DATABASE_URL") - 1] == "-e"


def test_a_value_for_a_variable_no_server_takes_is_refused(project: Path) -> None:
    with pytest.raises(KitError, match="OPENAI_API_KEY"):
        _entries(project, {"OPENAI_API_KEY": "x"})


def test_unknown_client_lists_the_supported_ones() -> None:
    with pytest.raises(KitError) as caught:
        client_named("notepad")
    assert "claude-desktop" in (caught.value.hint or "")


def test_volume_options_are_checked(project: Path) -> None:
    settings = load_settings({}, cwd=project)
    servers = discover(settings)
    with pytest.raises(KitError, match="declares the volume"):
        launch_entries(settings, servers, volumes={"inbox": "/x"})
    with pytest.raises(KitError, match="absolute host path"):
        launch_entries(settings, servers, volumes={"outbox": "relative/dir"})
