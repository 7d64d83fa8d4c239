"""Launching campaigns: the segment snapshot, one message row per member (split exactly
between the A/B variants, the rest held for the winner), scheduling, and the campaign's
status until it is sent or cancelled.

A campaign becomes CampaignMessage rows (`bulk_create(ignore_conflicts=True)` on the unique
(campaign, customer)), so launching twice makes no second row; campaigns.services.delivery
then sends them in chunks.
"""

import logging
import math
import random
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from campaigns.errors import IllegalTransition, InvalidCampaign
from campaigns.models import (
    Campaign,
    CampaignMessage,
    CampaignStatus,
    CampaignVariant,
    MessageStatus,
    SegmentSnapshot,
)
from campaigns.services.audience import (
    ADDRESS_KINDS,
    address_for,
    best_channels,
    local_send_time,
    time_zone_of,
)
from campaigns.services.delivery import enqueue_due
from campaigns.services.segments import segment_queryset
from core.models import ChannelProvider, ProviderTemplate
from core.services.enqueue import after_commit
from customers.selectors import customers_for_routing, reachable_addresses

logger = logging.getLogger("omni.campaigns")

INSERT_BATCH = 5000
# What may still be sent or scheduled.
NOT_STARTED = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


def split_sizes(total: int, weights: list[int]) -> list[int]:
    """Exact sizes that add up to `total`, proportional to the weights (largest remainder)."""
    if not weights:
        return []
    weight_sum = sum(weights)
    raw = [total * w / weight_sum for w in weights]
    sizes = [math.floor(x) for x in raw]
    order = sorted(range(len(weights)), key=lambda i: (-(raw[i] - sizes[i]), i))
    for i in order[: total - sum(sizes)]:
        sizes[i] += 1
    return sizes


def message_key(campaign_id, customer_id) -> str:
    return f"omni-c{campaign_id}-u{customer_id}"


def start_campaign(campaign: Campaign, *, now=None) -> int:
    """Snapshot the segment and make one message row per member (idempotent: running it
    again makes no second row). A/B: the test share is split exactly by weight; the rest is
    held for the winner. Returns the number of rows. Raises InvalidCampaign,
    IllegalTransition."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = _locked_before_start(campaign, "sent")
        variants = list(campaign.variants.select_related("template").order_by("name"))
        if not variants:
            raise _without_variants()
        if campaign.channel_id and campaign.channel.kind not in ADDRESS_KINDS:
            raise InvalidCampaign(
                "This channel cannot carry messages.", fields={"channel": ["Not a messaging kind."]}
            )
        if campaign.channel_id and campaign.channel.provider == ChannelProvider.WHATSAPP:
            _check_provider_templates(campaign.channel, variants)
        members = list(
            segment_queryset(campaign.segment.rules, now=now)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        SegmentSnapshot.objects.create(
            segment=campaign.segment,
            campaign=campaign,
            rules=campaign.segment.rules,
            member_count=len(members),
            taken_at=now,
        )
        shuffled = members[:]
        random.Random(campaign.pk).shuffle(shuffled)  # noqa: S311 (assignment, not security)
        if len(variants) > 1:
            test_size = round(len(shuffled) * campaign.ab_test_share / 100)
        else:
            test_size = len(shuffled)
        sizes = split_sizes(test_size, [v.weight for v in variants])
        assignment: dict[int, CampaignVariant | None] = {}
        start = 0
        for variant, size in zip(variants, sizes, strict=True):
            for customer_id in shuffled[start : start + size]:
                assignment[customer_id] = variant
            start += size
        for customer_id in shuffled[start:]:
            assignment[customer_id] = None  # held for the winner
        total = 0
        for offset in range(0, len(members), INSERT_BATCH):
            batch = members[offset : offset + INSERT_BATCH]
            total += _make_rows(campaign, batch, assignment, variants, now)
        campaign.status = CampaignStatus.TESTING if start < len(members) else CampaignStatus.SENDING
        campaign.started_at = now
        campaign.save(update_fields=["status", "started_at"])
        after_commit(enqueue_due, campaign_id=campaign.pk)
    return total


def _locked_before_start(campaign, doing: str) -> Campaign:
    """The campaign's row, locked, while it may still be sent or scheduled (a draft, or
    scheduled). Raises IllegalTransition saying what could not be `doing`."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in NOT_STARTED:
        raise IllegalTransition(f"A campaign in status {campaign.status} cannot be {doing}.")
    return campaign


def _without_variants() -> InvalidCampaign:
    return InvalidCampaign(
        "A campaign needs at least one variant (template).",
        fields={"variants": ["Add a template."]},
    )


def _check_provider_templates(channel, variants):
    """A campaign on a WhatsApp channel sends approved templates only: each variant's
    template must name one the channel has. Raises InvalidCampaign naming the variants."""
    approved = set(
        ProviderTemplate.objects.filter(channel=channel, is_active=True).values_list(
            "name", flat=True
        )
    )
    problems = [
        f"{variant.name}: {variant.template.name!r} names no approved template of {channel.code}"
        f" ({variant.template.provider_template_name or 'none given'})."
        for variant in variants
        if variant.template.provider_template_name not in approved
    ]
    if problems:
        raise InvalidCampaign(
            "WhatsApp sends campaigns only as templates it approved: give each variant's "
            "template the name of one of the channel's provider templates.",
            fields={"variants": problems},
        )


def _make_rows(campaign, customer_ids, assignment, variants, now) -> int:
    customers = customers_for_routing(customer_ids)
    if campaign.channel_id:
        addresses = reachable_addresses(customer_ids)
        route = {
            c.pk: (campaign.channel, address_for(campaign.channel.kind, addresses.get(c.pk, {})))
            for c in customers
        }
    else:
        route = best_channels(customers, campaign.purpose)
    rows = []
    for customer in customers:
        channel, address = route[customer.pk]
        variant = assignment.get(customer.pk)
        not_before = now
        if campaign.scheduled_at and campaign.in_customer_time_zone:
            not_before = max(now, local_send_time(campaign.scheduled_at, time_zone_of(customer)))
        status, reason = MessageStatus.QUEUED, ""
        if variant is None:
            status = MessageStatus.HELD
        if channel is None or not address:
            status, reason = MessageStatus.SUPPRESSED, "no consented channel with an address"
        rows.append(
            CampaignMessage(
                campaign=campaign,
                variant=variant,
                template=variant.template if variant else None,
                customer_id=customer.pk,
                channel=channel,
                purpose=campaign.purpose,
                to=address,
                status=status,
                status_reason=reason,
                idempotency_key=message_key(campaign.pk, customer.pk),
                not_before=not_before,
                coupon_code=None,
                created_at=now,
            )
        )
    CampaignMessage.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


def send_campaign(campaign: Campaign, *, now=None) -> int:
    """Send now (or at its time, per customer, when it is in their time zone)."""
    return start_campaign(campaign, now=now)


def schedule_campaign(campaign: Campaign, when, *, in_customer_time_zone=False) -> Campaign:
    with transaction.atomic():
        campaign = _locked_before_start(campaign, "scheduled")
        if not campaign.variants.exists():
            raise _without_variants()
        campaign.scheduled_at = when
        campaign.in_customer_time_zone = in_customer_time_zone
        campaign.status = CampaignStatus.SCHEDULED
        campaign.save(update_fields=["scheduled_at", "in_customer_time_zone", "status"])
    return campaign


def start_due_campaigns(now=None) -> list[int]:
    """Scheduled campaigns whose time has come (14 hours early when they go out at a local
    time: the first time zones reach the hour before UTC does)."""
    now = now or timezone.now()
    due = Campaign.objects.filter(status=CampaignStatus.SCHEDULED).filter(
        Q(in_customer_time_zone=False, scheduled_at__lte=now)
        | Q(in_customer_time_zone=True, scheduled_at__lte=now + timedelta(hours=14))
    )
    started = []
    for campaign in due:
        try:
            start_campaign(campaign, now=now)
            started.append(campaign.pk)
        except (IllegalTransition, InvalidCampaign) as error:
            logger.warning("campaign %s not started: %s", campaign.pk, error)
    return started


def finish_campaigns(now=None) -> int:
    """Campaigns with nothing left to send are sent."""
    now = now or timezone.now()
    open_rows = CampaignMessage.objects.filter(
        campaign=OuterRef("pk"),
        status__in=(MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.HELD),
    )
    return (
        Campaign.objects.filter(status=CampaignStatus.SENDING)
        .exclude(Exists(open_rows))
        .update(status=CampaignStatus.SENT, finished_at=now)
    )


def cancel_campaign(campaign: Campaign) -> Campaign:
    """Stop a campaign that has not finished: its queued and held rows are not sent (rows
    already claimed by a worker still go). Raises IllegalTransition."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status in (CampaignStatus.SENT, CampaignStatus.CANCELLED):
            raise IllegalTransition(f"A campaign in status {campaign.status} cannot be cancelled.")
        campaign.messages.filter(status__in=(MessageStatus.QUEUED, MessageStatus.HELD)).update(
            status=MessageStatus.SUPPRESSED, status_reason="campaign cancelled"
        )
        campaign.status = CampaignStatus.CANCELLED
        campaign.finished_at = timezone.now()
        campaign.save(update_fields=["status", "finished_at"])
    return campaign
