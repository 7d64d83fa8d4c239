"""Drafting a campaign: the one way the API and the staff page create one."""

from dataclasses import dataclass

from django.db import transaction

from campaigns.errors import InvalidCampaign
from campaigns.models import Campaign, CampaignVariant, MessageTemplate

# The Campaign fields a draft is made with, besides its variants: what the staff form
# (campaigns.forms.CampaignForm) and the API (CampaignSerializer) both let one write.
CAMPAIGN_FIELDS = (
    "name",
    "segment",
    "channel",
    "purpose",
    "coupon_pool",
    "quiet_hours_start",
    "quiet_hours_end",
    "frequency_cap",
    "frequency_window_days",
    "ab_test_share",
    "ab_winner_metric",
    "ab_test_hours",
    "attribution_window_days",
)


@dataclass(frozen=True)
class VariantDraft:
    name: str
    template: MessageTemplate
    weight: int = 1


def create_campaign(*, name: str, segment, variants, **options) -> Campaign:
    """A draft campaign with its variants (`VariantDraft`s or dicts of name, template,
    weight); `options` are Campaign fields (channel, purpose, quiet hours, caps, A/B test).

    Rules: at least one variant, variant names differ, weights are at least 1, quiet hours
    have both ends or neither. Raises InvalidCampaign naming the field."""
    drafts = [v if isinstance(v, VariantDraft) else VariantDraft(**v) for v in variants]
    if not drafts:
        raise InvalidCampaign(
            "A campaign needs at least one variant (template).",
            fields={"variants": ["Give at least one variant."]},
        )
    names = [draft.name for draft in drafts]
    if len(set(names)) != len(names):
        raise InvalidCampaign("Variant names must differ.", fields={"variants": ["Names differ."]})
    if any(draft.weight < 1 for draft in drafts):
        raise InvalidCampaign("A weight is at least 1.", fields={"variants": ["Weight >= 1."]})
    start, end = options.get("quiet_hours_start"), options.get("quiet_hours_end")
    if (start is None) != (end is None):
        raise InvalidCampaign(
            "Give both ends of the quiet hours, or neither.",
            fields={"quiet_hours_end": ["Give both ends of the quiet hours, or neither."]},
        )
    with transaction.atomic():
        campaign = Campaign.objects.create(name=name, segment=segment, **options)
        CampaignVariant.objects.bulk_create(
            CampaignVariant(campaign=campaign, name=d.name, template=d.template, weight=d.weight)
            for d in drafts
        )
    return campaign
