"""The operators guide lists every metric the services export, and only those: built from the
apps' own registries (each service's app, its edge middleware built), not from a copy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.registry import SERVICES
from shared.devkeys import ensure_dev_keys

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guides" / "operators.md"


def _documented() -> set[str]:
    section = GUIDE.read_text().split("### Metrics", 1)[1].split("### Example alerts", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return names


def _exported(service: str, folder: Path) -> set[str]:
    private, jwks = ensure_dev_keys(folder / "keys")
    spec = SERVICES[service]
    settings = spec.settings_class()(environment="test", database_url=f"sqlite+aiosqlite:///{folder}/{service}.db",
                                     jwks_file=jwks, signing_key_file=private, smtp_listen_port=0)
    app = spec.app_factory()(settings)
    app.middleware_stack = app.build_middleware_stack()  # the edge middleware registers its metrics
    names = set()
    for family in app.state.runtime.registry.collect():
        names.add(family.name + "_total" if family.type == "counter" else family.name)
    return names


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_exported_metric_is_in_the_operators_guide(service, tmp_path):
    missing = _exported(service, tmp_path) - _documented()
    assert not missing, f"document these in docs/guides/operators.md (Metrics): {sorted(missing)}"


def test_the_operators_guide_lists_no_metric_that_does_not_exist(tmp_path_factory):
    exported = set().union(*(_exported(s, tmp_path_factory.mktemp(s)) for s in SERVICES))
    assert _documented() - exported == set()
