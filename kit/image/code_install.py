"""Run inside the code step's container (kit/image/code_layer.py), by the image's python3 with the standard library
only: the folder's wheel built by calling its build backend, installed into /opt/server by unpacking it and
byte-compiled; then the server's build commands, which may use it.

pip, which did both, costs seconds a code change pays each time: it starts slowly, builds the wheel in an isolated
environment it first installs the backend into, and starts again to install. Here the backend's wheels are
unpacked into a folder of their own (what pip's isolated environment holds, without the system's site-packages),
the PEP 517 hook is called in this process, and the server's wheel, pure Python, is unpacked where pip --target
would put it. Where this shortcut would not do what pip does (a backend that asks for more build requirements, a
wheel with data or scripts, or one not pure Python), the step hands over to pip, as before.

Beside the build commands, the image's Python records the server's start bundle (mcpkit_runtime/start_record.py): the
compiled code of its modules, and of the packages they import that the dependencies' bundle (recorded in the build
stage) lacks, in one file the image's starts read instead of dozens. On two cores it runs while the build commands
do; if they changed the server's Python files meanwhile, or the recording fails, the image has no bundle of the
server's and the build goes on.

Last, what the image keeps (/opt/server and the data dirs, the container's only writable places besides tmpfs) is
written as a tar, with the folders above them, for the host to check and add to the dependencies' image as a layer.

Usage: python3 -I -S code_install.py PIP_WHEEL BUILD_COMMANDS_JSON KEPT_JSON BACKEND [BACKEND_PATH...]
"""

from __future__ import annotations

import compileall
import glob
import importlib
import json
import os
import shutil
import site
import subprocess
import sys
import tarfile
import zipfile
from py_compile import PycInvalidationMode
from typing import Any

UNCHECKED_HASH = PycInvalidationMode.UNCHECKED_HASH

# Mounted under /tmp, a tmpfs: the engine makes their mount points there, not in the image the commit keeps.
SOURCE, WHEELS, OUT, TARGET = "/tmp/mounts/src", "/tmp/mounts/wheels", "/tmp/mounts/out", "/opt/server"
LAYER = "/tmp/mounts/out/layer.tar"
BUILD, BACKEND_DIR = "/tmp/src", "/tmp/backend"
RECORDING_TIMEOUT = 120
BUNDLE = "/opt/server/.mcpkit-start-bundle"  # mcpkit_runtime/start_bundle.py reads it there
RECORDER = """
import sys
try:
    from mcpkit_runtime.start_record import main
except ImportError:
    print("note: no start bundle: the image has no mcpkit_runtime to record it", file=sys.stderr)
else:
    main(["server"])
"""


def main(
    pip_wheel: str, commands: list[list[str]], kept: list[str], backend_name: str, backend_path: list[str]
) -> None:
    shutil.copytree(SOURCE, BUILD)
    os.chdir(BUILD)  # PEP 517: hooks run in the source tree
    for wheel in sorted(glob.glob(os.path.join(WHEELS, "*.whl"))):
        if os.path.basename(wheel) != pip_wheel:
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(BACKEND_DIR)
    site.addsitedir(BACKEND_DIR)  # its .pth files too, as an installed backend has them
    sys.path[:0] = [os.path.join(BUILD, path) for path in backend_path]
    backend = _backend(backend_name)
    hook = getattr(backend, "get_requires_for_build_wheel", None)
    if hook is not None and hook():
        _pip(pip_wheel, "wheel", "--no-index", "--find-links", WHEELS, "--no-deps", "--wheel-dir", OUT, BUILD)
        wheel = glob.glob(os.path.join(OUT, "*.whl"))[0]
    else:
        wheel = os.path.join(OUT, backend.build_wheel(OUT))
    if not _unpacked(wheel, TARGET):
        _pip(pip_wheel, "install", "--no-index", "--no-deps", "--no-compile", "--target", TARGET, wheel)
    # This is the image's python3 (the venv's, first on its PATH), so the bytecode is for the server's interpreter.
    if not compileall.compile_dir(TARGET, quiet=1, workers=0, invalidation_mode=UNCHECKED_HASH):
        print("note: the files above do not byte-compile; they stay as they are", file=sys.stderr)
    before = _python_files(TARGET) if commands else {}
    recording = _record_start()
    # The build commands, as the Dockerfile's RUN ran them: the image's settings; what they leave in /tmp is not kept.
    for command in commands:
        try:
            status = subprocess.run(command, cwd="/tmp").returncode
        except OSError as exc:
            sys.exit(f"build command {command} did not start: {exc}")
        if status != 0:
            sys.exit(f"build command {command} failed (exit status {status})")
    _recorded(recording, before)
    write_layer(LAYER, kept)


def write_layer(path: str, kept: list[str]) -> None:
    """The `kept` folders (each with what is in it) and the folders above them, as a tar of paths from the root."""
    above = sorted({parent for folder in kept for parent in parents(folder)} - set(kept))
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as layer:
        for folder in above:
            layer.add(folder, arcname=folder.lstrip("/"), recursive=False)
        for folder in kept:  # each once: not again inside another
            if not any(folder.startswith(other.rstrip("/") + "/") for other in kept):
                layer.add(folder, arcname=folder.lstrip("/"))


def parents(path: str) -> list[str]:
    """The folders above a path, up to the root (not included); the host's check of the tar uses it too."""
    parents = []
    while (parent := os.path.dirname(path)) != path:  # the root, and an empty path, are their own
        path = parent
        parents.append(parent)
    return parents[:-1]


def _record_start() -> subprocess.Popen[bytes] | None:
    """Site as at start: the venv, /opt/server, and the dependencies' bundle, whose modules it leaves out."""
    try:
        return subprocess.Popen([sys.executable, "-P", "-c", RECORDER], cwd="/tmp")  # -P: not /tmp's files
    except OSError as exc:
        print(f"note: no start bundle: its recording did not start: {exc}", file=sys.stderr)
        return None


def _recorded(recording: subprocess.Popen[bytes] | None, before: dict[str, tuple[int, int, int]]) -> None:
    """The bundle kept if its recording succeeded and no Python file of the server changed while it read them
    (`before`: what they were when it started; empty when no build command ran beside it)."""
    if recording is None:
        return
    try:
        status = recording.wait(RECORDING_TIMEOUT)
    except subprocess.TimeoutExpired:
        recording.kill()
        status = recording.wait()
    changed = _changed(before, _python_files(TARGET)) if status == 0 and before else None
    if status != 0 or changed:
        why = (
            f"the build commands changed {changed}" if changed else f"its recording failed (status {status})"
        )
        print(f"note: no start bundle: {why}", file=sys.stderr)
        for path in (BUNDLE, f"{BUNDLE}.partial"):
            if os.path.exists(path):
                os.unlink(path)


def _python_files(folder: str) -> dict[str, tuple[int, int, int]]:
    """Each .py and .pyc file's inode, change time and size: a write, a replacement or a copy that keeps the old
    modification time still changes them (nobody can set a change time back)."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            if name.endswith((".py", ".pyc")):
                path = os.path.join(root, name)
                stat = os.lstat(path)
                found[path] = (stat.st_ino, stat.st_ctime_ns, stat.st_size)
    return found


def _changed(before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]]) -> str | None:
    return next(
        (path for path in sorted(before.keys() | after.keys()) if before.get(path) != after.get(path)), None
    )


def _backend(name: str) -> Any:
    module_name, _, attributes = name.partition(":")
    backend: Any = importlib.import_module(module_name)
    for attribute in filter(None, attributes.split(".")):
        backend = getattr(backend, attribute)
    return backend


def _unpacked(wheel: str, target: str) -> bool:
    """The wheel unpacked into target, as pip --target installs it; False (nothing written) for a wheel pip must
    install itself: one with a .data folder (scripts, headers, data) or not Root-Is-Purelib."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/WHEEL")]
        if len(info) != 1 or any(n.split("/", 1)[0].endswith(".data") for n in names):
            return False
        lines = archive.read(info[0]).decode("utf-8").splitlines()
        if "root-is-purelib: true" not in (line.strip().lower() for line in lines):
            return False
        for member in archive.infolist():
            path = archive.extract(member, target)
            if member.external_attr >> 16 & 0o111:
                os.chmod(path, 0o755)
        with open(os.path.join(target, info[0].split("/")[0], "INSTALLER"), "w") as installer:
            installer.write("mcpkit\n")
    return True


def _pip(pip_wheel: str, *arguments: str) -> None:
    command = [sys.executable, os.path.join(WHEELS, pip_wheel, "pip"), "--disable-pip-version-check"]
    subprocess.run([*command, "--no-cache-dir", "--quiet", *arguments], check=True)


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4], sys.argv[5:])
