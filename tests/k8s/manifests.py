"""Reading rendered manifests the way Kubernetes would: a container's environment from its
ConfigMaps and Secrets, the files its volumes put at a path, where an Ingress sends a request,
which container port a Service reaches.

Objects the production overlay expects to exist beforehand (created by the operator, never
rendered) are read from k8s/README.md's *Production secrets* table: a reference to one of them
resolves only when that table lists the object and the key, and its values are placeholders."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
K8S_README = ROOT / "k8s" / "README.md"


class Unresolved(AssertionError):
    pass


def documented_objects(readme: Path = K8S_README) -> dict[tuple[str, str], set[str]]:
    """(kind, name) → keys, from the table under `## Production secrets`."""
    text = readme.read_text()
    section = text.split("## Production secrets", 1)[1].split("\n## ", 1)[0]
    found: dict[tuple[str, str], set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] not in ("Secret", "ConfigMap"):
            continue
        names = re.findall(r"`([^`]+)`", cells[1])
        keys = set(re.findall(r"`([^`]+)`", cells[2]))
        for name in names:
            found[(cells[0], name)] = keys
    return found


def placeholder(kind: str, name: str, key: str) -> str:
    return f"placeholder-{kind.lower()}-{name}-{key}"


@dataclass
class Rendered:
    overlay: str
    text: str
    docs: list[dict[str, Any]]
    documented: dict[tuple[str, str], set[str]] = field(default_factory=documented_objects)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d.get("kind") == kind]

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((d for d in self.of_kind(kind) if d["metadata"]["name"] == name), None)

    # ---- ConfigMaps and Secrets -------------------------------------------------------------

    def data(self, kind: str, name: str) -> dict[str, str] | None:
        """The object's keys and values: rendered, else documented (placeholders), else None."""
        obj = self.get(kind, name)
        if obj is not None:
            values = dict(obj.get("data") or {})
            if kind == "Secret":
                values = {k: base64.b64decode(v).decode() for k, v in values.items()}
                values.update(obj.get("stringData") or {})
            else:
                values.update({k: base64.b64decode(v).decode() for k, v in (obj.get("binaryData") or {}).items()})
            return values
        keys = self.documented.get((kind, name))
        if keys is None:
            return None
        return {k: placeholder(kind, name, k) for k in keys}

    def value(self, kind: str, name: str, key: str, optional: bool = False) -> str | None:
        values = self.data(kind, name)
        where = "rendered" if self.get(kind, name) is not None else "listed in k8s/README.md (Production secrets)"
        if values is None:
            if optional:
                return None
            raise Unresolved(f"[{self.overlay}] {kind} {name!r} is neither rendered nor listed in k8s/README.md's "
                             "Production secrets table")
        if key not in values:
            if optional:
                return None
            raise Unresolved(f"[{self.overlay}] {kind} {name!r} ({where}) has no key {key!r}")
        return values[key]

    def environment(self, container: dict[str, Any]) -> dict[str, str]:
        """The container's environment as the kubelet builds it (envFrom first, env over it)."""
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            kind, ref = (("ConfigMap", source["configMapRef"]) if "configMapRef" in source
                         else ("Secret", source["secretRef"]))
            values = self.data(kind, ref["name"])
            if values is None:
                if ref.get("optional"):
                    continue
                raise Unresolved(f"[{self.overlay}] envFrom {kind} {ref['name']!r} is neither rendered nor listed in "
                                 "k8s/README.md's Production secrets table")
            prefix = source.get("prefix", "")
            # a documented Secret's envFrom brings the keys that look like variables
            env.update({prefix + k: v for k, v in values.items() if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k)})
        for var in container.get("env", []):
            if "value" in var:
                env[var["name"]] = str(var["value"])
                continue
            source = var.get("valueFrom", {})
            for kind, ref_key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                if ref_key in source:
                    ref = source[ref_key]
                    found = self.value(kind, ref["name"], ref["key"], optional=bool(ref.get("optional")))
                    if found is not None:
                        env[var["name"]] = found
        return env

    # ---- files ------------------------------------------------------------------------------

    def file_source(self, pod: dict[str, Any], container: dict[str, Any], path: str) -> tuple[str, str, str]:
        """(kind, name, key) of the object whose key a volume puts at `path` in the container."""
        target = PurePosixPath(path)
        for mount in container.get("volumeMounts", []):
            base = PurePosixPath(mount["mountPath"])
            if mount.get("subPath") or not target.is_relative_to(base) or target == base:
                continue
            relative = str(target.relative_to(base))
            volume = next(v for v in pod.get("volumes", []) if v["name"] == mount["name"])
            sources = volume["projected"]["sources"] if "projected" in volume else [volume]
            for source in sources:
                for kind, key in (("ConfigMap", "configMap"), ("Secret", "secret")):
                    if key not in source:
                        continue
                    ref = source[key]
                    name = ref.get("name") or ref.get("secretName")
                    items = ref.get("items")
                    if items is None:
                        values = self.data(kind, name) or {}
                        if relative in values:
                            return kind, name, relative
                    for item in items or []:
                        if item["path"] == relative:
                            self.value(kind, name, item["key"])  # the key must exist
                            return kind, name, item["key"]
            raise Unresolved(f"[{self.overlay}] nothing in volume {mount['name']!r} (at {base}) provides {path}")
        raise Unresolved(f"[{self.overlay}] no volume is mounted where {path} is expected")

    @staticmethod
    def writable_volume(pod: dict[str, Any], container: dict[str, Any], path: str) -> bool:
        target = PurePosixPath(path)
        for mount in container.get("volumeMounts", []):
            if mount.get("readOnly") or not target.is_relative_to(PurePosixPath(mount["mountPath"])):
                continue
            volume = next(v for v in pod.get("volumes", []) if v["name"] == mount["name"])
            if "emptyDir" in volume or "persistentVolumeClaim" in volume:
                return True
        return False

    # ---- Services and Ingresses ---------------------------------------------------------------

    def pods_selected(self, service: dict[str, Any]) -> list[dict[str, Any]]:
        """The pod templates (of Deployments) a Service's selector matches."""
        selector = service["spec"].get("selector") or {}
        return [d["spec"]["template"] for d in self.of_kind("Deployment")
                if selector and all(d["spec"]["template"]["metadata"].get("labels", {}).get(k) == v
                                    for k, v in selector.items())]

    def container_port(self, service: dict[str, Any], port: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """The (pod template, container port number) a Service port reaches."""
        pods = self.pods_selected(service)
        assert len(pods) == 1, f"[{self.overlay}] Service {service['metadata']['name']} selects {len(pods)} workloads"
        target = port.get("targetPort", port["port"])
        for container in pods[0]["spec"]["containers"]:
            for declared in container.get("ports", []):
                if declared["containerPort"] == target or declared.get("name") == target:
                    return pods[0], declared["containerPort"]
        raise Unresolved(f"[{self.overlay}] Service {service['metadata']['name']} port {port} reaches no container port")

    def service_port(self, name: str, port: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        service = self.get("Service", name)
        if service is None:
            raise Unresolved(f"[{self.overlay}] an Ingress routes to Service {name!r}, which is not rendered")
        for declared in service["spec"]["ports"]:
            if declared.get("name") == port.get("name") or declared["port"] == port.get("number"):
                return service, declared
        raise Unresolved(f"[{self.overlay}] Service {name!r} has no port {port}")

    def route(self, host: str, path: str) -> dict[str, Any] | None:
        """The backend Kubernetes' Ingress rules pick for `path` on `host`: an Exact match first,
        else the longest Prefix match (by path elements); None when nothing matches."""
        exact, prefixes = None, []
        for ingress in self.of_kind("Ingress"):
            for rule in ingress["spec"].get("rules", []):
                if rule.get("host") != host:
                    continue
                for entry in rule.get("http", {}).get("paths", []):
                    candidate = entry.get("path", "/")
                    if entry["pathType"] == "Exact" and candidate == path:
                        exact = entry["backend"]
                    elif entry["pathType"] in ("Prefix", "ImplementationSpecific") and _prefix_of(candidate, path):
                        prefixes.append((len(candidate.rstrip("/").split("/")), entry["backend"]))
        if exact is not None:
            return exact
        return max(prefixes, key=lambda p: p[0])[1] if prefixes else None

    def hosts(self) -> set[str]:
        return {rule["host"] for ingress in self.of_kind("Ingress") for rule in ingress["spec"].get("rules", [])
                if rule.get("host")}


def _prefix_of(prefix: str, path: str) -> bool:
    """Kubernetes' Prefix matching: element-wise on `/`-separated path elements."""
    elements = [e for e in prefix.split("/") if e]
    return [e for e in path.split("/") if e][:len(elements)] == elements


# `supportctl GROUP …` batch commands → the service whose settings (and database) they load.
BATCH_COMMANDS = {"billing": "billing", "contracts": "entitlements"}


def supportctl_services(container: dict[str, Any], known: list[str]) -> list[str]:
    """The services whose settings a `supportctl` container loads: `serve NAME` one, `migrate` all,
    a batch command (`billing run`, `contracts expire`) its service's."""
    command = [*container.get("command", []), *container.get("args", [])]
    if not command or command[0] != "supportctl":
        return []
    if command[1] == "serve":
        return [command[2]]
    if command[1] == "migrate":
        return [command[2]] if len(command) > 2 else list(known)
    if command[1] in BATCH_COMMANDS:  # the CronJobs' runs (k8s/base/batch)
        return [BATCH_COMMANDS[command[1]]]
    raise AssertionError(f"a container runs `{' '.join(command)}`: teach tests/k8s which settings it loads")
