"""A/B tests: a two-proportion z-test on the stated metric, then the winner goes to the rest.

No scipy here: the normal CDF is Φ(z) = (1 + erf(z / √2)) / 2.
"""

import math
from dataclasses import asdict, dataclass
from functools import cached_property

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from campaigns.errors import IllegalTransition
from campaigns.models import (
    SENT_STATUSES,
    Campaign,
    CampaignMessage,
    CampaignStatus,
    CampaignVariant,
    MessageStatus,
    WinnerMetric,
)
from campaigns.services.delivery import enqueue_due
from core.services.enqueue import after_commit

SIGNIFICANCE = 0.05


def normal_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


@dataclass
class ZTest:
    z: float
    p_value: float
    rate_a: float
    rate_b: float


def two_proportion_z_test(successes_a, trials_a, successes_b, trials_b) -> ZTest:
    """Two-sided test of rate_a == rate_b with the pooled standard error."""
    if trials_a == 0 or trials_b == 0:
        return ZTest(0.0, 1.0, 0.0, 0.0)
    rate_a, rate_b = successes_a / trials_a, successes_b / trials_b
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    error = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    if error == 0:
        return ZTest(0.0, 1.0, rate_a, rate_b)
    z = (rate_a - rate_b) / error
    return ZTest(z, 2 * (1 - normal_cdf(abs(z))), rate_a, rate_b)


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95% confidence interval of a rate (Wilson score): honest for small samples and for
    rates near 0, where the textbook ±1.96·SE interval goes below zero."""
    if trials == 0:
        return 0.0, 0.0
    rate = successes / trials
    denominator = 1 + z * z / trials
    centre = (rate + z * z / (2 * trials)) / denominator
    margin = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials))
    margin /= denominator
    return max(0.0, centre - margin), min(1.0, centre + margin)


def ab_comparison(campaign: Campaign) -> dict | None:
    """The A/B test as staff read it, while it runs and after: each variant (the control
    first) with its sends, successes on the campaign's metric, rate and 95% interval, and the
    test of the best variant against the runner-up. None for a campaign without variants."""
    variants = list(campaign.variants.select_related("template").order_by("name"))
    if not variants:
        return None
    verdict = judge(campaign, variants)
    rows = {}
    for position, variant in enumerate(variants):
        successes, sent = verdict.score(variant)
        low, high = wilson_interval(successes, sent)
        rows[variant.pk] = {
            "variant": variant,
            "is_control": position == 0,
            "sent": sent,
            "successes": successes,
            "rate": verdict.rate(variant),
            "low": low,
            "high": high,
            # The same three as percentages, as the page shows them.
            "percent": 100 * successes / sent if sent else 0.0,
            "low_percent": 100 * low,
            "high_percent": 100 * high,
        }
    return {
        "metric": verdict.metric,
        "rows": list(rows.values()),
        "best": rows[verdict.best.pk],
        "runner_up": rows[verdict.runner_up.pk],
        "p_value": verdict.test.p_value,
        "significant": verdict.significant,
        "decided": campaign.ab_decided_at is not None,
    }


@dataclass
class Verdict:
    """An A/B test read on the campaign's metric: the variants ranked (best rate first, then
    by name) and the test of the best against the runner-up (the best itself when there is
    one variant)."""

    metric: str  # "clicked" or "converted"
    figures: dict[int, dict]  # variant_figures
    variants: list[CampaignVariant]

    def score(self, variant) -> tuple[int, int]:
        """(successes on the metric, messages sent) of a variant."""
        row = self.figures.get(variant.pk, {"sent": 0, self.metric: 0})
        return row[self.metric], row["sent"]

    def rate(self, variant) -> float:
        successes, sent = self.score(variant)
        return successes / sent if sent else 0.0

    @cached_property
    def ranked(self) -> list[CampaignVariant]:
        return sorted(self.variants, key=lambda v: (-self.rate(v), v.name))

    @property
    def best(self) -> CampaignVariant:
        return self.ranked[0]

    @property
    def runner_up(self) -> CampaignVariant:
        return self.ranked[1] if len(self.ranked) > 1 else self.ranked[0]

    @cached_property
    def test(self) -> ZTest:
        return two_proportion_z_test(*self.score(self.best), *self.score(self.runner_up))

    @property
    def significant(self) -> bool:
        return self.best.pk != self.runner_up.pk and self.test.p_value < SIGNIFICANCE


def judge(campaign: Campaign, variants) -> Verdict:
    """The verdict on these variants of the campaign, from its messages so far."""
    metric = "clicked" if campaign.ab_winner_metric == WinnerMetric.CLICK else "converted"
    return Verdict(metric, variant_figures(campaign), list(variants))


def variant_figures(campaign: Campaign) -> dict[int, dict]:
    rows = (
        CampaignMessage.objects.filter(campaign=campaign, variant__isnull=False)
        .values("variant_id")
        .annotate(
            sent=Count("id", filter=Q(status__in=SENT_STATUSES)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
            converted=Count("id", filter=Q(converted_at__isnull=False)),
        )
    )
    return {row["variant_id"]: row for row in rows}


def decide_winner(campaign: Campaign, *, force=False, now=None) -> dict:
    """Pick the winner of the test and release the held rest to it. Before the test's time is
    up (`ab_test_hours` after the start) only with `force`. If the best variant is not
    significantly better than the runner-up (p >= 0.05), the first variant (the control) is
    kept. Raises IllegalTransition."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status != CampaignStatus.TESTING:
            raise IllegalTransition("This campaign has no A/B test waiting for a winner.")
        due = campaign.started_at + timezone.timedelta(hours=campaign.ab_test_hours)
        if now < due and not force:
            raise IllegalTransition(f"The test runs until {due:%Y-%m-%d %H:%M} UTC.")
        variants = list(campaign.variants.order_by("name"))
        verdict = judge(campaign, variants)
        winner = verdict.best if verdict.significant else variants[0]  # else the control
        campaign.variants.update(is_winner=False)
        campaign.variants.filter(pk=winner.pk).update(is_winner=True)
        released = campaign.messages.filter(status=MessageStatus.HELD).update(
            status=MessageStatus.QUEUED, variant=winner, template=winner.template, not_before=now
        )
        campaign.ab_result = {
            "metric": campaign.ab_winner_metric,
            "winner": winner.name,
            "significant": verdict.significant,
            "best": verdict.best.name,
            "runner_up": verdict.runner_up.name,
            **{k: round(v, 6) for k, v in asdict(verdict.test).items()},
            "released": released,
        }
        campaign.ab_decided_at = now
        campaign.status = CampaignStatus.SENDING
        campaign.save(update_fields=["ab_result", "ab_decided_at", "status"])
        after_commit(enqueue_due, campaign_id=campaign.pk)
    return campaign.ab_result


def decide_due_tests(now=None) -> int:
    now = now or timezone.now()
    decided = 0
    for campaign in Campaign.objects.filter(status=CampaignStatus.TESTING):
        if campaign.started_at + timezone.timedelta(hours=campaign.ab_test_hours) <= now:
            decide_winner(campaign, now=now)
            decided += 1
    return decided
