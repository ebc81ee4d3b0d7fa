"""A service that has only started holds none of the big libraries it needs for rare work: the
invoice PDF (fpdf2, fontTools, Pillow), the KSeF FA(3) XML (ksef-client, lxml) and the public
holidays tables load at their first use, so every idle replica stays small (bench/idle_rss.py
measures it against 120 MB). Each service's app is built in a fresh interpreter, the way
`supportctl serve` builds it; what it has imported is read from its sys.modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]
# Top-level packages no service may import before it uses them.
LAZY = ("fpdf", "fontTools", "PIL", "ksef_client", "lxml", "xsdata", "reportlab", "defusedxml", "holidays")

PROBE = """
import json, sys
from services.cli.devenv import apply_dev_defaults
from services.registry import get

apply_dev_defaults(None)  # what `supportctl serve` does first: dev keys and SQLite in the data folder
spec = get(sys.argv[1])
app = spec.app_factory()(spec.settings_class()())
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[2:]))
after = {}
if spec.name == "billing":  # the renderers still bring their libraries when asked for
    from services.billing.ksef import render_fa3  # noqa: F401
    from services.billing.pdf import render_pdf  # noqa: F401
    after["renderers"] = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[2:]))
print(json.dumps({"routes": len(app.routes), "loaded": loaded, **after}))
"""


def _probe(service: str, data: Path) -> dict[str, object]:
    prefixes = tuple(spec.env_prefix for spec in SERVICES.values()) + ("SUPPORT_",)
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["SUPPORT_DATA_DIR"] = str(data)
    done = subprocess.run([sys.executable, "-c", PROBE, service, *LAZY], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("service", list(SERVICES))
def test_an_idle_service_has_not_imported_its_rarely_used_libraries(service, tmp_path):
    found = _probe(service, tmp_path)
    assert found["routes"], found
    assert found["loaded"] == [], f"{service} imports {found['loaded']} at start-up; import them where they are used"


def test_the_invoice_renderers_load_their_libraries_when_first_used(tmp_path):
    found = _probe("billing", tmp_path)
    assert {"fpdf", "fontTools", "ksef_client", "lxml"} <= set(found["renderers"]), found
