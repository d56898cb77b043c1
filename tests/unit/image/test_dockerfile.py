import io
import tarfile
from pathlib import Path

from kit.image import code_layer
from kit.image.dockerfile import EXPANDER, entrypoint, expander_archive, render_dockerfile
from kit.project.servers import Server, ServerDeclaration, load_index_server, load_server
from mcpkit_runtime import argv


def test_rendered_dockerfile_builds_with_the_classic_builder(project: Path) -> None:
    analyst = load_server(project / "servers" / "analyst")
    dockerfile = render_dockerfile(analyst)
    instructions = "\n".join(line for line in dockerfile.splitlines() if not line.startswith("#"))
    assert "{{" not in instructions
    assert "--mount" not in instructions and "<<" not in instructions, "BuildKit-only syntax"
    assert "--no-index" in dockerfile and "--require-hashes" in dockerfile


def _with_build_network(server: Server) -> Server:
    """A server whose build commands need the network: they, and its code, stay in the Dockerfile."""
    declaration = server.declaration.model_copy(update={"build_network": True})
    return server.model_copy(update={"declaration": declaration})


def test_server_declaration_is_rendered_into_the_image(project: Path) -> None:
    analyst = _with_build_network(load_server(project / "servers" / "analyst"))
    dockerfile = render_dockerfile(analyst)
    assert 'RUN ["python", "-m", "analyst.demo_data", "/opt/mcp/data/demo.db"]' in dockerfile
    assert "COPY --from=build /opt/mcp/data /opt/mcp/data" in dockerfile
    final_stage = dockerfile.split("FROM ${BASE_IMAGE}\n")[1]
    assert "USER 10001:10001" in final_stage and "/wheels" not in final_stage


def test_build_commands_in_the_build_stage_are_followed_by_the_dependencies_bundle_recorded_again(
    project: Path,
) -> None:
    """They run as root with the venv writable (a pip upgrade, a patch): the bundle recorded before them may be stale."""
    build_stage = render_dockerfile(_with_build_network(load_server(project / "servers" / "analyst"))).split(
        "FROM ${BASE_IMAGE}"
    )[1]
    command = build_stage.index('RUN ["python", "-m", "analyst.demo_data"')
    assert build_stage.rindex("mcpkit_runtime.start_record dependencies") > command
    mailer = render_dockerfile(_with_build_network(load_server(project / "servers" / "mailer")))
    assert mailer.count("mcpkit_runtime.start_record dependencies") == 1, "no build commands: recorded once"


def test_a_code_change_rebuilds_only_layers_after_the_dependencies(project: Path) -> None:
    dockerfile = render_dockerfile(_with_build_network(load_server(project / "servers" / "analyst")))
    build_stage = dockerfile.split("FROM ${BASE_IMAGE}")[1]
    assert build_stage.index("-r /requirements.lock") < build_stage.index("COPY server /server")
    final_stage = dockerfile.split("FROM ${BASE_IMAGE}")[2]
    shared = final_stage.split("COPY")[0]
    assert "USER 10001:10001" in shared and "ENV PATH" in shared, "the same for every server: cached once"
    assert final_stage.index("COPY --from=build /opt/venv") < final_stage.index(
        "COPY --from=build /opt/server"
    )


def test_a_folder_server_without_build_commands_leaves_its_code_to_one_step_after_the_build(
    project: Path,
) -> None:
    dockerfile = render_dockerfile(load_server(project / "servers" / "mailer"))
    assert "COPY server" not in dockerfile and "/server/*.whl" not in dockerfile
    final_stage = dockerfile.split("FROM ${BASE_IMAGE}")[2]
    instructions = [line for line in final_stage.splitlines() if line and not line.startswith("#")]
    assert instructions[-1] == "COPY --from=build --chown=10001:10001 /opt/server /opt/server", (
        "the code's step writes there as the server's user; everything before it comes from the cache"
    )
    assert final_stage.index("/var/mcp/outbox /var/mcp/outbox") < final_stage.index("/opt/server /opt/server")


def test_build_commands_without_network_run_in_the_code_step_and_leave_the_code_to_root(
    project: Path,
) -> None:
    analyst = load_server(project / "servers" / "analyst")
    assert code_layer.applies(analyst) and code_layer.as_root(analyst.declaration)
    dockerfile = render_dockerfile(analyst)
    assert "analyst.demo_data" not in dockerfile and "/opt/mcp/data" not in dockerfile
    final_stage = dockerfile.split("FROM ${BASE_IMAGE}")[2]
    instructions = [line for line in final_stage.splitlines() if line and not line.startswith("#")]
    assert instructions[-1] == "COPY --from=build /opt/server /opt/server", (
        "the code and the data its build commands make are root's, as the Dockerfile's build stage left them"
    )


def test_volume_folders_belong_to_the_server_user(project: Path) -> None:
    dockerfile = render_dockerfile(load_server(project / "servers" / "mailer"))
    assert "mkdir -p /opt/server /var/mcp/outbox" in dockerfile
    assert "COPY --from=build --chown=10001:10001 /var/mcp/outbox /var/mcp/outbox" in dockerfile


def test_a_package_index_server_has_no_server_layer(tmp_path: Path) -> None:
    server = load_index_server(tmp_path, "time", {"package": "mcp-server-time", "script": "mcp-server-time"})
    assert "COPY server" not in render_dockerfile(server)


def test_how_a_server_starts() -> None:
    assert entrypoint(ServerDeclaration(module="analyst")) == ["python", "-m", "analyst"]
    assert entrypoint(ServerDeclaration(function="pkg.srv:main")) == [
        "python", "-c", "import sys; from pkg.srv import main; sys.exit(main())",
    ]  # fmt: skip
    script = ServerDeclaration(script="mcp-server-time")
    assert entrypoint(script, {"mcp-server-time": "mcp_server_time:main"})[2].endswith("sys.exit(main())")
    assert entrypoint(script) == ["/opt/venv/bin/mcp-server-time"]


def test_arguments_that_name_variables_start_through_the_expander() -> None:
    plain = ServerDeclaration(module="srv", args=["--dsn", "x"])
    assert entrypoint(plain) == ["python", "-m", "srv"]
    for args in (["--dsn", "${DSN}"], ["$${LITERAL}"]):
        declaration = ServerDeclaration(module="srv", args=args)
        assert entrypoint(declaration) == [*EXPANDER, "python", "-m", "srv"]


def test_the_expander_goes_into_the_image_as_one_file_the_server_can_read() -> None:
    with tarfile.open(fileobj=io.BytesIO(expander_archive())) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert set(members) == {"opt/mcpkit", "opt/mcpkit/argv.py"}
        assert members["opt/mcpkit/argv.py"].mode == 0o644
        source = archive.extractfile("opt/mcpkit/argv.py").read()  # type: ignore[union-attr]
    assert source == Path(argv.__file__).read_bytes() and EXPANDER[-1] == argv.IN_IMAGE


def test_only_a_folder_server_whose_build_needs_no_network_gets_its_code_in_one_step(
    project: Path, tmp_path: Path
) -> None:
    mailer, analyst = (load_server(project / "servers" / name) for name in ("mailer", "analyst"))
    assert code_layer.applies(mailer) and not code_layer.as_root(mailer.declaration)
    assert code_layer.applies(analyst), "its build command runs in the code's step, without network"
    assert not code_layer.applies(_with_build_network(analyst)), "the code's step never has a network"
    index = load_index_server(tmp_path, "time", {"package": "mcp-server-time", "script": "mcp-server-time"})
    assert not code_layer.applies(index), "its code is among its locked dependencies"


def test_build_commands_find_their_data_dirs_made_in_the_build_stage_as_in_the_code_step(
    project: Path,
) -> None:
    dockerfile = render_dockerfile(_with_build_network(load_server(project / "servers" / "analyst")))
    assert "mkdir -p /opt/server /opt/mcp/data" in dockerfile.split("FROM ${BASE_IMAGE}")[1]
