import subprocess
import sys
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_matches_the_help_text(tmp_path: Path) -> None:
    generated = tmp_path / "cli.md"
    command = [
        sys.executable,
        "-m",
        "typer",
        "kit.cli",
        "utils",
        "docs",
        "--name",
        "kit",
        "--output",
        str(generated),
    ]
    subprocess.run(command, check=True, capture_output=True)
    assert generated.read_text() == REFERENCE.read_text(), "docs/cli.md is stale: run `make docs`"
