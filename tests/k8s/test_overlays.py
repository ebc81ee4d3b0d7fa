"""Every overlay renders on a fresh clone, and what it renders would start: each service's own
settings class, built from the environment a rendered Deployment or Job gives its container
(ConfigMaps and Secrets as rendered, or placeholders for the objects k8s/README.md says must exist
in production), validates, so the settings a service refuses to start without are all provided;
the files the settings name are mounted; the APIs, the agent desk and the payment webhook are
reachable through an Ingress; inbound SMTP is reachable from outside the production cluster.

A new setting that production refuses while unset fails here until the manifests provide it."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.cli.devenv import DATA_DIR_ENV
from services.registry import SERVICES
from tests.k8s.conftest import OVERLAYS
from tests.k8s.manifests import Rendered, supportctl_services

ROOT = Path(__file__).resolve().parents[2]
DEV_KEYS = ROOT / "k8s" / "overlays" / "dev" / "keys"


def test_the_overlays_are_dev_and_production():
    assert set(OVERLAYS) == {"dev", "production"}


def _workloads(rendered: Rendered) -> list[tuple[str, dict[str, Any], dict[str, Any], list[str]]]:
    """(name, pod spec, container, services whose settings it loads) of every supportctl container."""
    found = []
    for kind in ("Deployment", "Job", "StatefulSet", "CronJob"):
        for obj in rendered.of_kind(kind):
            template = obj["spec"]["jobTemplate"]["spec"]["template"] if kind == "CronJob" else obj["spec"]["template"]
            for container in template["spec"]["containers"]:
                services = supportctl_services(container, list(SERVICES))
                if services:
                    found.append((f"{kind}/{obj['metadata']['name']}", template["spec"], container, services))
    return found


def _settings(service: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The service's settings class, built from `env` alone (this process's variables hidden)."""
    prefixes = tuple(spec.env_prefix for spec in SERVICES.values()) + (DATA_DIR_ENV,)
    with monkeypatch.context() as m:
        for name in list(os.environ):
            if name.startswith(prefixes):
                m.delenv(name)
        for name, value in env.items():
            m.setenv(name, value)
        return SERVICES[service].settings_class()()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_on_a_fresh_clone(render, overlay):
    rendered = render(overlay)
    kinds = {d["kind"] for d in rendered.docs}
    assert {"Deployment", "Service", "ConfigMap", "Job", "Ingress"} <= kinds
    assert {name for name, *_ in _workloads(rendered)} >= {f"Deployment/{s}" for s in SERVICES} | {"Job/migrate"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_supportctl_container_gets_settings_its_services_accept(render, overlay, monkeypatch):
    rendered = render(overlay)
    checked = 0
    for workload, _, container, services in _workloads(rendered):
        env = rendered.environment(container)
        for service in services:
            try:
                settings = _settings(service, env, monkeypatch)
            except ValidationError as exc:
                pytest.fail(f"[{overlay}] {workload}: {service} would refuse to start with the rendered "
                            f"environment:\n{exc}", pytrace=False)
            expected = "production" if overlay == "production" else "development"
            assert settings.environment == expected, (overlay, workload, service)
            checked += 1
    assert checked >= 2 * len(SERVICES)  # each Deployment, and the migrate Job for all of them


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_files_the_settings_name_are_mounted_from_existing_keys(render, overlay, monkeypatch):
    """The JWKS is read at start-up, the signing key at the first call to a peer: a server's
    every file setting must be a key of a mounted ConfigMap or Secret."""
    rendered = render(overlay)
    for workload, pod, container, services in _workloads(rendered):
        if not workload.startswith("Deployment/"):
            continue
        settings = _settings(services[0], rendered.environment(container), monkeypatch)
        files = {name: value for name, value in settings if isinstance(value, Path)}
        assert {"jwks_file", "signing_key_file"} <= set(files), (workload, files)
        for name, path in files.items():
            rendered.file_source(pod, container, str(path))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_development_writes_its_data_folder_to_a_writable_volume(render, overlay, monkeypatch):
    """Outside production, `supportctl serve` and `migrate` fill unset settings from a data folder
    and create it (services/cli/devenv.py); the root filesystem is read-only."""
    rendered = render(overlay)
    for workload, pod, container, services in _workloads(rendered):
        env = rendered.environment(container)
        production = any(_settings(s, env, monkeypatch).environment == "production" for s in services)
        read_only = container.get("securityContext", {}).get("readOnlyRootFilesystem", False)
        if production or not read_only:
            continue
        folder = env.get(DATA_DIR_ENV)
        assert folder, f"[{overlay}] {workload} runs in development on a read-only root: set {DATA_DIR_ENV} to /tmp/…"
        assert rendered.writable_volume(pod, container, folder), f"[{overlay}] {workload}: {folder} is not writable"


def _public_and_operations_paths(service: str) -> tuple[list[tuple[str, str]], list[str]]:
    document = json.loads((ROOT / "openapi" / f"{service}.json").read_text())
    public, operations = [], []
    for path, methods in document["paths"].items():
        tags = {t for op in methods.values() if isinstance(op, dict) for t in op.get("tags", [])}
        if "operations" in tags:
            operations.append(path)
        else:
            public += [(method.upper(), path) for method in methods if method in ("get", "post", "put", "patch", "delete")]
    return public, operations


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ingresses_route_every_public_path_to_its_service_and_no_operations_path(render, overlay, monkeypatch):
    rendered = render(overlay)
    hosts = rendered.hosts()
    assert hosts, f"[{overlay}] no Ingress host"
    extra = {"tickets": [("GET", "/agent/"), ("GET", "/agent/app.js")],  # the agent desk
             "billing": [("POST", "/v1/payments/webhook")]}  # the payment provider's webhook
    for service in SERVICES:
        public, operations = _public_and_operations_paths(service)
        assert public and {"/healthz", "/readyz", "/metrics"} <= set(operations)
        for method, path in public + extra.get(service, []):
            reached = []
            for host in hosts:
                backend = rendered.route(host, path)
                if backend is None:
                    continue
                target, port = rendered.service_port(backend["service"]["name"], backend["service"]["port"])
                pod, number = rendered.container_port(target, port)
                container = pod["spec"]["containers"][0]
                if supportctl_services(container, list(SERVICES)) != [service]:
                    continue  # another service's host
                settings = _settings(service, rendered.environment(container), monkeypatch)
                assert number == settings.port, f"[{overlay}] {host}{path} reaches port {number}; {service} listens on {settings.port}"
                reached.append(host)
            assert reached, f"[{overlay}] no Ingress routes {method} {path} to {service}"
        for path in operations:
            for host in hosts:
                assert rendered.route(host, path) is None, f"[{overlay}] {host}{path} is public; keep it in-cluster"


def test_production_ingresses_use_tls_for_every_host(render):
    rendered = render("production")
    for ingress in rendered.of_kind("Ingress"):
        covered = {h for tls in ingress["spec"].get("tls", []) for h in tls.get("hosts", [])}
        for rule in ingress["spec"]["rules"]:
            assert rule["host"] in covered, f"{ingress['metadata']['name']}: {rule['host']} without TLS"
        for tls in ingress["spec"]["tls"]:
            rendered.value("Secret", tls["secretName"], "tls.crt")
            rendered.value("Secret", tls["secretName"], "tls.key")


def test_production_receives_mail_from_outside_the_cluster_on_port_25(render, monkeypatch):
    rendered = render("production")
    found = []
    for service in rendered.of_kind("Service"):
        if service["spec"].get("type") != "LoadBalancer":
            continue
        for port in service["spec"]["ports"]:
            if port["port"] != 25:
                continue
            pod, number = rendered.container_port(service, port)
            container = pod["spec"]["containers"][0]
            assert supportctl_services(container, list(SERVICES)) == ["tickets"]
            settings = _settings("tickets", rendered.environment(container), monkeypatch)
            assert number == settings.smtp_listen_port, (number, settings.smtp_listen_port)
            assert not ipaddress.ip_address(settings.smtp_listen_host).is_loopback, settings.smtp_listen_host
            found.append(service["metadata"]["name"])
    assert found, "no LoadBalancer Service on port 25 reaches the tickets SMTP listener"


def test_the_committed_dev_key_is_dev_only(render):
    """The dev overlay's key pair is committed (k8s/overlays/dev/keys/README.md): no production
    object carries it, and the dev services accept it only under the development issuer."""
    jwks = json.loads((DEV_KEYS / "jwks.json").read_text())
    private_lines = [line for line in (DEV_KEYS / "private.pem").read_text().splitlines() if "-----" not in line]
    production = render("production").text
    assert jwks["keys"][0]["n"] not in production
    assert not any(line in production for line in private_lines[:3])
    dev = render("dev")
    assert jwks["keys"][0]["n"] in json.dumps(dev.data("ConfigMap", _hashed(dev, "ConfigMap", "platform-jwks")))
    for spec in SERVICES.values():
        config = dev.data("ConfigMap", _hashed(dev, "ConfigMap", f"{spec.name}-config")) or {}
        assert config[f"{spec.env_prefix}JWT_ISSUER"] == "supportctl-dev"
        assert config[f"{spec.env_prefix}ENVIRONMENT"] == "development"


def _hashed(rendered: Rendered, kind: str, name: str) -> str:
    """The generated (content-hashed) name of a generated ConfigMap or Secret."""
    names = [d["metadata"]["name"] for d in rendered.of_kind(kind)
             if d["metadata"]["name"] == name or d["metadata"]["name"].rsplit("-", 1)[0] == name]
    assert len(names) == 1, (kind, name, names)
    return names[0]
