"""The demo's stage for the dashboards and reports: the random demo orders (all placed while
seeding) are spread over the last four weeks, each one's research-online events moved with
it, and some store buyers get an Instagram touch before their web visit, so the sales
charts have days, the ROPO report has store purchases after web views and the journeys
report has multi-channel journeys. Then the daily rollups are refreshed."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.demo import register_stage
from core.models import Channel
from customers.services import backdate_event, record_event
from customers.services.rollups import refresh_rollups
from orders.models import Order


@register_stage("orders.report_history", order=55, label="Report history")
def spread_orders_over_weeks(ctx):
    orders = list(
        Order.objects.filter(external_id__startswith="demo-", placed_at__gte=_seeded_since())
        .select_related("channel")
        .order_by("id")
    )
    instagram = Channel.objects.filter(kind="instagram").first()
    moved = 0
    with transaction.atomic():
        for order in orders:
            index = order.external_id.rsplit("-", 1)[-1]
            back = timedelta(days=ctx.random.randint(0, 27), hours=ctx.random.randint(0, 8))
            Order.objects.filter(pk=order.pk).update(placed_at=order.placed_at - back)
            research = backdate_event(f"demo-research-{index}", back)
            if research is None:
                continue
            if instagram is not None and ctx.random.random() < 0.5:
                record_event(
                    order.customer,
                    "ad_clicked",
                    channel=instagram,
                    occurred_at=research.occurred_at - timedelta(days=2),
                    properties={"campaign_id": "aria-launch"},
                    message_id=f"demo-journey-{index}",
                    source="demo",
                )
            moved += 1
    refresh_rollups(since=_seeded_since().date() - timedelta(days=30))
    ctx.created("store purchases researched online", moved)


def _seeded_since():
    # Orders the demo placed in this run: the random ones are all placed "now".
    return timezone.now() - timedelta(hours=6)
