"""A/B tests: a two-proportion z-test on the stated metric, then the winner goes to the rest.

No scipy here: the normal CDF is Φ(z) = (1 + erf(z / √2)) / 2.
"""

import math
from dataclasses import asdict, dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from campaigns.errors import IllegalTransition
from campaigns.models import (
    SENT_STATUSES,
    Campaign,
    CampaignMessage,
    CampaignStatus,
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
    figures = variant_figures(campaign)
    metric = "clicked" if campaign.ab_winner_metric == WinnerMetric.CLICK else "converted"
    rows = []
    for position, variant in enumerate(variants):
        row = figures.get(variant.pk, {"sent": 0, metric: 0})
        low, high = wilson_interval(row[metric], row["sent"])
        rows.append(
            {
                "variant": variant,
                "is_control": position == 0,
                "sent": row["sent"],
                "successes": row[metric],
                "rate": row[metric] / row["sent"] if row["sent"] else 0.0,
                "low": low,
                "high": high,
                # The same three as percentages, as the page shows them.
                "percent": 100 * row[metric] / row["sent"] if row["sent"] else 0.0,
                "low_percent": 100 * low,
                "high_percent": 100 * high,
            }
        )
    ranked = sorted(rows, key=lambda r: (-r["rate"], r["variant"].name))
    best, runner_up = ranked[0], ranked[1] if len(ranked) > 1 else ranked[0]
    test = two_proportion_z_test(
        best["successes"], best["sent"], runner_up["successes"], runner_up["sent"]
    )
    return {
        "metric": metric,
        "rows": rows,
        "best": best,
        "runner_up": runner_up,
        "p_value": test.p_value,
        "significant": best is not runner_up and test.p_value < SIGNIFICANCE,
        "decided": campaign.ab_decided_at is not None,
    }


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
        figures = variant_figures(campaign)
        metric = "clicked" if campaign.ab_winner_metric == WinnerMetric.CLICK else "converted"

        def rate(variant):
            row = figures.get(variant.pk, {"sent": 0, metric: 0})
            return (row[metric] / row["sent"]) if row["sent"] else 0.0

        ranked = sorted(variants, key=lambda v: (-rate(v), v.name))
        control = variants[0]
        best, runner_up = ranked[0], ranked[1] if len(ranked) > 1 else ranked[0]
        a = figures.get(best.pk, {"sent": 0, metric: 0})
        b = figures.get(runner_up.pk, {"sent": 0, metric: 0})
        test = two_proportion_z_test(a[metric], a["sent"], b[metric], b["sent"])
        significant = best.pk != runner_up.pk and test.p_value < SIGNIFICANCE
        winner = best if significant else control
        campaign.variants.update(is_winner=False)
        campaign.variants.filter(pk=winner.pk).update(is_winner=True)
        released = campaign.messages.filter(status=MessageStatus.HELD).update(
            status=MessageStatus.QUEUED, variant=winner, template=winner.template, not_before=now
        )
        campaign.ab_result = {
            "metric": campaign.ab_winner_metric,
            "winner": winner.name,
            "significant": significant,
            "best": best.name,
            "runner_up": runner_up.name,
            **{k: round(v, 6) for k, v in asdict(test).items()},
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
