"""How batch work runs in the cluster (k8s/README.md, "Batch work"): the background workers run
inside every replica of their service's Deployment, enabled by the settings the rendered
environment gives them; the dated runs are CronJobs, the month-end billing run on the 1st inside
R-B4's window; every service scales with an HPA (production) that its PodDisruptionBudget never
blocks; the batch pods are fenced by a NetworkPolicy that lets them reach PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from services.registry import SERVICES
from tests.k8s.conftest import OVERLAYS
from tests.k8s.manifests import Rendered, supportctl_services
from tests.k8s.test_overlays import _settings

# service → settings that turn its in-process workers on (a period > 0, or True)
WORKERS = {
    "entitlements": ["relay_enabled"],
    "tickets": ["relay_enabled", "sla_scan_interval", "smtp_listen_port"],  # R-T4's SLA scan
    "billing": ["relay_enabled", "charge_interval", "billing_run_interval"],  # R-B4's charges, the run's chunks
}
# CronJob → (command, service, schedule)
CRONJOBS = {
    "billing-run": (["supportctl", "billing", "run"], "billing", "0 3 1 * *"),  # R-B1/R-B4: on the 1st
    "billing-dunning": (["supportctl", "billing", "dunning"], "billing", "30 6 * * *"),  # R-B5: daily
    "contracts-expiry": (["supportctl", "contracts", "expire"], "entitlements", "15 0 * * *"),  # R-E1: daily
}


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    return spec["template"]["spec"]["containers"][0]


def _pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    return spec["template"]["metadata"].get("labels", {})


def _policies_for(rendered: Rendered, labels: dict[str, str]) -> list[dict[str, Any]]:
    return [p for p in rendered.of_kind("NetworkPolicy")
            if all(labels.get(k) == v for k, v in p["spec"]["podSelector"].get("matchLabels", {}).items())]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_replica_runs_its_services_workers(render, overlay, monkeypatch):
    rendered = render(overlay)
    for service, flags in WORKERS.items():
        deployment = rendered.get("Deployment", service)
        assert supportctl_services(_container(deployment), list(SERVICES)) == [service]
        settings = _settings(service, rendered.environment(_container(deployment)), monkeypatch)
        off = [flag for flag in flags if not getattr(settings, flag)]
        assert not off, f"[{overlay}] Deployment/{service} runs with {off} off: its replicas would not do that work"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_dated_runs_are_cronjobs_in_the_business_time_zone(render, overlay):
    rendered = render(overlay)
    found = {c["metadata"]["name"]: c for c in rendered.of_kind("CronJob")}
    assert set(found) == set(CRONJOBS), f"[{overlay}] CronJobs {sorted(found)}"
    for name, (command, service, schedule) in CRONJOBS.items():
        cron = found[name]
        assert cron["spec"]["schedule"] == schedule, (overlay, name)
        assert cron["spec"]["timeZone"] == "Europe/Warsaw", (overlay, name)
        assert cron["spec"]["concurrencyPolicy"] == "Forbid", (overlay, name)
        container = _container(cron)
        assert container["command"] == command, (overlay, name)
        assert supportctl_services(container, list(SERVICES)) == [service]
        assert _pod_labels(cron)["app.kubernetes.io/component"] == "batch"


def test_the_month_end_run_starts_on_the_first_inside_the_charge_window(render):
    """R-B4: charges from 24 h before the month ends through the period's third business day; the
    run on the 1st (day-of-month field 1) bills the month it falls in (`billing run`'s default)."""
    cron = render("production").get("CronJob", "billing-run")
    minute, hour, day, month, weekday = cron["spec"]["schedule"].split()
    assert (day, month, weekday) == ("1", "*", "*")
    assert cron["spec"]["startingDeadlineSeconds"] <= 86400  # a missed start is not made up after the 2nd


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_batch_pods_reach_postgres_and_accept_nothing(render, overlay):
    rendered = render(overlay)
    for cron in rendered.of_kind("CronJob"):
        policies = _policies_for(rendered, _pod_labels(cron))
        assert policies, f"[{overlay}] no NetworkPolicy selects CronJob/{cron['metadata']['name']}'s pods"
        for policy in policies:
            assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
            assert policy["spec"]["ingress"] == []
        ports = {(p.get("protocol", "TCP"), p["port"]) for policy in policies for rule in policy["spec"]["egress"]
                 for p in rule.get("ports", [])}
        assert {("TCP", 5432), ("UDP", 53)} <= ports, (overlay, cron["metadata"]["name"], ports)
        # the service policies stay the services': no batch pod is selected by one of them
        assert all(p["metadata"]["name"] == "batch" for p in policies)


def test_production_scales_every_service_with_an_hpa_its_pdb_never_blocks(render):
    rendered = render("production")
    for service in SERVICES:
        hpas = [h for h in rendered.of_kind("HorizontalPodAutoscaler")
                if h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}]
        assert len(hpas) == 1, f"{service}: {len(hpas)} HPAs"
        hpa = hpas[0]["spec"]
        assert "replicas" not in rendered.get("Deployment", service)["spec"]  # the HPA owns the count
        pdb = rendered.get("PodDisruptionBudget", service)
        assert pdb is not None, service
        assert pdb["spec"]["selector"]["matchLabels"] == rendered.get("Deployment", service)["spec"]["selector"][
            "matchLabels"]
        assert pdb["spec"].get("minAvailable", 0) < hpa["minReplicas"] <= hpa["maxReplicas"], (service, pdb, hpa)
        assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["metrics"])
        requests = _container(rendered.get("Deployment", service))["resources"]["requests"]
        assert "cpu" in requests, f"{service}: an HPA on CPU utilisation needs a CPU request"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_a_pdb_that_lets_a_drain_through(render, overlay):
    rendered = render(overlay)
    for service in SERVICES:
        deployment, pdb = rendered.get("Deployment", service), rendered.get("PodDisruptionBudget", service)
        assert pdb is not None, (overlay, service)
        replicas = deployment["spec"].get("replicas")
        if replicas is not None and "minAvailable" in pdb["spec"]:
            assert pdb["spec"]["minAvailable"] < replicas, f"[{overlay}] {service}: the PDB would block every drain"
