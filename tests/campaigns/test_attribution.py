"""Attribution models and reports on a constructed history, and the audience export."""

import csv
import hashlib
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.factories import (
    CampaignFactory,
    CampaignMessageFactory,
    MessageTemplateFactory,
    SegmentFactory,
)
from campaigns.models import CampaignMessage, CampaignVariant
from campaigns.selectors import reports
from campaigns.services.tracking import poll_conversions
from core.factories import ChannelFactory
from customers.factories import CustomerFactory, EventFactory, IdentityFactory
from customers.models import Event

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def ago(**kwargs):
    return NOW - timedelta(**kwargs)


@pytest.fixture
def history(channels):
    """Sara: ad (day 10), email (day 5), web (day 2), store order 300 (day 1).
    Reza: store order 100 (day 1) with no touch before it.
    Mina: web visit 40 days ago (outside the 30-day lookback), store order 60 (day 3)."""
    web, store = channels["web"], channels["store"]

    ads = ChannelFactory(code="ads", kind="ads")
    sara, reza, mina = (CustomerFactory(first_name=n) for n in ("Sara", "Reza", "Mina"))
    EventFactory(customer=sara, name="ad_clicked", channel=ads, occurred_at=ago(days=10))
    EventFactory(
        customer=sara, name="message_clicked", channel=channels["email"], occurred_at=ago(days=5)
    )
    EventFactory(customer=sara, name="page_viewed", channel=web, occurred_at=ago(days=2))
    EventFactory(
        customer=sara,
        name="order_completed",
        channel=store,
        occurred_at=ago(days=1),
        properties={"order_id": "S1", "total": "300"},
    )
    EventFactory(
        customer=reza,
        name="order_completed",
        channel=store,
        occurred_at=ago(days=1),
        properties={"order_id": "R1", "total": 100},
    )
    EventFactory(customer=mina, name="page_viewed", channel=web, occurred_at=ago(days=40))
    EventFactory(
        customer=mina,
        name="order_completed",
        channel=store,
        occurred_at=ago(days=3),
        properties={"order_id": "M1", "total": 60},
    )
    return sara, reza, mina


def test_first_last_and_linear_touch(history):
    window = {"since": ago(days=30), "until": NOW, "lookback_days": 30}
    assert reports.channel_attribution(model="first_touch", **window) == {
        "USD": {"ads": Decimal("300.00"), "store": Decimal("160.00")},
    }
    assert reports.channel_attribution(model="last_touch", **window) == {
        "USD": {"store": Decimal("160.00"), "web": Decimal("300.00")},
    }
    assert reports.channel_attribution(model="linear", **window) == {
        "USD": {
            "ads": Decimal("100.00"),
            "email": Decimal("100.00"),
            "store": Decimal("160.00"),
            "web": Decimal("100.00"),
        },
    }


def test_share_of_store_purchases_after_an_online_touch(history):
    figures = reports.store_purchases_after_online_touch(since=ago(days=30), until=NOW)
    assert figures["store_purchases"] == 3 and figures["after_online_touch"] == 1
    assert figures["share"] == pytest.approx(1 / 3, abs=1e-4)
    wider = reports.store_purchases_after_online_touch(
        since=ago(days=30), until=NOW, lookback_days=60
    )
    assert wider["after_online_touch"] == 2


def test_a_store_order_converts_the_last_message_within_the_window(channels):
    sara = CustomerFactory()
    campaign = CampaignFactory(channel=channels["email"], attribution_window_days=7)
    old = CampaignMessageFactory(
        campaign=campaign, customer=sara, channel=channels["email"], sent_at=ago(days=20)
    )
    other = CampaignFactory(channel=channels["sms"], attribution_window_days=7)
    recent = CampaignMessageFactory(
        campaign=other, customer=sara, channel=channels["sms"], sent_at=ago(days=2)
    )
    EventFactory(
        customer=sara,
        name="order_completed",
        channel=channels["store"],
        occurred_at=ago(days=1),
        properties={"order_id": "ST-1", "total": "80.50"},
    )
    assert poll_conversions() == 1
    assert poll_conversions() == 0  # read again: nothing converts twice
    recent.refresh_from_db()
    old.refresh_from_db()
    assert recent.status == "converted" and recent.revenue == Decimal("80.50")
    assert recent.conversion_order == "ST-1" and old.converted_at is None
    results = reports.campaign_results(other)
    # The order names no currency: the default one.
    assert results["total"]["converted"] == 1 and results["total"]["revenue"] == {"USD": "80.50"}

    assert Event.objects.filter(customer=sara, name="message_converted").count() == 1


def test_campaign_page_shows_revenue_per_currency_of_the_converting_orders(
    client, staff_in_role, channels, settings
):
    settings.DEFAULT_CURRENCY = "USD"
    campaign = CampaignFactory(channel=channels["email"])
    for order, total, currency in (("W-1", "2500000", "IRR"), ("W-2", "40.00", "USD")):
        customer = CustomerFactory()
        CampaignMessageFactory(
            campaign=campaign, customer=customer, channel=channels["email"], sent_at=ago(days=2)
        )
        EventFactory(
            customer=customer,
            name="order_completed",
            channel=channels["web"],
            occurred_at=ago(days=1),
            properties={"order_id": order, "total": total, "currency": currency},
        )
    assert poll_conversions() == 2
    results = reports.campaign_results(campaign)
    assert results["total"]["revenue"] == {"IRR": "2500000.00", "USD": "40.00"}
    client.force_login(staff_in_role("Marketer"))
    page = client.get(f"/campaigns/campaigns/{campaign.pk}/").content.decode()
    total_row = page.split('<tr class="total">', 1)[1].split("</tr>", 1)[0]
    # Each currency on its own, as amounts are shown everywhere: never one sum of both.
    assert "<bdi>2,500,000 Rial</bdi>" in total_row and "<bdi>40.00 USD</bdi>" in total_row
    assert "2500040" not in page


def test_results_per_variant(channels):
    campaign = CampaignFactory(channel=channels["email"], templates=None)

    b = CampaignVariant.objects.create(
        campaign=campaign, name="B", template=MessageTemplateFactory()
    )
    a = campaign.variants.get(name="A")
    for variant, opened, clicked in ((a, 3, 1), (b, 4, 3)):
        for index in range(5):
            CampaignMessageFactory(
                campaign=campaign,
                variant=variant,
                channel=channels["email"],
                opened_at=NOW if index < opened else None,
                clicked_at=NOW if index < clicked else None,
            )
    CampaignMessage.objects.filter(variant=b).first().__class__.objects.filter(
        pk=CampaignMessage.objects.filter(variant=b).first().pk
    ).update(unsubscribed_at=NOW)
    results = reports.campaign_results(campaign)
    by_name = {row["variant"]: row for row in results["variants"]}
    assert by_name["A"]["opened"] == 3 and by_name["A"]["clicked"] == 1
    assert by_name["B"]["clicked"] == 3 and by_name["B"]["unsubscribes"] == 1
    assert by_name["B"]["click_rate"] == 0.6
    assert results["total"]["sent"] == 10


def test_audience_export_is_sha256_of_normalised_email_and_phone(channels):
    sara = CustomerFactory()
    IdentityFactory(customer=sara, kind="email", value="sara@example.com")
    IdentityFactory(customer=sara, kind="phone", value="+989121234567")
    reza = CustomerFactory()
    IdentityFactory(customer=reza, kind="phone", value="+989351112222")
    CustomerFactory()  # no email or phone: not in the file
    segment = SegmentFactory(rules={})
    rows = list(csv.reader(io.StringIO(reports.audience_csv(segment))))
    assert rows[0] == ["email", "phone"]
    digest = lambda v: hashlib.sha256(v.encode()).hexdigest()  # noqa: E731
    assert sorted(rows[1:]) == sorted(
        [
            [digest("sara@example.com"), digest("+989121234567")],
            ["", digest("+989351112222")],
        ]
    )


def test_attribution_page_keeps_each_currency_apart(client, staff_in_role, channels):
    """An IRR marketplace order and a USD web order are two tables, never one sum."""

    market = ChannelFactory(code="market-ir", kind="marketplace", currency="IRR")
    buyer, other = CustomerFactory(), CustomerFactory()
    EventFactory(
        customer=buyer,
        name="order_completed",
        channel=market,
        occurred_at=ago(days=2),
        properties={"order_id": "IR1", "total": "5000000.00", "currency": "IRR"},
    )
    EventFactory(
        customer=other,
        name="order_completed",
        channel=channels["web"],
        occurred_at=ago(days=2),
        properties={"order_id": "US1", "total": "56.00", "currency": "USD"},
    )
    client.force_login(staff_in_role("Marketer"))
    html = client.get("/campaigns/attribution/", {"days": "soon"}).content.decode()
    assert 'data-currency="IRR"' in html and 'data-currency="USD"' in html
    assert "5000000.00 IRR" in html and "56.00 USD" in html
    assert "5000056" not in html
    assert "First touch" in html and "first_touch" not in html.split("<h1>")[1]
    assert "Marketplace" in html
