"""Resolution failures told apart. The pip output is what pip 23.2 printed here for the base's target (CPython 3.11,
manylinux_2_36_x86_64, wheels only); the index's answers are recorded from PyPI's simple API (the unit tier has no
network)."""

from kit.image.resolution import base_for, explain

PLATFORMS = ["manylinux_2_36_x86_64", "manylinux2014_x86_64", "linux_x86_64"]


def _index(files: dict[str, list[str] | None]):  # type: ignore[no-untyped-def]
    return lambda name: None if files.get(name) is None else [{"filename": f} for f in files[name] or []]


def test_a_package_the_index_does_not_have() -> None:
    stderr = (
        "ERROR: Could not find a version that satisfies the requirement nonexistent-pkg-zzz-123 (from versions: none)\n"
        "ERROR: No matching distribution found for nonexistent-pkg-zzz-123\n"
    )
    error = explain("", stderr, "3.11", PLATFORMS, _index({}))
    assert error.message == "nonexistent-pkg-zzz-123 is not on the package index"


def test_no_release_for_this_python_names_what_the_newest_needs_and_the_base_that_has_it() -> None:
    stderr = (
        "ERROR: Ignored the following versions that require a different python version: 5.9 Requires-Python >=3.12; "
        "6.0 Requires-Python >=3.12; 6.1rc1 Requires-Python >=3.13\n"
        "ERROR: Could not find a version that satisfies the requirement django>=5.9 (from versions: 5.2.18, 5.2.19)\n"
        "ERROR: No matching distribution found for django>=5.9\n"
    )
    error = explain("", stderr, "3.11", PLATFORMS, _index({}))
    assert "Python 3.11: the newest, 6.0, needs Python >=3.12" in error.message
    assert "mcpkit/base:trixie" in (error.hint or "") and "older django" in (error.hint or "")


def test_only_sources_or_wheels_for_other_pythons_need_a_source_build() -> None:
    stderr = (
        "ERROR: Could not find a version that satisfies the requirement pyyaml==5.4.1 (from versions: 6.0.1, 6.0.2)\n"
        "ERROR: No matching distribution found for pyyaml==5.4.1\n"
    )
    index = _index({"pyyaml": ["PyYAML-5.4.1-cp39-cp39-manylinux1_x86_64.whl", "PyYAML-5.4.1.tar.gz"]})
    error = explain("", stderr, "3.11", PLATFORMS, index)
    assert "5.4.1 has no wheel for CPython 3.11" in error.message and "cp39" in error.message
    assert "source build" in error.message
    sources_only = explain("", stderr, "3.11", PLATFORMS, _index({"pyyaml": ["PyYAML-5.4.1.tar.gz"]}))
    assert "publishes no wheel, only sources" in sources_only.message


def test_a_version_that_does_not_exist_is_not_called_a_source_build() -> None:
    stderr = (
        "ERROR: Could not find a version that satisfies the requirement mcp-server-git==1999.1 "
        "(from versions: 2026.10.10, 2026.10.19)\nERROR: No matching distribution found for mcp-server-git==1999.1\n"
    )
    index = _index({"mcp-server-git": ["mcp_server_git-2026.10.19-py3-none-any.whl"]})
    error = explain("", stderr, "3.11", PLATFORMS, index)
    assert (
        error.message.startswith("mcp-server-git has no release ==1999.1") and "2026.10.19" in error.message
    )


def test_a_conflict_gives_pips_own_cause() -> None:
    stdout = (
        "Collecting mcp-server-time==2026.10.19\n\nThe conflict is caused by:\n"
        "    mcp-server-time 2026.10.19 depends on mcp<3 and >=2.3\n    The user requested mcp<1\n\n"
        "To fix this you could try to:\n"
    )
    stderr = "ERROR: Cannot install mcp-server-time==2026.10.19 and mcp<1\nERROR: ResolutionImpossible: for help visit"
    error = explain(stdout, stderr, "3.11", PLATFORMS, _index({}))
    assert "depends on mcp<3 and >=2.3" in error.message and "The user requested mcp<1" in error.message


def test_the_base_for_a_requires_python() -> None:
    assert "bookworm" in (base_for(">=3.10") or "")
    assert "trixie" in (base_for(">=3.12") or "")
    assert base_for(">=3.14") is None


def test_old_releases_passed_over_for_their_python_do_not_hide_a_source_only_release() -> None:
    # basic-memory 0.24.1 on Python 3.13 (a real run): its pybars3>=0.9.7 is published as sources only.
    stderr = (
        "ERROR: Ignored the following versions that require a different python version: 0.4.2 Requires-Python "
        ">=3.8.0,<3.13\nERROR: Could not find a version that satisfies the requirement pybars3>=0.9.7 (from "
        "versions: none)\nERROR: No matching distribution found for pybars3>=0.9.7\n"
    )
    error = explain("", stderr, "3.13", PLATFORMS, _index({"pybars3": ["pybars3-0.9.7.tar.gz"]}))
    assert error.message.startswith("pybars3>=0.9.7 publishes no wheel, only sources"), error.message
