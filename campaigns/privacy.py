"""Campaigns' part of a privacy export or erasure."""

from campaigns.models import (
    CampaignMessage,
    CouponCode,
    JourneyRun,
    LoyaltyEntry,
    Redemption,
    Referral,
    ReferralCode,
    Suppression,
    TrackingEvent,
    Unsubscribe,
)
from campaigns.services.ad_audiences import erase_ad_data, export_ad_data
from campaigns.services.store_local import erase_home_store, export_home_store
from campaigns.services.tracking import suppression_digest


def export_campaign_data(customer) -> dict:
    return {
        "messages": [
            {
                "channel": m.channel.kind if m.channel_id else "",
                "to": m.to,
                "status": m.status,
                "campaign": m.campaign.name if m.campaign_id else "",
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "opened_at": m.opened_at.isoformat() if m.opened_at else None,
                "clicked_at": m.clicked_at.isoformat() if m.clicked_at else None,
            }
            for m in CampaignMessage.objects.filter(customer=customer).select_related(
                "channel", "campaign"
            )
        ],
        "coupon_codes": list(
            CouponCode.objects.filter(customer=customer).values_list("code", flat=True)
        ),
        "redemptions": [
            {"code": r.code.code, "order": r.order_number, "discount": str(r.discount)}
            for r in Redemption.objects.filter(customer=customer).select_related("code")
        ],
        "unsubscribes": [
            {"channel": u.channel_kind, "at": u.created_at.isoformat()}
            for u in Unsubscribe.objects.filter(customer=customer)
        ],
        "loyalty_points": [
            {
                "kind": e.kind,
                "points": e.points,
                "order": e.order_number,
                "note": e.note,
                "at": e.created_at.isoformat(),
                "expires_at": e.expires_at.isoformat() if e.expires_at else None,
            }
            for e in LoyaltyEntry.objects.filter(customer=customer).order_by("id")
        ],
        "referral_codes": list(
            ReferralCode.objects.filter(customer=customer).values_list("code", flat=True)
        ),
        "referrals": [
            {"code": r.code, "status": r.status, "at": r.created_at.isoformat()}
            for r in Referral.objects.filter(referee=customer)
        ],
        **export_ad_data(customer),
        "home_store": export_home_store(customer),
    }


def message_addresses_of(customer) -> set[str]:
    """The addresses her messages went to: an erasure looks for them on the suppression list
    and in copies no message points at."""
    return set(
        CampaignMessage.objects.filter(customer=customer)
        .exclude(to="")
        .values_list("to", flat=True)
        .distinct()
    )


def erase_campaign_data(customer) -> None:
    """Addresses, per-message contexts and providers' bounce texts go; counts for reports
    stay (no personal data)."""
    messages = CampaignMessage.objects.filter(customer=customer)
    TrackingEvent.objects.filter(message__in=messages).update(detail={})
    messages.update(to="", context={}, status_reason="")
    JourneyRun.objects.filter(customer=customer).update(context={})
    # Her points stay as counts (no personal data) without their notes; her referral code
    # stops working.
    LoyaltyEntry.objects.filter(customer=customer).exclude(note="").update(note="")
    ReferralCode.objects.filter(customer=customer).delete()
    # Her hashes on ad platforms: removed at once, kept only until the removal is sent.
    erase_ad_data(customer)
    # Where she shops (her orders keep their stores; the next refresh skips erased people).
    erase_home_store(customer)


def forget_suppressed_addresses(person) -> None:
    """Her addresses on the suppression list are kept only as digests: nothing is sent to
    them again, and the list no longer reads as her address."""
    rows = list(
        Suppression.objects.filter(address__in=person.identifiers).only(
            "pk", "channel_kind", "address", "detail"
        )
    )
    for row in rows:
        row.address = suppression_digest(row.address)
        row.detail = ""
    # Erased once before (she came back and bounced again): the digest is already listed.
    listed = set(
        Suppression.objects.filter(address__in={row.address for row in rows}).values_list(
            "channel_kind", "address"
        )
    )
    repeated = [row.pk for row in rows if (row.channel_kind, row.address) in listed]
    Suppression.objects.filter(pk__in=repeated).delete()
    Suppression.objects.bulk_update(
        [row for row in rows if row.pk not in repeated], ["address", "detail"]
    )
