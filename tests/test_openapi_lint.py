"""The committed contracts pass Redocly CLI's lint with the project's ruleset (redocly.yaml:
the recommended rules, each exception commented), with no error and no warning, offline.

Redocly CLI is pinned in tools/redocly/ (`npm ci --prefix tools/redocly`, which `.ci/run` and
`make openapi-lint` do). Without it these tests skip and say how to install it, except under
CI=true, where they fail. Telemetry and the update check are off; where this machine lets us
(`unshare -n`, as root), the CLI runs with no network at all, which proves it needs none."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.registry import SERVICES

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "tools" / "redocly" / "node_modules" / ".bin" / "redocly"
RULESET = ROOT / "redocly.yaml"
OFFLINE_ENV = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "NO_UPDATE_NOTIFIER": "1"}


def redocly() -> list[str]:
    if CLI.exists() and shutil.which("node"):
        return [str(CLI)]
    message = (f"Redocly CLI is not installed at {CLI.relative_to(ROOT)}: run `npm ci --prefix tools/redocly` "
               "(or `make openapi-lint`); it needs node and npm.")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " Under CI=true the contracts must be linted.", pytrace=False)
    pytest.skip(message)


@cache
def _without_network() -> list[str]:
    """`unshare -n` when it works here (root, a kernel that allows it), else nothing."""
    if shutil.which("unshare") is None:
        return []
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    return ["unshare", "-n"] if probe.returncode == 0 else []


def lint(path: Path) -> dict[str, Any]:
    done = subprocess.run([*_without_network(), *redocly(), "lint", "--config", str(RULESET), "--format=json",
                           str(path)], capture_output=True, text=True, timeout=240, cwd=ROOT,
                          env={**os.environ, **OFFLINE_ENV})
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"redocly lint said no JSON (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


def _where(problem: dict[str, Any]) -> str:
    pointer = (problem.get("location") or [{}])[0].get("pointer", "")
    return f"{problem['severity']} {problem['ruleId']} at {pointer}: {problem['message']}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_the_contract_passes_the_project_ruleset_with_no_error_and_no_warning(name: str):
    report = lint(ROOT / "openapi" / f"{name}.json")
    assert [_where(p) for p in report["problems"] if not p.get("ignored")] == []
    assert report["totals"]["errors"] == 0 and report["totals"]["warnings"] == 0


def test_the_lint_fails_a_contract_that_breaks_the_rules(tmp_path: Path):
    """The check can fail: an operation without security and without an id is reported."""
    doc = json.loads((ROOT / "openapi" / "entitlements.json").read_text())
    operation = doc["paths"]["/v1/purchases"]["post"]
    del operation["security"], operation["operationId"]
    broken = tmp_path / "entitlements.json"
    broken.write_text(json.dumps(doc))
    problems = {(p["severity"], p["ruleId"]) for p in lint(broken)["problems"]}
    assert {("error", "security-defined"), ("warn", "operation-operationId")} <= problems


def test_the_ruleset_keeps_the_recommended_rules_and_says_why_of_each_exception():
    config = yaml.safe_load(RULESET.read_text())
    assert config["extends"] == ["recommended"]
    lines = RULESET.read_text().splitlines()
    for rule, setting in (config.get("rules") or {}).items():
        if setting in ("off", "warn") or (isinstance(setting, dict) and setting.get("severity") in ("off", "warn")):
            at = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{rule}:"))
            assert at > 0 and lines[at - 1].strip().startswith("#"), f"{rule} is relaxed without a comment why"
    ignores = (ROOT / ".redocly.lint-ignore.yaml").read_text()
    assert ignores.lstrip().startswith("#"), "the lint-ignore file must say why each place is ignored"


def test_the_contracts_refer_to_nothing_outside_themselves():
    for name in SERVICES:
        text = (ROOT / "openapi" / f"{name}.json").read_text()
        refs = {line.split('"$ref":')[1].strip().strip('",') for line in text.splitlines() if '"$ref":' in line}
        assert refs and all(ref.startswith("#/") for ref in refs), sorted(r for r in refs if not r.startswith("#/"))
