"""Campaigns' demo stage: the shipped templates, journeys, ready-made segments and coupon pools
(WELCOME first-purchase codes), a sent A/B campaign with results, journeys running for the
demo customers (started from their real timelines), loyalty points and referrals, home stores
with a store's coupon (demo_store_local.py) and ad audiences counted by a dry run
(demo_ad_audiences.py)."""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from campaigns.demo_ad_audiences import seed_ad_audiences
from campaigns.demo_store_local import seed_store_local
from campaigns.errors import ReferralRefused
from campaigns.factories import CampaignFactory, MessageTemplateFactory, SegmentFactory
from campaigns.models import (
    Campaign,
    CampaignMessage,
    CampaignStatus,
    CampaignVariant,
    LoyaltyRule,
    LoyaltyTier,
    MessageStatus,
    Referral,
    SegmentSnapshot,
)
from campaigns.segment_words import describe
from campaigns.services import loyalty
from campaigns.services.abtest import two_proportion_z_test
from campaigns.services.defaults import install_defaults
from campaigns.services.journeys import advance_due_runs, start_runs
from campaigns.services.launch import message_key
from campaigns.services.recommendations import refresh_product_pairs
from campaigns.services.segments import segment_queryset
from core.demo import register_stage
from core.models import Channel
from customers.selectors import customer_by_id, customers_with_one_order, identity_values_of

DEMO_CAMPAIGN = "Spring shoes (A/B)"


@register_stage("campaigns.demo", order=70, label="Campaigns and journeys")
def seed_campaigns(ctx):
    installed = install_defaults()
    ctx.created("journeys", len(installed["journeys"]))
    ctx.created("segments", len(installed["segments"]))
    email = Channel.objects.filter(kind="email").first()
    if email is None or Campaign.objects.filter(name=DEMO_CAMPAIGN).exists():
        return  # no email channel, or the demo campaign is already there (a second run)
    rules = {"identity": "email"}
    segment = SegmentFactory(
        name="Everyone with an email", rules=rules, compiled_description=describe(rules)
    )
    a = MessageTemplateFactory(
        name="spring-shoes-a", subject="New season, {{ first_name }}: Aria Runner is back"
    )
    b = MessageTemplateFactory(
        name="spring-shoes-b", subject="{{ first_name }}, your size is in stock near you"
    )
    now = timezone.now()
    campaign = CampaignFactory(
        name=DEMO_CAMPAIGN,
        segment=segment,
        channel=email,
        templates=[a, b],
        ab_test_share=100,
        ab_winner_metric="click",
        status=CampaignStatus.SENT,
        started_at=now - timedelta(days=3),
        finished_at=now - timedelta(days=3, hours=-1),
    )
    members = list(segment_queryset(rules).order_by("pk").values_list("pk", flat=True))
    members = members[: ctx.scale(400)]
    addresses = {
        customer_id: value for customer_id, _kind, value in identity_values_of(members, ["email"])
    }
    variants = list(CampaignVariant.objects.filter(campaign=campaign).order_by("name"))
    rng = random.Random(ctx.seed)
    rows = []
    sent_at = now - timedelta(days=3)
    click_rate = {"A": 0.06, "B": 0.14}
    for index, customer_id in enumerate(members):
        variant = variants[index % len(variants)]
        opened = rng.random() < 0.45
        clicked = opened and rng.random() < click_rate[variant.name] / 0.45
        converted = clicked and rng.random() < 0.3
        status = (
            MessageStatus.CONVERTED
            if converted
            else MessageStatus.CLICKED
            if clicked
            else MessageStatus.OPENED
            if opened
            else MessageStatus.DELIVERED
        )
        rows.append(
            CampaignMessage(
                campaign=campaign,
                variant=variant,
                template=variant.template,
                customer_id=customer_id,
                channel=email,
                purpose="marketing",
                to=addresses.get(customer_id, ""),
                status=status,
                idempotency_key=message_key(campaign.pk, customer_id),
                created_at=sent_at,
                claimed_at=sent_at,
                sent_at=sent_at,
                delivered_at=sent_at + timedelta(minutes=1),
                opened_at=sent_at + timedelta(hours=2) if opened else None,
                clicked_at=sent_at + timedelta(hours=3) if clicked else None,
                converted_at=sent_at + timedelta(days=1) if converted else None,
                revenue=Decimal(rng.choice([89, 120, 145, 210])) if converted else Decimal(0),
                unsubscribed_at=sent_at + timedelta(hours=5) if rng.random() < 0.01 else None,
            )
        )
    CampaignMessage.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    SegmentSnapshot.objects.create(
        segment=segment,
        campaign=campaign,
        rules=rules,
        member_count=len(members),
        taken_at=sent_at,
    )
    figures = {v.name: [0, 0] for v in variants}
    for row in rows:
        figures[row.variant.name][0] += 1
        figures[row.variant.name][1] += row.clicked_at is not None
    (na, ca), (nb, cb) = figures["A"], figures["B"]
    test = two_proportion_z_test(cb, nb, ca, na)
    winner = "B" if test.p_value < 0.05 and cb / max(nb, 1) > ca / max(na, 1) else "A"
    CampaignVariant.objects.filter(campaign=campaign, name=winner).update(is_winner=True)
    campaign.ab_result = {
        "metric": "click",
        "winner": winner,
        "significant": test.p_value < 0.05,
        "z": round(test.z, 4),
        "p_value": round(test.p_value, 6),
    }
    campaign.ab_decided_at = sent_at + timedelta(hours=4)
    campaign.save(update_fields=["ab_result", "ab_decided_at"])
    ctx.created("campaign messages", len(rows))

    # Journeys start from the demo timelines (new emails, carts, orders) like in production;
    # a few are advanced now so the journey list shows sent messages too.
    started = 0
    for _round in range(100):  # each round reads the next 5,000 events and identities
        made = start_runs(limit=5000)
        started += made
        if not made:
            break
    advance_due_runs(limit=ctx.scale(20))
    ctx.created("journey runs", started)
    # The product pairs behind recommendations, from the demo's timelines and orders (what
    # the beat does hourly), so Sara's recommendations have something to show at once.
    ctx.created("product pairs", refresh_product_pairs())
    seed_loyalty(ctx)
    # Part of this stage (the demo prints one line a stage, and stays under 40 lines):
    seed_store_local(ctx)
    seed_ad_audiences(ctx)


def seed_loyalty(ctx):
    """Earn rules and tiers, points from the demo's orders (what the beat does every 30 s),
    Sara's referral code and one friend she brought."""
    if not LoyaltyRule.objects.exists():
        store = Channel.objects.filter(code="store").first()
        LoyaltyRule.objects.bulk_create(
            [
                LoyaltyRule(name="1 point per dollar", currency="USD", points_per_unit=1),
                LoyaltyRule(
                    name="Double points in the stores",
                    currency="USD",
                    points_per_unit=2,
                    channel=store,
                ),
                LoyaltyRule(name="1 point per manat", currency="AZN", points_per_unit=1),
                LoyaltyRule(
                    name="1 point per 500,000 rials", currency="IRR", points_per_unit="0.000002"
                ),
            ]
        )
        LoyaltyTier.objects.bulk_create(
            [
                LoyaltyTier(name="Silver", currency="USD", minimum_spend=300, earn_multiplier=1),
                LoyaltyTier(name="Gold", currency="USD", minimum_spend=1000, earn_multiplier="1.5"),
            ]
        )
    earned = 0
    for _round in range(200):  # each round reads the next 2,000 order events
        counts = loyalty.apply_timeline()
        earned += counts["earned"]
        if not any(counts.values()):
            break
    ctx.created("loyalty points", earned)
    sara = ctx.shared.get("sara")
    if sara is None:
        return
    code = loyalty.referral_code_for(sara)
    for customer_id, order_number in customers_with_one_order(exclude=sara.pk, limit=3):
        if Referral.objects.filter(referee_id=customer_id).exists():
            continue
        try:
            loyalty.apply_referral(
                customer_by_id(customer_id), code.code, order_number=order_number
            )
        except ReferralRefused:
            continue
        ctx.created("referrals", loyalty.credit_referral_of(customer_id, order_number))
