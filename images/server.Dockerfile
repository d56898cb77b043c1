# One MCP server per image. Rendered by kit/image/dockerfile.py: the double-brace markers are filled from the
# server's declaration. Classic-builder compatible (no RUN --mount, no heredocs); needs no network.
ARG BASE_IMAGE

FROM ${BASE_IMAGE} AS build
# MCPKIT_BUILD_STAGE marks this stage's image, which every build leaves untagged, so `kit gc` can find it.
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 MCPKIT_BUILD_STAGE=1
COPY wheels /wheels
COPY requirements.lock /requirements.lock
# Exactly the lock, hash-checked. pip comes from the base's ensurepip and is removed again: the final venv has no
# installer and no build tools.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/python -m pip install --no-index --find-links /wheels --require-hashes --no-compile \
      -r /requirements.lock \
{{install_server}} && /opt/venv/bin/python -m pip uninstall --yes pip
ENV PATH=/opt/venv/bin:$PATH
{{build_steps}}
# Bytecode compiled once here, because the running container's root filesystem is read-only.
RUN python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv

FROM ${BASE_IMAGE}
COPY --from=build /opt/venv /opt/venv
{{data_copies}}
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp
{{image_env}}
{{volume_dirs}}
# A numeric user needs no passwd entry, so any base works; client configs pass the same --user.
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT {{entrypoint}}
{{cmd}}
