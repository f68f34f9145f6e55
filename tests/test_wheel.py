"""The wheel runs anywhere: built from a copy of the checkout, installed into a new virtualenv, started
from another folder with its installed code read-only, and it serves discovery, hooks, the sandbox page
and its demo patients, as an unprivileged user. Root ignores file modes, so as root the server runs as
`nobody` in a mount namespace where the package folder is bound read-only (as on a read-only root
filesystem).

Building and installing needs the build backend and the dependencies from PyPI (or pip's cache): an
integration test, skipped without network unless CDSHOOKS_REQUIRE_INTEGRATION=1.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import draft_med, hook_request, service_url
from tests.integration import REPO, unavailable
from tests.live_server import free_port

NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "test-results"
)
SHIPPED = {  # what the service reads at run time: folder in the checkout -> folder in the package
    REPO / "cards": "cdshooks/data/cards",
    REPO / "valuesets": "cdshooks/data/valuesets",
    REPO / "fixtures" / "fhir": "cdshooks/data/fixtures",
    REPO / "cdshooks" / "sandbox" / "static": "cdshooks/sandbox/static",
    REPO / "cdshooks" / "migrations" / "versions": "cdshooks/migrations/versions",
}
START_WITHIN = 60.0


@dataclass(frozen=True)
class Installed:
    wheel: Path
    cdshooks: Path  # the console script
    package: Path  # the installed cdshooks package folder
    run_as: str | None  # the unprivileged user the server runs as (None: this user)
    launcher: list[str]  # the prefix that keeps the package folder read-only for the command it runs


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]


READ_ONLY_MOUNT = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && shift && exec "$@"'


UNPRIVILEGED = "nobody"


def _base_interpreter() -> str:
    """The interpreter to make the virtualenv from. As root, one that `nobody` can run too — an
    interpreter in root's home (as pyenv installs it) cannot be — so that the server starts
    unprivileged, as the image runs it; the system's python3 usually can."""
    if os.geteuid() != 0:
        return sys.executable
    try:
        pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        unavailable(f"the tests run as root and there is no user {UNPRIVILEGED!r} to start the wheel as")
    check = "import sys, venv, ensurepip; assert sys.version_info >= (3, 11)"
    for candidate in (sys._base_executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        if Path(candidate).is_file():
            probe = _run(["runuser", "-u", UNPRIVILEGED, "--", candidate, "-c", check], cwd="/")
            if probe.returncode == 0:
                return candidate
    unavailable(
        f"the tests run as root and {UNPRIVILEGED} can run no Python >= 3.11 with venv (apt-get install python3-venv)"
    )


def _read_only(package: Path) -> list[str]:
    """The prefix that runs a command with `package` read-only, as root would otherwise ignore file modes:
    a private mount namespace where the folder is bound read-only (as a read-only root filesystem is)."""
    if os.geteuid() != 0:
        return []  # the modes hold
    prefix = ["unshare", "-m", "sh", "-c", READ_ONLY_MOUNT, "sh", str(package)]
    probe = _run([*prefix, "sh", "-c", f"touch '{package}/written' 2>/dev/null && exit 1 || exit 0"], cwd="/")
    if probe.returncode != 0:
        unavailable(f"running as root, the package folder cannot be made read-only (unshare -m): {probe.stderr[-300:]}")
    return prefix


@pytest.fixture(scope="module")
def installed() -> Iterator[Installed]:
    # not under pytest's tmp_path: its folders are private to this user, and the server runs as another one
    root = Path(tempfile.mkdtemp(prefix="cdshooks-wheel-"))
    root.chmod(0o755)
    try:
        source, dist, venv = root / "source", root / "dist", root / "venv"
        shutil.copytree(REPO, source, symlinks=True, ignore=NOT_COPIED)
        built = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(source)])
        if built.returncode != 0:
            unavailable(f"the wheel could not be built (needs setuptools from PyPI): {built.stderr[-1500:]}")
        (wheel,) = dist.glob("cdshooks-*.whl")
        _run([_base_interpreter(), "-m", "venv", str(venv)]).check_returncode()
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        # as the Dockerfile installs it: the lock file's dependencies (versions and hashes), then the wheel
        done = _run([*pip, "--require-hashes", "-r", str(source / "requirements.lock")])
        if done.returncode == 0:
            done = _run([*pip, "--no-deps", str(wheel)])
        if done.returncode != 0:
            unavailable(f"the wheel's dependencies could not be installed (PyPI unreachable?): {done.stderr[-1500:]}")
        located = _run([str(venv / "bin" / "python"), "-c", "import cdshooks; print(cdshooks.__file__)"], cwd=root)
        package = Path(located.stdout.strip()).parent
        assert venv in package.parents, located
        for path in [package, *package.rglob("*")]:  # the installed code, read-only
            path.chmod(path.stat().st_mode & ~0o222)
        run_as = UNPRIVILEGED if os.geteuid() == 0 else None
        yield Installed(wheel, venv / "bin" / "cdshooks", package, run_as, _read_only(package))
    finally:
        for path in [root, *root.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)
        shutil.rmtree(root, ignore_errors=True)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with a digest of its content: what the running service must not change."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_wheel_carries_everything_the_service_reads(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for folder, packaged in SHIPPED.items():
        files = [path for path in folder.iterdir() if path.is_file() and path.suffix != ".pyc"]
        assert files, folder
        missing = sorted(f"{packaged}/{path.name}" for path in files if f"{packaged}/{path.name}" not in names)
        assert not missing, f"not in the wheel: {missing}"
    assert not [name for name in names if name.startswith(("tests/", "scripts/", "cards/", "valuesets/"))]


@pytest.fixture
def workdir(installed: Installed) -> Iterator[Path]:
    """An empty folder outside the checkout, writable by the user the server runs as."""
    folder = Path(tempfile.mkdtemp(prefix="cdshooks-run-"))
    folder.chmod(0o755)
    if installed.run_as:
        shutil.chown(folder, installed.run_as)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_installed_wheel_serves_from_another_folder_with_read_only_code(
    installed: Installed, workdir: Path
) -> None:
    before = snapshot(installed.package)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("CDSHOOKS_", "PYTHON"))}
    environment["HOME"] = str(workdir)
    port = free_port()
    command = [str(installed.cdshooks), "serve", "--sandbox", "--port", str(port), "--workers", "1"]
    if installed.run_as:
        # setpriv execs the server in place (runuser would stay its parent and kill it on SIGTERM), so the
        # signal below reaches gunicorn's master as an orchestrator's would
        user = pwd.getpwnam(installed.run_as)
        command = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", *command]
    command = [*installed.launcher, *command]
    process = subprocess.Popen(command, cwd=workdir, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_WITHIN
        while True:
            try:
                if requests.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the installed wheel did not start:\n{process.communicate()[0].decode()[-3000:]}")
            time.sleep(0.25)

        discovery = requests.get(base + "/cds-services", timeout=10).json()
        assert {s["hook"] for s in discovery["services"]} == {"patient-view", "order-select", "order-sign"}
        body = hook_request("order-select", "transplant-cscc", draft=draft_med("tx-cscc", "42316", "tacrolimus"))
        cards = requests.post(base + service_url("order-select"), json=body, timeout=10).json()["cards"]
        assert "sirolimus" in cards[0]["summary"].lower()
        page = requests.get(base + "/sandbox", timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert requests.get(base + "/sandbox/static/sandbox.js", timeout=10).status_code == 200
        patients = requests.get(base + "/sandbox/api/patients", timeout=10).json()
        assert {p["file"] for p in patients["patients"]} == {
            p.name for p in (REPO / "fixtures" / "fhir").glob("*.json")
        }
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output[-3000:]
    state = workdir / "var" / "cdshooks.sqlite3"
    assert state.is_file()  # the service's state, under the working directory
    if installed.run_as:  # written by the unprivileged user the server ran as
        assert state.stat().st_uid == pwd.getpwnam(installed.run_as).pw_uid
    assert snapshot(installed.package) == before

    status = _run([str(installed.cdshooks), "db", "status"], cwd=workdir, env=environment)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "(head)" in status.stdout
