"""What the gateway serves and how: `[gateway]` in mcpkit.toml, which `kit gateway` options override."""

from __future__ import annotations

from pydantic import ValidationError

from kit.errors import KitError, validation_problems
from kit.project import manifest
from kit.project.settings import Settings
from mcpkit_runtime.gateway.settings import GatewaySettings


def load_gateway_settings(settings: Settings) -> GatewaySettings:
    table = manifest.read(settings.project_dir).get("gateway", {})
    try:
        return GatewaySettings.model_validate(table)
    except ValidationError as exc:
        raise KitError(
            f"invalid [gateway] in {settings.project_dir / manifest.MANIFEST_NAME}: {validation_problems(exc)}"
        ) from None
