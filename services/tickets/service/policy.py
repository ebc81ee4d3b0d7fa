"""From the customer's entitlements to the policy snapshot a ticket keeps (DESIGN.md: tickets
ask entitlements when a ticket is filed and keep a snapshot of the plan and SLA policy)."""

from __future__ import annotations

from typing import Any

from services.tickets.errors import NoEntitlement


def choose_entitlement(entitlements: list[dict[str, Any]], licence_reference: str | None) -> dict[str, Any]:
    """The entitlement a ticket is filed under: the named licence's, or the best one (highest
    rank; a paid contract before the free plan). With none, 403 `no_entitlement` says why."""
    candidates = entitlements
    if licence_reference is not None:
        candidates = [e for e in entitlements if e["licence"]["reference"] == licence_reference]
        if not candidates:
            raise NoEntitlement(f"the customer holds no licence {licence_reference!r} with support for this product")
    if not candidates:
        raise NoEntitlement("the customer has no licence with a paid contract or a free plan for this product")
    return max(candidates, key=lambda e: (e["plan"]["rank"], e["source"] == "contract"))


def snapshot(entitlement: dict[str, Any]) -> dict[str, Any]:
    """What the ticket keeps: plan, where it comes from, benefits, SLA policy, priority, TAM."""
    return {
        "plan_id": entitlement["plan"]["id"], "plan_version": entitlement["plan"]["version"],
        "plan_name": entitlement["plan"]["name"], "plan_rank": entitlement["plan"]["rank"],
        "source": entitlement["source"], "contract_id": entitlement.get("contract_id"),
        "contract_status": entitlement.get("contract_status"), "licence": entitlement["licence"]["reference"],
        "benefits": entitlement["benefits"], "excluded_categories": entitlement["excluded_categories"],
        "support_hours": entitlement["sla"]["support_hours"], "reaction": entitlement["sla"]["reaction"],
        "priority": entitlement["priority"], "tam": entitlement.get("tam"),
    }


def scope(policy: dict[str, Any], category: str) -> tuple[bool, str | None]:
    """R-T7: a category in the excluded list, or not among the plan's benefits, is accepted but
    flagged out of scope (visible to the agent and the customer), never dropped."""
    if category in policy["excluded_categories"]:
        return True, f"'{category}' is excluded from every {policy['plan_name']} plan"
    if category not in policy["benefits"] and category != "other":
        return True, f"'{category}' is not covered by the {policy['plan_name']} plan"
    return False, None


def queue_priority(policy: dict[str, Any]) -> int:
    """R-S3: priority dialing / VIP and Advanced first."""
    return 1 if policy["priority"] == "high" else 0
