"""Read use cases that combine a buyer's state, the policy in force and the read models: an
invoice's timeline (done, skipped, scheduled) and a buyer's standing."""

from __future__ import annotations

from typing import Any

from arshield_dunning.application.ports import Queries
from arshield_dunning.application.use_cases import business_date, buyer_known, buyer_state
from arshield_dunning.application.wiring import DunningKernel, policies_in_force
from arshield_dunning.domain.policy import plan
from arshield_runtime.kernel import Session


async def invoice_timeline(
    session: Session, kernel: DunningKernel, queries: Queries, tenant_id: str, invoice_id: str
) -> dict[str, Any] | None:
    buyer_id = await queries.buyer_of_invoice(session, tenant_id, invoice_id)
    if buyer_id is None:
        return None
    state = await buyer_state(session, kernel, tenant_id, buyer_id)
    inv = state.invoice(invoice_id)
    today = await business_date(session, kernel, tenant_id)
    policy = (await policies_in_force(session, kernel, tenant_id, today))[state.effective_segment]
    entries: list[dict[str, Any]] = [
        {
            "action": r["action"],
            "level": r["level"],
            "on": r["taken_on"],
            "status": "done",
            "planned_on": r["planned_on"],
            "policy_version": r["policy_version"],
            "letter_id": r["letter_id"],
            "facts": r["facts"],
        }
        for r in await queries.invoice_actions(session, tenant_id, invoice_id)
    ]
    due_on = inv.timeline_due_on
    if inv.is_open and due_on is not None:
        done_levels = {d.level for d in inv.done if d.level}
        done_days = {(d.action, d.on) for d in inv.done}
        for p in plan(policy.rules, due_on=due_on, delivered_on=inv.delivered_on):
            if p.level in done_levels or (p.action, p.on) in done_days:
                continue
            passed = inv.evaluated_through is not None and p.on <= inv.evaluated_through
            superseded = bool(p.level) and p.level <= inv.level
            entries.append(
                {
                    "action": p.action.value,
                    "level": p.level,
                    "on": p.on,
                    "status": "skipped" if passed or superseded else "scheduled",
                    "policy_version": policy.ref,
                }
            )
    status = inv.closed.value if inv.closed else ("open" if inv.known else "unknown")
    return {
        "invoice_id": invoice_id,
        "buyer_id": buyer_id,
        "status": status,
        "due_on": inv.due_on,
        "outstanding": {"amount": inv.outstanding, "currency": inv.currency}
        if inv.amount
        else None,
        "level": inv.level,
        "paused": [*inv.open_disputes, *([inv.promise_id] if inv.promise_id else [])],
        "policy_version": policy.ref,
        "entries": entries,
    }


async def buyer_standing(
    session: Session, kernel: DunningKernel, queries: Queries, tenant_id: str, buyer_id: str
) -> dict[str, Any] | None:
    if not await buyer_known(session, kernel, tenant_id, buyer_id):
        return None
    state = await buyer_state(session, kernel, tenant_id, buyer_id)
    today = await business_date(session, kernel, tenant_id)
    policy = (await policies_in_force(session, kernel, tenant_id, today))[state.effective_segment]
    return {
        "buyer_id": buyer_id,
        "legal_name": state.legal_name,
        "segment": state.segment.value,
        "on_watch": state.on_watch,
        "policy_version": policy.ref,
        "language": state.language,
        "open_balance": [
            {"amount": str(v), "currency": k} for k, v in sorted(state.open_balance().items())
        ],
        "open_invoices": [i.invoice_id for i in state.open_invoices()],
        "controller_assigned_on": state.controller_assigned_on,
        "last_statement_on": state.last_statement_on,
        "promises": [p.model_dump(mode="json") for p in state.promises.values()],
        "actions": await queries.buyer_actions(session, tenant_id, buyer_id),
    }
