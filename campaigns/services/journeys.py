"""Journeys: triggers start runs, beat advances them step by step.

Triggers are read from the customer timeline by id cursor (events named like a journey's
trigger) and from new identities (`identity_added:email`, `identity_added:phone`). A run is
unique per (journey, trigger), so reading an event twice starts nothing twice. Exit events
(e.g. order_completed for the abandoned cart) end a run whenever they happen after it started,
in ANY channel, store included; they are checked again right before each send, so a send
never beats the poller.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from campaigns.models import (
    CampaignMessage,
    ChannelChoice,
    Journey,
    JourneyRun,
    MessageStatus,
    RunStatus,
    StepKind,
)
from campaigns.services.audience import address_for, best_channels, messaging_channels
from campaigns.services.cursors import read_after
from campaigns.services.delivery import send_messages
from campaigns.services.segments import matches
from campaigns.services.store_local import still_in_stock
from customers.selectors import (
    events_after,
    identities_after,
    latest_event_among,
    reachable_addresses,
)

logger = logging.getLogger("omni.campaigns")
WAIT_UNTIL_RECHECK = timedelta(minutes=5)


def _trigger_key(journey, customer_id, kind, row_id):
    return f"customer:{customer_id}" if journey.once_per_customer else f"{kind}:{row_id}"


def start_runs(limit=2000, *, now=None) -> int:
    """Start runs for new timeline events and new identities; exit runs on exit events."""
    now = now or timezone.now()
    journeys = list(Journey.objects.filter(is_active=True))
    if not journeys:
        return 0
    by_event = {}
    by_identity = {}
    exit_names = set()
    for journey in journeys:
        if journey.trigger.startswith("identity_added:"):
            by_identity.setdefault(journey.trigger.split(":", 1)[1], []).append(journey)
        else:
            by_event.setdefault(journey.trigger, []).append(journey)
        exit_names.update(journey.exit_events or [])
    before = JourneyRun.objects.count()
    with transaction.atomic():
        names = set(by_event) | exit_names
        events = read_after(
            "journeys.events", lambda after: events_after(after, names, limit=limit)
        )
        _start(
            [
                (
                    (journey, event.customer_id, "event", event.id, event.occurred_at),
                    {**event.properties, "event_channel": _channel_kind(event)},
                )
                for event in events
                for journey in by_event.get(event.name, [])
            ],
            now,
        )
        for event in events:
            if event.name in exit_names:
                exit_runs_for(event)
        identities = read_after(
            "journeys.identities", lambda after: identities_after(after, by_identity, limit=limit)
        )
        _start(
            [
                (
                    (journey, identity.customer_id, "identity", identity.id, identity.created_at),
                    {"identity_kind": identity.kind},
                )
                for identity in identities
                for journey in by_identity.get(identity.kind, [])
            ],
            now,
        )
    # bulk_create(ignore_conflicts) does not say which rows were new: count them.
    return JourneyRun.objects.count() - before


def _start(triggers, now) -> None:
    """A run per ((journey, customer id, trigger kind, trigger row id, started at), context);
    one started before by the same trigger (same journey and trigger key) stays as it is."""
    JourneyRun.objects.bulk_create(
        [
            JourneyRun(
                journey=journey,
                customer_id=customer_id,
                trigger_key=_trigger_key(journey, customer_id, kind, row_id),
                trigger_event_id=row_id if kind == "event" else None,
                context=context,
                started_at=started_at,
                wake_at=now,
            )
            for (journey, customer_id, kind, row_id, started_at), context in triggers
        ],
        ignore_conflicts=True,
    )


def _channel_kind(event) -> str:
    return event.channel.kind if event.channel_id else ""


def _exit_event(run):
    """Her latest exit event of the run's journey since the run started (not the event that
    started it), or None."""
    return latest_event_among(
        run.customer_id,
        run.journey.exit_events or [],
        since=run.started_at,
        excluding=run.trigger_event_id,
    )


def exit_runs_for(event) -> int:
    """End the customer's active runs whose journey exits on this event."""
    journey_ids = [
        journey.pk
        for journey in Journey.objects.filter(is_active=True)
        if event.name in (journey.exit_events or [])
    ]
    channel = _channel_kind(event) or "no channel"
    return (
        JourneyRun.objects.filter(
            customer_id=event.customer_id,
            status=RunStatus.ACTIVE,
            journey_id__in=journey_ids,
            started_at__lte=event.occurred_at,
        )
        .exclude(trigger_event_id=event.id)
        .update(
            status=RunStatus.EXITED,
            finished_at=timezone.now(),
            exit_reason=f"{event.name} ({channel})",
        )
    )


def advance_due_runs(limit=500, *, now=None) -> int:
    """Advance every active run whose time has come. Runs are locked one at a time with SKIP
    LOCKED, so two beat workers never advance the same run."""
    now = now or timezone.now()
    advanced = 0
    ids = list(
        JourneyRun.objects.filter(status=RunStatus.ACTIVE, wake_at__lte=now)
        .order_by("wake_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    for run_id in ids:
        advance_run(run_id, now=now)
        advanced += 1
    return advanced


def advance_run(run_id, *, now=None):
    now = now or timezone.now()
    to_send = []
    with transaction.atomic():
        run = (
            JourneyRun.objects.select_for_update(skip_locked=True)
            .select_related("journey", "customer")
            .filter(pk=run_id, status=RunStatus.ACTIVE)
            .first()
        )
        if run is None:
            return None
        steps = {
            s.position: s
            for s in run.journey.steps.select_related("template", "channel", "coupon_pool")
        }
        while True:
            event = _exit_event(run) if run.journey.exit_events else None
            if event is not None:
                _finish(
                    run,
                    RunStatus.EXITED,
                    f"{event.name} ({_channel_kind(event) or 'no channel'})",
                    now,
                )
                break
            step = steps.get(run.position)
            if step is None:
                _finish(run, RunStatus.COMPLETED, "", now)
                break
            if step.kind == StepKind.WAIT:
                if run.waiting_since is None:
                    # The first wait counts from the trigger (win-back: 90 days after the
                    # order), a later one from when the run reached it.
                    run.waiting_since = run.started_at if run.position == 0 else now
                limit = run.waiting_since + timedelta(minutes=step.wait_minutes)
                if step.rules:
                    if matches(step.rules, run.customer, now=now):
                        run.position += 1
                        run.waiting_since = None
                        continue
                    if now >= limit:
                        _finish(run, RunStatus.EXITED, "waited too long", now)
                        break
                    run.wake_at = min(limit, now + WAIT_UNTIL_RECHECK)
                    run.save(update_fields=["waiting_since", "wake_at"])
                    break
                if now >= limit:
                    run.position += 1
                    run.waiting_since = None
                    continue
                run.wake_at = limit
                run.save(update_fields=["waiting_since", "wake_at"])
                break
            if step.kind == StepKind.CONDITION:
                if not matches(step.rules, run.customer, now=now):
                    _finish(run, RunStatus.EXITED, "condition not met", now)
                    break
                run.position += 1
                continue
            if step.kind == StepKind.EXIT:
                _finish(run, RunStatus.EXITED, "exit step", now)
                break
            if step.kind == StepKind.SEND:
                if not still_in_stock(run):
                    # "Your size is back": the store sold out again before the send.
                    _finish(run, RunStatus.EXITED, "sold out at the store again", now)
                    break
                message = _message_for(run, step, now)
                if message is not None and message.status == MessageStatus.QUEUED:
                    to_send.append(message.pk)
                run.position += 1
                continue
        if run.status == RunStatus.ACTIVE:
            run.save(update_fields=["position", "waiting_since", "wake_at"])
    if to_send:
        send_messages(to_send, now=now)
    return run


def _finish(run, status, reason, now):
    run.status = status
    run.exit_reason = reason[:200]
    run.finished_at = now
    run.save(update_fields=["status", "exit_reason", "finished_at", "position", "waiting_since"])


def _route(run, step):
    """(channel, address) of a send step: a fixed channel, the customer's best one, or the
    one she asked for (the trigger's `receipt_channel`, else her preferred channel)."""
    customer = run.customer
    if step.channel_choice == ChannelChoice.BEST:
        return best_channels([customer], run.journey.purpose)[customer.pk]
    addresses = reachable_addresses([customer.pk]).get(customer.pk, {})
    if step.channel_choice == ChannelChoice.ASKED:
        channels = messaging_channels()
        for kind in (
            (run.context or {}).get("receipt_channel"),
            customer.preferred_channel,
            step.channel.kind if step.channel_id else None,
            "email",
        ):
            if kind and kind in channels and address_for(kind, addresses):
                return channels[kind], address_for(kind, addresses)
        return None, ""
    if step.channel_id:
        return step.channel, address_for(step.channel.kind, addresses)
    return None, ""


def _message_for(run, step, now):
    existing = CampaignMessage.objects.filter(journey_run=run, journey_step=step).first()
    if existing:
        return existing
    channel, address = _route(run, step)
    status, reason = MessageStatus.QUEUED, ""
    if channel is None or not address:
        status, reason = MessageStatus.SUPPRESSED, "no channel with an address"
    message, _created = CampaignMessage.objects.get_or_create(
        journey_run=run,
        journey_step=step,
        defaults={
            "customer": run.customer,
            "template": step.template,
            "channel": channel,
            "purpose": run.journey.purpose,
            "to": address,
            "status": status,
            "status_reason": reason,
            "idempotency_key": f"omni-j{run.pk}-s{step.pk}",
            "context": {"trigger": run.context, "cart": run.context, "order": run.context},
            "not_before": now,
        },
    )
    return message


def run_journeys(now=None) -> dict:
    """One beat tick: start runs from new events and identities, then advance due runs."""
    started = start_runs(now=now)
    advanced = advance_due_runs(now=now)
    return {"started": started, "advanced": advanced}
