# One MCP server per image. Rendered by kit/image/dockerfile.py: the double-brace markers are filled from the
# server's declaration. Classic-builder compatible (no RUN --mount, no heredocs); needs no network.
ARG BASE_IMAGE

FROM ${BASE_IMAGE} AS build
# MCPKIT_BUILD_STAGE names the server this stage's image (left untagged: the next build's cache) belongs to.
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 MCPKIT_BUILD_STAGE={{stage}}
COPY wheels /wheels
COPY requirements.lock /requirements.lock
# Exactly the lock, hash-checked, into a venv without pip; pip runs from a venv of its own (the base's ensurepip),
# so the final image has no installer, no build tools and nothing that was not locked.
RUN python3 -m venv /opt/pip && python3 -m venv --without-pip /opt/venv \
 && /opt/pip/bin/python -m pip --python /opt/venv/bin/python install --no-index --find-links /wheels \
      --require-hashes --no-compile -r /requirements.lock{{install_server}}
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
