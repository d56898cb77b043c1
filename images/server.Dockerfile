# One MCP server per image. Rendered by kit/image/dockerfile.py: the double-brace markers are filled from the
# server's declaration. Classic-builder compatible (no RUN --mount, no heredocs); needs no network.
# Layers are ordered so that a change to the server's own code rebuilds only its small layers: the locked
# dependencies and everything the servers share come from the build cache.
ARG BASE_IMAGE

FROM ${BASE_IMAGE} AS build
# MCPKIT_BUILD_STAGE names the server this stage's image (left untagged: the next build's cache) belongs to.
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 MCPKIT_BUILD_STAGE={{stage}}
COPY wheels /wheels
COPY requirements.lock /requirements.lock
# Exactly the lock, hash-checked, into a venv without pip; pip runs from a venv of its own (the base's ensurepip),
# so the final image has no installer, no build tools and nothing that was not locked. Bytecode is compiled here,
# because the running container's root filesystem is read-only. The server itself goes to /opt/server, on the
# venv's path through a .pth file, so its code is a layer of its own; another .pth serves a start from the start
# bundle the code step records (kit/image/start_bundle.py). A file that does not byte-compile (a
# package's Python 2 leftover) is noted and left, as pip's own install does.
RUN python3 -m venv /opt/pip && python3 -m venv --without-pip /opt/venv \
 && /opt/pip/bin/python -m pip --python /opt/venv/bin/python install --no-index --find-links /wheels \
      --require-hashes --no-compile -r /requirements.lock \
 && { /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv \
      || echo "note: the files above do not byte-compile (pip skips them too); they stay as they are"; } \
 && /opt/venv/bin/python -c "import site; open(site.getsitepackages()[0] + '/mcpkit-server.pth', 'w').write('/opt/server\n')" \
 && {{start_hook}} \
 && mkdir -p /opt/server {{made_dirs}}
ENV PATH=/opt/venv/bin:$PATH
{{system_steps}}
{{server_steps}}
FROM ${BASE_IMAGE}
{{system_copies}}
# The same for every server, so cached once for all. A numeric user needs no passwd entry, so any base works;
# client configs pass the same --user.
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp
WORKDIR /tmp
USER 10001:10001
COPY --from=build /opt/venv /opt/venv
{{volume_copies}}
{{file_copies}}
{{server_copy}}
{{data_copies}}
# How it starts, its arguments, settings and labels are set on the built image in one step (kit/image/builder.py).
