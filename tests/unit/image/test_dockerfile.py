from pathlib import Path

from kit.image.dockerfile import render_dockerfile
from kit.project.servers import load_server


def test_rendered_dockerfile_builds_with_the_classic_builder(project: Path) -> None:
    analyst = load_server(project / "servers" / "analyst")
    dockerfile = render_dockerfile(analyst)
    instructions = "\n".join(line for line in dockerfile.splitlines() if not line.startswith("#"))
    assert "{{" not in instructions
    assert "--mount" not in instructions and "<<" not in instructions, "BuildKit-only syntax"
    assert "--no-index" in dockerfile and "--require-hashes" in dockerfile


def test_server_declaration_is_rendered_into_the_image(project: Path) -> None:
    analyst = load_server(project / "servers" / "analyst")
    dockerfile = render_dockerfile(analyst)
    assert 'RUN ["python", "-m", "analyst.demo_data", "/opt/mcp/data/demo.db"]' in dockerfile
    assert "COPY --from=build /opt/mcp/data /opt/mcp/data" in dockerfile
    assert 'ENV ANALYST_DATABASE_URL="sqlite:////opt/mcp/data/demo.db"' in dockerfile
    assert dockerfile.rstrip().endswith('ENTRYPOINT ["python", "-m", "analyst"]')
    final_stage = dockerfile.split("FROM ${BASE_IMAGE}\n")[1]
    assert "USER 10001:10001" in final_stage and "/wheels" not in final_stage


def test_volume_folders_belong_to_the_server_user(project: Path) -> None:
    dockerfile = render_dockerfile(load_server(project / "servers" / "mailer"))
    final_stage = dockerfile.split("FROM ${BASE_IMAGE}\n")[1]
    assert "RUN mkdir -p /var/mcp/outbox && chown 10001:10001 /var/mcp/outbox" in final_stage
