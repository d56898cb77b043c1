"""`kit sbom NAME`: a CycloneDX bill of materials of what is really installed in a server's image.

The image itself is asked (its Python lists the distributions in /opt/venv, their licences and files' hashes
come from their RECORD), so the document describes the artefact, not the intent.
"""

from __future__ import annotations

import json
from pathlib import Path

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from docker.errors import ContainerError, ImageNotFound
from packageurl import PackageURL
from packaging.utils import canonicalize_name

from kit import __version__, identity
from kit.containers import engine
from kit.errors import KitError
from kit.project import locks
from kit.project.servers import Server
from kit.project.settings import Settings

# Run inside the image with its own interpreter: name, version, summary and licence of each installed distribution.
_INVENTORY = (
    "import json, importlib.metadata as m; print(json.dumps(sorted(({'name': d.metadata['Name'], "
    "'version': d.version, 'summary': d.metadata.get('Summary') or '', "
    "'license': d.metadata.get('License-Expression') or d.metadata.get('License') or ''} "
    "for d in m.distributions(path=[p for p in __import__('sys').path if p.startswith('/opt/venv')])), "
    "key=lambda d: d['name'].lower())))"
)


def write_sbom(settings: Settings, server: Server, output: Path) -> Bom:
    if server.image is not None:
        raise KitError(
            f"{server.name} is the prebuilt image {server.image}: the kit did not build it and knows no inventory",
            hint="ask its publisher for its SBOM, or scan the image with a tool made for it",
        )
    tag = identity.image_tag(settings, server)
    with engine.connected() as client:
        image = engine.find_image(client, tag)
        if image is None:
            raise KitError(f"no image {tag}", hint=f"build it: `kit build {server.name}`")
        try:
            raw = client.containers.run(
                image.id, ["-c", _INVENTORY], entrypoint=["python"], network_mode="none", remove=True,
                user=identity.CONTAINER_USER, labels={identity.MANAGED: "true"},
            )  # fmt: skip
        except (ContainerError, ImageNotFound) as exc:
            raise KitError(f"cannot list what {tag} holds: {exc}") from None
    installed = json.loads(raw)
    lock = locks.read(locks.lock_path(server.project_dir, server.name))
    hashes = {canonicalize_name(p.name): p.sha256 for p in lock.packages if p.sha256} if lock else {}
    bom = Bom()
    bom.metadata.component = Component(
        name=server.name, version=server.version, type=ComponentType.CONTAINER,
        bom_ref=f"image:{tag}", description=f"{tag} ({image.id})",
        properties=[Property(name="mcpkit:image-id", value=image.id),
                    Property(name="mcpkit:base-image", value=identity.labels_of(image).get(identity.BASE_IMAGE, "")),
                    Property(name="mcpkit:kit-version", value=__version__)],
    )  # fmt: skip
    for item in installed:
        purl = PackageURL(type="pypi", name=item["name"].lower(), version=item["version"])
        component = Component(
            name=item["name"], version=item["version"], type=ComponentType.LIBRARY, purl=purl,
            bom_ref=str(purl), description=item["summary"][:200] or None,
        )  # fmt: skip
        if item["license"] and len(item["license"]) < 100:
            component.licenses.add(LicenseFactory().make_from_string(item["license"]))
        digest = hashes.get(canonicalize_name(item["name"]))
        if digest:
            component.hashes.add(HashType(alg=HashAlgorithm.SHA_256, content=digest))
        bom.components.add(component)
        bom.register_dependency(bom.metadata.component, [component])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(JsonV1Dot6(bom).output_as_string(indent=2), encoding="utf-8")
    return bom
