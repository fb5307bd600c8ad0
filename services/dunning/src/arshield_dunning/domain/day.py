"""What a business day decides for one buyer (`StartBusinessDay`), and when it next needs one.

Time is a command: `StartBusinessDay(on=D)` fires every action whose date has come, for invoices
that are open and not paused. An invoice remembers the last day it was evaluated, so an action fires
at most once, a paused invoice catches up when it resumes, and when several levels came due at once
(a late-arriving invoice, a resumed one) only the highest is taken: an overdue account starts
collection at once instead of receiving every earlier letter on one day.

Over 400 lines for a reason: the timeline, the letters' claims (per instalment, the disputed part
and cash on account apart) and the collection case are decided together for one day and share
the same few helpers; split, a reader would lose which rule fires first.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from arshield_dunning.domain.claims import Claim, ClaimCalculator
from arshield_dunning.domain.commands import StartBusinessDay
from arshield_dunning.domain.events import (
    ActionTaken,
    CaseOpened,
    ControllerAssigned,
    InvoiceEvaluated,
    PaymentSplit,
    PolicyApplied,
    PromiseEnded,
    Resumed,
    StatementIssued,
    TimelineMoved,
)
from arshield_dunning.domain.evolve import Decision
from arshield_dunning.domain.letters import InstalmentLine, Letter, LetterLine, letter_id
from arshield_dunning.domain.policy import (
    Action,
    EscalationStep,
    PlannedAction,
    PolicyRules,
    plan,
)
from arshield_dunning.domain.state import ZERO, BuyerDunning, InvoiceDunning, Money

_CASE_NAMESPACE = uuid.UUID("4d8b3b8e-1f0e-4f0a-9d55-6a0c8f4e2b71")


def start_day(d: Decision, c: StartBusinessDay) -> None:
    today = c.on
    rules = c.policy.rules
    if d.state.policy != c.policy:
        d.add(PolicyApplied(policy=c.policy))
    _split_payments(d, c)
    broken = _end_promises(d, today)
    handed_over: list[InvoiceDunning] = []
    for inv in list(d.state.invoices.values()):
        if not inv.is_open or inv.paused:
            continue
        if inv.evaluated_through is not None and inv.evaluated_through >= today:
            continue
        if inv.timeline_moved:
            assert inv.level_from is not None
            assert inv.timeline_due_on is not None
            d.add(
                TimelineMoved(
                    invoice_id=inv.invoice_id,
                    due_on=inv.timeline_due_on,
                    previous=inv.level_from,
                    on=today,
                )
            )
            inv = d.state.invoices[inv.invoice_id]
        taken = _fire_due_actions(d, inv, c, escalate_now=inv.invoice_id in broken)
        if taken is Action.AGENCY_HANDOVER:
            handed_over.append(d.state.invoices[inv.invoice_id])
        d.add(InvoiceEvaluated(invoice_id=inv.invoice_id, through=today))
    _open_cases(d, handed_over, c)
    _assign_controller(d, rules, c)
    _issue_statements(d, rules, c)


def _split_payments(d: Decision, c: StartBusinessDay) -> None:
    """Each payment an invoice received since its last business day is split as the ledger
    split it when it applied it: what the invoice's law sends to the costs and the interest
    before the principal (BGB § 367, Code civil art. 1343-1, Civil Code art. 561), so letters
    claim interest on the principal the ledger says is still owed, and not again the interest
    and compensation the payment settled. In the order the payments were made, once each (on a
    closed invoice too: what was settled of the interest stays settled)."""
    for invoice_id, inv in list(d.state.invoices.items()):
        if inv.amount is None or not inv.known:
            continue
        if all(r.split or r.kind != "payment" for r in inv.reductions):
            continue
        order = sorted(range(len(inv.reductions)), key=lambda i: (inv.reductions[i].on, i))
        for index in order:
            reduction = d.state.invoices[invoice_id].reductions[index]
            if reduction.kind != "payment" or reduction.split:
                continue
            prior = d.state.invoices[invoice_id].before(index)
            settled = c.claims.settle_payment(
                amount=inv.amount.amount,
                currency=inv.currency,
                issued_on=inv.issued_on,
                terms=inv.terms,
                parts=prior.parts(set_aside_disputed=False),
                payment=reduction.amount,
                on=reduction.on,
                costs_paid=prior.costs_paid,
                interest_paid=prior.interest_paid,
            )
            d.add(
                PaymentSplit(
                    invoice_id=invoice_id,
                    source_id=reduction.source_id,
                    costs=settled.costs,
                    interest=settled.interest,
                )
            )


def _end_promises(d: Decision, today: date) -> set[str]:
    """Promises whose grace ended before `today`: kept ones resume, broken ones escalate."""
    broken: set[str] = set()
    for promise in list(d.state.promises.values()):
        if promise.status != "active" or promise.grace_until >= today:
            continue
        open_invoices = [
            d.state.invoices[i]
            for i in promise.invoice_ids
            if i in d.state.invoices
            and d.state.invoices[i].is_open
            and d.state.invoices[i].outstanding > 0
        ]
        paid = promise.paid_since
        if promise.owed_when_recorded is not None:
            owed_now = sum((inv.outstanding for inv in open_invoices), ZERO)
            paid = max(paid, promise.owed_when_recorded - owed_now)
        kept = not open_invoices or paid >= promise.amount.amount
        d.add(
            PromiseEnded(
                promise_id=promise.promise_id,
                status="kept" if kept else "broken",
                paid=paid,
                on=today,
            )
        )
        for inv in open_invoices:
            if not d.state.invoices[inv.invoice_id].paused:
                d.add(
                    Resumed(
                        invoice_id=inv.invoice_id,
                        reason="promise_kept_partially" if kept else "promise_broken",
                        reference_id=promise.promise_id,
                        on=today,
                    )
                )
            if not kept:
                broken.add(inv.invoice_id)
    return broken


def _fire_due_actions(
    d: Decision, inv: InvoiceDunning, c: StartBusinessDay, *, escalate_now: bool
) -> Action | None:
    """Take the actions that came due for `inv` since it was last evaluated; return the
    escalation taken, if any."""
    due_on = inv.timeline_due_on
    assert due_on is not None
    today = c.on
    rules = c.policy.rules
    due = [
        p
        for p in plan(rules, due_on=due_on, delivered_on=inv.delivered_on)
        if p.on <= today and (inv.evaluated_through is None or p.on > inv.evaluated_through)
    ]
    days_overdue = (today - due_on).days

    for p in due:
        if (
            p.action is Action.RECEIPT_CONFIRMATION
            and inv.proof_of_delivery is None
            and not inv.has_done(Action.RECEIPT_CONFIRMATION)
        ):
            _take(d, inv, Action.RECEIPT_CONFIRMATION, 0, p.on, c, facts={})
    reminders = [p for p in due if p.action is Action.REMINDER]
    if reminders and days_overdue <= 0:
        _take(
            d,
            inv,
            Action.REMINDER,
            0,
            reminders[-1].on,
            c,
            facts={"reminders_due": str(len(reminders))},
        )

    # Every escalation above the invoice's level whose date has come, whenever it was planned: a
    # policy or segment change that moved a step before the last evaluation must not skip it.
    levels = [
        p
        for p in plan(rules, due_on=due_on, delivered_on=inv.delivered_on)
        if p.level > inv.level and p.on <= today and not _held_back(p.action, inv, rules)
    ]
    step: EscalationStep | None = None
    planned_on: date | None = None
    if levels:
        chosen = _no_handover_before_notice(inv, levels, rules)
        planned_on = chosen.on
        step = rules.escalation_for(chosen.action)
    if escalate_now and days_overdue >= 1:
        following = sorted(
            (
                s
                for s in rules.escalation
                if s.level > inv.level and not _held_back(Action(s.action), inv, rules)
            ),
            key=lambda s: s.level,
        )
        if following and (step is None or following[0].level > step.level):
            step, planned_on = following[0], None
    if step is None:
        return None
    facts = {"cause": "promise_broken" if planned_on is None else "schedule"}
    skipped = [p.action.value for p in levels if step is not None and p.level < step.level]
    if skipped:
        facts["superseded"] = ",".join(skipped)
    action = Action(step.action)
    _take(d, inv, action, step.level, planned_on, c, facts=facts)
    return action


def _held_back(action: Action, inv: InvoiceDunning, rules: PolicyRules) -> bool:
    """A small balance is never handed to an agency (DOMAIN.md): it stays with the letters."""
    return action is Action.AGENCY_HANDOVER and rules.too_small_for_agency(inv.pursued)


def _no_handover_before_notice(
    inv: InvoiceDunning, levels: list[PlannedAction], rules: PolicyRules
) -> PlannedAction:
    """The highest level that came due, except that an agency hand-over waits for a formal
    notice on an earlier day when the policy has one: the agency must not receive a case the buyer
    was never formally warned of (it is taken at the next tick)."""
    highest = levels[-1]
    notice = rules.escalation_for(Action.FORMAL_NOTICE)
    if highest.action is Action.AGENCY_HANDOVER and notice is not None and inv.level < notice.level:
        return next((p for p in reversed(levels) if p.action is Action.FORMAL_NOTICE), highest)
    return highest


def _take(
    d: Decision,
    inv: InvoiceDunning,
    action: Action,
    level: int,
    planned_on: date | None,
    c: StartBusinessDay,
    *,
    facts: dict[str, str],
) -> None:
    assert inv.amount is not None
    due_on = inv.timeline_due_on
    assert due_on is not None
    today = c.on
    days_overdue = (today - due_on).days
    claim = None
    if days_overdue >= 1 and action is not Action.RECEIPT_CONFIRMATION:
        claim = owed_claim(inv, today, c.claims)
    line = _line(inv, today, claim, pursued=True)
    letter = Letter(
        letter_id=letter_id(d.state.tenant_id, d.state.buyer_id, action, inv.invoice_id, today),
        kind=action,
        language=d.state.language,
        buyer_id=d.state.buyer_id,
        buyer_name=d.state.legal_name or d.state.buyer_id,
        as_of=today,
        currency=inv.currency,
        lines=(line,),
        policy_version=c.policy.ref,
        pay_by=today + timedelta(days=c.policy.rules.formal_notice_pay_within_days)
        if action is Action.FORMAL_NOTICE
        else None,
        on_account=d.state.on_account(inv.currency) if days_overdue >= 1 else ZERO,
    )
    all_facts = {
        "business_date": today.isoformat(),
        "due_on": due_on.isoformat(),
        "outstanding": str(inv.pursued),
        "currency": inv.currency,
        "days_overdue": str(days_overdue),
        "segment": d.state.effective_segment.value,
        "level_before": str(inv.level),
        **({"planned_on": planned_on.isoformat()} if planned_on else {}),
        **({"disputed": str(inv.disputed)} if inv.disputed else {}),
        **facts,
    }
    d.add(
        ActionTaken(
            invoice_id=inv.invoice_id,
            action=action,
            level=level,
            on=today,
            planned_on=planned_on,
            policy_version=c.policy.ref,
            outstanding=Money(amount=inv.pursued, currency=inv.currency),
            days_overdue=days_overdue,
            facts=all_facts,
            letter=letter,
            claim=claim,
        )
    )


def owed_claim(inv: InvoiceDunning, as_of: date, claims: ClaimCalculator) -> Claim:
    """The claim on what dunning pursues, per instalment, by the ledger's rules: the interest
    accrued and the compensation, less what payments already settled of them (the ledger's
    `interest_owed` and `compensation_owed`)."""
    assert inv.amount is not None
    known = inv.known_on(as_of)
    claim = claims.claim(
        amount=inv.amount.amount,
        currency=inv.currency,
        issued_on=inv.issued_on,
        as_of=as_of,
        terms=inv.terms,
        parts=known.parts(),
    )
    paid = known.reductions
    interest_paid = sum((r.interest for r in paid), ZERO)
    costs_paid = sum((r.costs for r in paid), ZERO)
    if claim.compensation_currency != inv.currency:
        costs_paid = ZERO
    if not (interest_paid or costs_paid):
        return claim
    return claim.model_copy(
        update={
            "interest": max(claim.interest - interest_paid, ZERO),
            "compensation": max(claim.compensation - costs_paid, ZERO),
        }
    )


def _line(inv: InvoiceDunning, as_of: date, claim: Claim | None, *, pursued: bool) -> LetterLine:
    """A letter's line for `inv`: what is pursued (an action's letter) or all that is owed (a
    statement), the disputed part apart, and the overdue instalments by name."""
    assert inv.amount is not None
    due_on = inv.timeline_due_on
    assert due_on is not None
    overdue = inv.overdue_parts(as_of) if inv.instalments else ()
    return LetterLine(
        invoice_id=inv.invoice_id,
        invoice_number=inv.invoice_number or inv.invoice_id,
        issued_on=inv.issued_on,
        due_on=due_on,
        amount=inv.amount.amount,
        outstanding=inv.pursued if pursued else inv.outstanding,
        disputed=inv.disputed,
        instalments=tuple(
            InstalmentLine(
                seq=p.seq,
                due_on=p.due_on,
                amount=p.amount,
                outstanding=p.outstanding,
                days_overdue=(as_of - p.due_on).days,
            )
            for p in overdue
        ),
        days_overdue=(as_of - due_on).days,
        interest=claim.interest if claim else ZERO,
        compensation=claim.compensation if claim else ZERO,
        compensation_currency=claim.compensation_currency if claim else None,
        basis=claim.basis if claim else "",
        jurisdiction=claim.jurisdiction if claim else None,
        agreed_rate=claim.agreed_rate if claim else False,
        annual_rate=claim.annual_rate_percent if claim else None,
    )


def _by_currency(invoices: Iterable[InvoiceDunning]) -> dict[str, list[InvoiceDunning]]:
    groups: dict[str, list[InvoiceDunning]] = {}
    for inv in invoices:
        groups.setdefault(inv.currency, []).append(inv)
    return groups


def _open_cases(d: Decision, invoices: list[InvoiceDunning], c: StartBusinessDay) -> None:
    """One collection case per currency for the invoices handed over today."""
    for currency, group in sorted(_by_currency(invoices).items()):
        ids = tuple(sorted(inv.invoice_id for inv in group))
        case_id = str(
            uuid.uuid5(
                _CASE_NAMESPACE, f"{d.state.tenant_id}|{d.state.buyer_id}|{c.on}|{currency}|{ids}"
            )
        )
        evidence: list[tuple[str, str, str | None]] = []
        for inv in group:
            evidence.append(
                ("invoice", f"invoice:{inv.invoice_number or inv.invoice_id}", inv.invoice_id)
            )
            if inv.proof_of_delivery:
                evidence.append(("proof_of_delivery", inv.proof_of_delivery, inv.invoice_id))
            for done in inv.done:
                if done.letter_id:
                    formal = done.action is Action.FORMAL_NOTICE
                    kind = "legal_letter" if formal else "correspondence"
                    evidence.append((kind, f"letter:{done.letter_id}", inv.invoice_id))
        if d.state.last_statement_on is not None:
            statement = letter_id(
                d.state.tenant_id,
                d.state.buyer_id,
                Action.STATEMENT,
                currency,
                d.state.last_statement_on,
            )
            evidence.append(("statement_of_account", f"letter:{statement}", None))
        claims = tuple(
            (inv.invoice_id, owed_claim(inv, c.on, c.claims))
            for inv in sorted(group, key=lambda i: i.invoice_id)
        )
        compensation: dict[str, Decimal] = {}
        for _, claim in claims:
            if claim.compensation:
                cur = claim.compensation_currency
                compensation[cur] = compensation.get(cur, ZERO) + claim.compensation
        d.add(
            CaseOpened(
                case_id=case_id,
                invoice_ids=ids,
                amount=Money(amount=sum((i.pursued for i in group), ZERO), currency=currency),
                interest=sum((claim.interest for _, claim in claims), ZERO),
                compensation=tuple(
                    Money(amount=amount, currency=cur)
                    for cur, amount in sorted(compensation.items())
                ),
                claims=claims,
                evidence=tuple(evidence),
                on=c.on,
                policy_version=c.policy.ref,
                agency_id=c.agency_id,
            )
        )


def _assign_controller(d: Decision, rules: PolicyRules, c: StartBusinessDay) -> None:
    if rules.controller_threshold is None or d.state.controller_assigned_on is not None:
        return
    for currency, balance in sorted(d.state.open_balance().items()):
        if balance >= rules.controller_threshold:
            d.add(
                ControllerAssigned(
                    on=c.on,
                    policy_version=c.policy.ref,
                    balance=Money(amount=balance, currency=currency),
                    threshold=rules.controller_threshold,
                )
            )
            return


def _issue_statements(d: Decision, rules: PolicyRules, c: StartBusinessDay) -> None:
    day = rules.statement_day_of_month
    today = c.on
    last = d.state.last_statement_on
    if (
        day is None
        or today.day < day
        or (last is not None and (last.year, last.month) == (today.year, today.month))
    ):
        return
    for currency, group in sorted(_by_currency(d.state.open_invoices()).items()):
        lines = []
        overdue = ZERO
        for inv in group:
            late = inv.overdue_parts(today)
            claim = owed_claim(inv, today, c.claims) if late else None
            lines.append(_line(inv, today, claim, pursued=False))
            overdue += sum((p.outstanding for p in late), ZERO)
        letter = Letter(
            letter_id=letter_id(
                d.state.tenant_id, d.state.buyer_id, Action.STATEMENT, currency, today
            ),
            kind=Action.STATEMENT,
            language=d.state.language,
            buyer_id=d.state.buyer_id,
            buyer_name=d.state.legal_name or d.state.buyer_id,
            as_of=today,
            currency=currency,
            lines=tuple(lines),
            policy_version=c.policy.ref,
            on_account=d.state.on_account(currency),
        )
        d.add(
            StatementIssued(on=today, policy_version=c.policy.ref, letter=letter, overdue=overdue)
        )


def next_wake(state: BuyerDunning, rules: PolicyRules) -> date | None:
    """The first business day on which a tick can change anything for this buyer (None: only a
    new fact can). Lets the tick handler skip buyers with nothing due."""
    candidates: list[date] = []
    for inv in state.invoices.values():
        due_on = inv.timeline_due_on
        if not inv.is_open or inv.paused or due_on is None:
            continue
        if inv.timeline_moved:  # the next instalment's timeline starts at the next tick
            candidates.append(date.min)
            continue
        for p in plan(rules, due_on=due_on, delivered_on=inv.delivered_on):
            if _held_back(p.action, inv, rules):
                continue
            if inv.evaluated_through is None or p.on > inv.evaluated_through:
                candidates.append(p.on)
                break
            if p.level > inv.level:  # a step moved into the past by a policy change: next tick
                candidates.append(inv.evaluated_through + timedelta(days=1))
                break
        if inv.evaluated_through is None:
            candidates.append(date.min)
    for promise in state.promises.values():
        if promise.status == "active":
            candidates.append(promise.grace_until + timedelta(days=1))
    open_invoices = state.open_invoices()
    if (
        open_invoices
        and rules.controller_threshold is not None
        and state.controller_assigned_on is None
        and any(b >= rules.controller_threshold for b in state.open_balance().values())
    ):
        candidates.append(date.min)
    if open_invoices and rules.statement_day_of_month is not None:
        last = state.last_statement_on
        if last is None:
            candidates.append(date.min)
        else:
            month = date(last.year + last.month // 12, last.month % 12 + 1, 1)
            candidates.append(month.replace(day=rules.statement_day_of_month))
    return min(candidates) if candidates else None


def wake_on(state: BuyerDunning) -> date | None:
    """The buyer's next wake-up, planned by the policy its last business day was decided under.

    Without a policy known to be current (none yet, or another segment since), a buyer with
    anything a day could act on wakes at the next tick, which then records the policy in force:
    waking early costs an evaluation, never a step. (A new version wakes every buyer on the day it
    takes effect: the kernel does that for configuration read from the log.)
    """
    policy = state.policy
    if policy is not None and policy.segment is state.effective_segment:
        return next_wake(state, policy.rules)
    actionable = any(inv.is_open and not inv.paused for inv in state.invoices.values()) or any(
        p.status == "active" for p in state.promises.values()
    )
    return date.min if actionable else None
