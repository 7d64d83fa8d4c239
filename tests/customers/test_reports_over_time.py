"""The reports over time against figures counted by hand on small data: monthly cohort
retention by number of channels, support percentiles per week with breaches per team and
agent and CSAT, campaigns per week with the attribution models side by side, and channel
journeys for a window the rollup does not keep. Through the reports' functions, their API
endpoints and their pages (charts, CSV, durations people read, Persian)."""

import csv
import io
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.factories import CampaignFactory, CampaignMessageFactory, MessageTemplateFactory
from campaigns.selectors.reports import attribution_over_time, campaign_weeks
from core.factories import demo_channels
from core.roles import MARKETER, SUPPORT_AGENT
from customers.factories import CustomerFactory
from customers.reports import add_months, month_of, retention_from_counts
from customers.services.rollups import (
    journeys_report,
    refresh_rollups,
    retention_report,
    support_report,
)
from orders.models import OrderStatus
from orders.reports import channel_journeys
from support.factories import ConversationFactory, TeamFactory
from support.models import Conversation, ConversationStatus, CsatResponse
from support.reports import support_over_time
from tests.customers.report_data import sale, touch
from tests.customers.test_reports_omnichannel import shop  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def at(day, hour=10):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def csv_rows(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def channels(db):
    return {channel.code: channel for channel in demo_channels()}


# --- retention: monthly cohorts by number of channels ---------------------------------


@pytest.fixture
def cohorts(channels):
    """Two months ago (M2) and last month (M1), this month (M0):

    P (web; 1 kind): first buys in M2, again in M1 and in M0.
    Q (web, store; 2 kinds): first buys in M2, never again.
    R (4 kinds; 3+): first buys in M2, again in M0.
    S (store; 1): first buys in M1, twice that month, again in M0.
    T (no channel on the profile: counted with one): first buys in M1.
    U (1): an order in M2 cancelled, first real purchase in M1.
    V (1): first bought fourteen months ago (outside the period), buys in M1.
    """
    current = month_of(timezone.localdate())
    m2, m1 = add_months(current, -2), add_months(current, -1)
    web, store = channels["web"], channels["store"]
    people = {
        "P": ["web"],
        "Q": ["store", "web"],
        "R": ["email", "sms", "store", "web"],
        "S": ["store"],
        "T": [],
        "U": ["web"],
        "V": ["web"],
    }
    people = {name: CustomerFactory(channels_used=used) for name, used in people.items()}
    for name, day, channel in (
        ("P", m2.replace(day=3), web),
        ("P", m1.replace(day=5), web),
        ("P", current, web),
        ("Q", m2.replace(day=10), store),
        ("R", m2.replace(day=12), web),
        ("R", current, store),
        ("S", m1.replace(day=2), store),
        ("S", m1.replace(day=20), store),
        ("S", current, store),
        ("T", m1.replace(day=15), web),
        ("U", m1.replace(day=8), web),
        ("V", add_months(current, -14).replace(day=4), web),
        ("V", m1.replace(day=9), web),
    ):
        sale(people[name], channel, at(day, 1 if day == current else 10), [])
    cancelled = sale(people["U"], web, at(m2.replace(day=20)), [])
    cancelled.status = OrderStatus.CANCELLED
    cancelled.save(update_fields=["status"])
    return m2, m1, current


EXPECTED_CURVES = {
    # group: (customers of the cohorts that reached month N, of them bought, share)
    1: ([4, 4, 1], [4, 2, 1], [1.0, 0.5, 1.0]),
    2: ([1, 1, 1], [1, 0, 0], [1.0, 0.0, 0.0]),
    3: ([1, 1, 1], [1, 0, 1], [1.0, 0.0, 1.0]),
}


def test_cohort_retention_curves_by_number_of_channels(cohorts):
    m2, m1, _current = cohorts
    for report in (retention_report(m2, timezone.localdate())[0],):
        assert report["months"] == [0, 1, 2]
        curves = {c["group"]: (c["customers"], c["active"], c["share"]) for c in report["curves"]}
        assert curves == EXPECTED_CURVES
        cells = {(row["month"], row["group"]): (row["customers"], row["active"]) for row in
                 report["cohorts"]}  # fmt: skip
        assert cells == {
            (m2, 1): (1, [1, 1, 1]),
            (m2, 2): (1, [1, 0, 0]),
            (m2, 3): (1, [1, 0, 1]),
            (m1, 1): (3, [3, 1]),
        }


def test_the_retention_rollup_answers_as_the_raw_rows(cohorts):
    m2, _m1, _current = cohorts
    today = timezone.localdate()
    raw, refreshed = retention_report(m2, today)
    assert refreshed is None
    refresh_rollups(since=m2 - timedelta(days=1), until=today)
    from_rollup, refreshed = retention_report(m2, today)
    assert refreshed is not None and from_rollup == raw
    # A period starting mid-month keeps only the cohort days in it: P's first day is the 3rd.
    assert {r["group"] for r in retention_report(m2.replace(day=4), today)[0]["cohorts"]
            if r["month"] == m2} == {2, 3}  # fmt: skip
    assert retention_from_counts({}, today=today) == {"months": [], "curves": [
        {"group": g, "customers": [], "active": [], "share": []} for g in (1, 2, 3)],
        "cohorts": []}  # fmt: skip


def test_retention_api_page_chart_and_csv(client, staff_in_role, api_client_for, cohorts):
    m2, m1, _current = cohorts
    response = api_client_for("customers:read").get("/api/v1/reports/retention")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["since"] <= m2.isoformat() and body["months"] == [0, 1, 2]
    curves = {c["channels"]: c for c in body["curves"]}
    assert curves["1"]["share"] == [1.0, 0.5, 1.0] and curves["3+"]["bought"] == [1, 0, 1]
    assert {"month": m1.isoformat(), "channels": "1", "customers": 3, "bought": [3, 1]} in (
        body["cohorts"]
    )
    assert api_client_for("orders:read").get("/api/v1/reports/retention").status_code == 403
    client.force_login(staff_in_role(MARKETER))
    page = client.get(reverse("reports:retention")).content.decode()
    assert 'data-chart="chart-data-retention-curves"' in page
    assert "3+ kinds of channel" in page and "Month 2" in page and "50" in page
    rows = csv_rows(
        client.get(reverse("reports:retention"), {"format": "csv", "chart": "retention-curves"})
    )
    assert rows[0] == ["channels", "cohort month", "customers", "months since first purchase",
                       "bought", "share"]  # fmt: skip
    assert ["1", m1.isoformat(), "3", "1", "1", "0.3333"] in rows
    assert ["3+", m2.isoformat(), "1", "2", "1", "1.0"] in rows
    client.cookies["django_language"] = "fa"
    page = client.get(reverse("reports:retention"), HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert "retention-curves" in page and "۵۰" in page


# --- support over time -------------------------------------------------------------------


@pytest.fixture
def support_weeks(channels, staff_in_role):
    """Two weeks: W1 (three conversations), W2 (one), with their times, SLA and CSAT."""
    w1 = timezone.localdate() - timedelta(days=timezone.localdate().weekday() + 14)
    w2 = w1 + timedelta(days=7)
    front, back = TeamFactory(name="Front"), TeamFactory(name="Back")
    alice = staff_in_role(SUPPORT_AGENT, username="alice")
    bob = staff_in_role(SUPPORT_AGENT, username="bob")
    email = channels["email"]
    made = []
    for day, frt, resolution, team, agent, sla, breach in (
        (w1 + timedelta(days=1), 60, 3600, front, alice, True, "first_response_breached"),
        (w1 + timedelta(days=2), 180, 7200, front, bob, True, None),
        (w1 + timedelta(days=3), 300, None, back, None, False, None),
        (w2 + timedelta(days=1), 600, 12000, back, alice, True, "resolution_breached"),
    ):
        conversation = ConversationFactory(
            started_channel=email,
            created_at=at(day),
            first_response_seconds=frt,
            resolution_seconds=resolution,
            resolved_at=at(day) + timedelta(seconds=resolution) if resolution else None,
            status=ConversationStatus.RESOLVED if resolution else ConversationStatus.OPEN,
            team=team,
            assignee=agent,
            first_response_due_at=at(day) + timedelta(hours=1) if sla else None,
            **({breach: True} if breach else {}),
        )
        made.append(conversation)
    for conversation, rating in ((made[0], 5), (made[1], 2), (made[3], 4)):
        CsatResponse.objects.create(
            conversation=conversation,
            rating=rating,
            agent=conversation.assignee,
            team=conversation.team,
            created_at=conversation.created_at + timedelta(hours=5),
        )
    return w1, w2


def test_support_percentiles_breaches_and_csat_per_week_team_and_agent(support_weeks):
    w1, w2 = support_weeks
    report = support_over_time(w1, w2 + timedelta(days=6))
    weeks = {row["week"]: row for row in report["weeks"]}
    assert list(weeks) == [w1, w2]
    first = weeks[w1]
    assert (first["conversations"], first["with_sla"], first["breached"]) == (3, 2, 1)
    assert (first["frt_p50"], first["frt_p90"]) == (180, pytest.approx(276))
    assert (first["resolution_p50"], first["resolution_p90"]) == (5400, pytest.approx(6840))
    assert first["breach_rate"] == 0.5
    assert (first["csat_count"], first["csat_satisfied"], first["csat_share"]) == (2, 1, 0.5)
    assert float(first["csat_average"]) == 3.5
    second = weeks[w2]
    assert (second["frt_p50"], second["resolution_p90"], second["breach_rate"]) == (600, 12000, 1)
    assert second["csat_share"] == 1.0
    teams = {row["group"]: row for row in report["teams"]}
    assert (teams["Front"]["with_sla"], teams["Front"]["breach_rate"]) == (2, 0.5)
    assert (teams["Back"]["with_sla"], teams["Back"]["breach_rate"]) == (1, 1.0)
    agents = {row["group"]: row for row in report["agents"]}
    assert agents["alice"]["breach_rate"] == 1.0 and agents["bob"]["breach_rate"] == 0.0
    assert agents[None]["breach_rate"] is None
    assert report["overall"]["conversations"] == 4
    # A period of the second week only.
    only = support_over_time(w2, w2 + timedelta(days=6))
    assert [row["conversations"] for row in only["weeks"]] == [1]


def test_support_api_and_page_in_human_durations(client, staff_in_role, api_client_for,
                                                 support_weeks):  # fmt: skip
    w1, w2 = support_weeks
    period = {"since": w1.isoformat(), "until": (w2 + timedelta(days=6)).isoformat()}
    response = api_client_for("support:read").get("/api/v1/reports/support", period)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["weeks"][0]["first_response_p50"] == 180
    assert body["weeks"][1]["resolution_p50"] == 12000
    assert {t["name"]: t["breach_rate"] for t in body["teams"]} == {"Back": 1.0, "Front": 0.5}
    assert body["overall"]["csat_answers"] == 3
    assert api_client_for("customers:read").get("/api/v1/reports/support").status_code == 403
    client.force_login(staff_in_role(SUPPORT_AGENT))
    page = client.get(reverse("reports:support"), period).content.decode()
    for key in ("support-first-response-weeks", "support-resolution-weeks",
                "support-breach-weeks", "support-team-breaches"):  # fmt: skip
        assert f'data-chart="chart-data-{key}"' in page, key
    assert "3 h 20 min" in page  # the second week's resolution, 12,000 s
    rows = csv_rows(client.get(reverse("reports:support"),
                               {**period, "format": "csv", "chart": "support-team-breaches"}))  # fmt: skip
    assert ["Front", "2", "1", "0.5"] in rows
    page = client.get(reverse("reports:support"), period, HTTP_ACCEPT_LANGUAGE="fa")
    text = page.content.decode()
    assert "۳" in text and "3 h 20 min" not in text


SUPPORT_FIELDS = ("conversations", "with_sla", "breached", "resolved", "frt_p50", "frt_p90",
                  "resolution_p50", "resolution_p90", "breach_rate", "csat_count",
                  "csat_satisfied", "csat_share", "csat_average")  # fmt: skip


def support_figures(row):
    counts = ("conversations", "with_sla", "breached", "resolved", "csat_count", "csat_satisfied")
    return {
        field: row.get(field, 0 if field in counts else None)
        if row.get(field) is None
        else pytest.approx(float(row[field]))
        for field in SUPPORT_FIELDS
    }


def test_support_from_the_daily_rollup_as_from_the_raw_rows_and_after_a_late_resolution(
    support_weeks,
):
    w1, w2 = support_weeks
    until = w2 + timedelta(days=6)
    refresh_rollups(since=w1 - timedelta(days=1), until=timezone.localdate())
    report, when = support_report(w1, until)
    assert when is not None  # read from the rollup
    raw = support_over_time(w1, until)
    assert [support_figures(r) for r in report["weeks"]] == [
        support_figures(r) for r in raw["weeks"]
    ]
    for part in ("teams", "agents"):
        assert {r["group"]: support_figures(r) for r in report[part]} == {
            r["group"]: support_figures(r) for r in raw[part]
        }, part
    assert support_figures(report["overall"]) == support_figures(raw["overall"])
    first = report["weeks"][0]
    assert (first["frt_p50"], first["frt_p90"]) == (180, pytest.approx(276))
    assert (first["resolution_p50"], first["resolution_p90"]) == (5400, pytest.approx(6840))
    assert (first["csat_share"], first["csat_average"]) == (0.5, 3.5)
    # The first week's open conversation is resolved in 30 minutes, long after its day: the
    # beat's refresh finds it by the time its service stamped on it.
    late = Conversation.objects.get(resolution_seconds__isnull=True)
    Conversation.objects.filter(pk=late.pk).update(
        resolution_seconds=1800, resolved_at=late.created_at + timedelta(minutes=30),
        status=ConversationStatus.RESOLVED, updated_at=timezone.now(),
    )  # fmt: skip
    assert support_report(w1, until)[0]["weeks"][0]["resolved"] == 2  # not refreshed yet
    refresh_rollups()
    first = support_report(w1, until)[0]["weeks"][0]
    # 1800, 3600 and 7200 seconds: p50 the middle one, p90 3600 + 0.8 x 3600.
    assert first["resolved"] == 3
    assert (first["resolution_p50"], first["resolution_p90"]) == (3600, pytest.approx(6480))
    assert support_figures(first) == support_figures(support_over_time(w1, until)["weeks"][0])


# --- campaigns over time ---------------------------------------------------------------


@pytest.fixture
def campaign_weeks_data(channels):
    """W1: K touched by email then Instagram, buys 90 EUR on the web (order O-1), which
    converts the Spring campaign's message of variant A; variant B's message is sent in W1
    and opened in W2. W2: L buys 30 USD in store with no touch before."""
    w1 = timezone.localdate() - timedelta(days=timezone.localdate().weekday() + 7)
    w2 = w1 + timedelta(days=7)
    k, buyer = CustomerFactory(), CustomerFactory()
    touch(k, channels["email"], at(w1, 9))
    touch(k, channels["instagram"], at(w1 + timedelta(days=1), 9))
    touch(k, channels["web"], at(w1 + timedelta(days=2)), "order_completed",
          order_id="O-1", total="90.00", currency="EUR")  # fmt: skip
    touch(buyer, channels["store"], at(w2 + timedelta(days=1)), "order_completed",
          order_id="O-2", total="30.00", currency="USD")  # fmt: skip
    campaign = CampaignFactory(
        name="Spring", templates=[MessageTemplateFactory(), MessageTemplateFactory()]
    )
    a, b = campaign.variants.order_by("name")
    CampaignMessageFactory(
        campaign=campaign, variant=a, customer=k, sent_at=at(w1, 8), opened_at=at(w1, 11),
        clicked_at=at(w1 + timedelta(days=1), 8), converted_at=at(w1 + timedelta(days=2)),
        revenue=Decimal("90.00"), conversion_order="O-1", status="converted",
    )  # fmt: skip
    CampaignMessageFactory(campaign=campaign, variant=b, sent_at=at(w1, 8),
                           opened_at=at(w2, 12))  # fmt: skip
    return w1, w2


def test_campaigns_per_week_and_attribution_models_side_by_side(campaign_weeks_data):
    w1, w2 = campaign_weeks_data
    since, until = at(w1, 0), at(w2 + timedelta(days=7), 0)
    rows = {(r["week"], r["variant"]): r for r in campaign_weeks(since=since, until=until)}
    assert set(rows) == {(w1, "A"), (w1, "B"), (w2, "B")}
    a = rows[(w1, "A")]
    assert (a["sent"], a["opened"], a["clicked"], a["converted"]) == (1, 1, 1, 1)
    assert a["revenue"] == {"EUR": Decimal("90.00")}
    assert (rows[(w1, "B")]["sent"], rows[(w1, "B")]["opened"]) == (1, 0)
    assert (rows[(w2, "B")]["sent"], rows[(w2, "B")]["opened"]) == (0, 1)
    weeks = attribution_over_time(since=since, until=until)["weeks"]
    assert weeks["first_touch"]["EUR"] == {w1: {"email": Decimal("90.00")}}
    assert weeks["last_touch"]["EUR"] == {w1: {"instagram": Decimal("90.00")}}
    assert weeks["linear"]["EUR"] == {
        w1: {"email": Decimal("45.00"), "instagram": Decimal("45.00")}
    }
    for model in ("first_touch", "last_touch", "linear"):
        assert weeks[model]["USD"] == {w2: {"store": Decimal("30.00")}}


def test_campaigns_api_and_page(client, staff_in_role, api_client_for, campaign_weeks_data):
    w1, w2 = campaign_weeks_data
    period = {"since": w1.isoformat(), "until": (w2 + timedelta(days=6)).isoformat()}
    response = api_client_for("campaigns:read").get("/api/v1/reports/campaigns", period)
    assert response.status_code == 200, response.content
    body = response.json()
    assert {"week": w1.isoformat(), "currency": "EUR", "channel": "email",
            "first_touch": "90.00", "last_touch": "0.00", "linear": "45.00"} in body["attribution"]  # fmt: skip
    spring_a = next(r for r in body["weeks"] if r["variant"] == "A")
    assert spring_a["revenue"] == {"EUR": "90.00"} and spring_a["converted"] == 1
    assert api_client_for("customers:read").get("/api/v1/reports/campaigns").status_code == 403
    client.force_login(staff_in_role(MARKETER))
    page = client.get(reverse("reports:campaigns"), period).content.decode()
    for key in ("campaign-weeks", "campaign-revenue-eur", "attribution-weeks-eur",
                "attribution-usd"):  # fmt: skip
        assert f'data-chart="chart-data-{key}"' in page, key
    rows = csv_rows(client.get(reverse("reports:campaigns"),
                               {**period, "format": "csv", "chart": "attribution-weeks-eur"}))  # fmt: skip
    assert rows[0] == ["week", "channel", "First touch", "Last touch", "Linear"]
    assert [w1.isoformat(), "instagram", "0", "90.00", "45.00"] in rows


# --- journeys in any window, from the rollup of each purchase's runs -------------------


@pytest.fixture
def runs(channels):
    """Purchases two days ago (in store unless said), with touches before them:

    H: web 40 days before, Instagram 20, web 6 and 1 (one run of web).
    J: app 7 days and a minute before, email exactly 7 days before.
    K: SMS 25, web 20, app 15, Instagram 10, web 5, a store visit 3 days before (six runs).
    L: buys by phone, no touch.
    M: buys on the web after an app view 40 days before and a web view 2 days before.
    """
    bought = timezone.now() - timedelta(days=2)
    c = channels
    before = {
        "H": [("web", 40), ("instagram", 20), ("web", 6), ("web", 1)],
        "J": [("app", timedelta(days=7, minutes=1)), ("email", 7)],
        "K": [("sms", 25), ("web", 20), ("app", 15), ("instagram", 10), ("web", 5), ("store", 3)],
        "L": [],
        "M": [("app", 40), ("web", 2)],
    }
    bought_in = {"L": "phone", "M": "web"}
    for name, touches in before.items():
        customer = CustomerFactory()
        for code, days in touches:
            gap = days if isinstance(days, timedelta) else timedelta(days=days)
            touch(customer, c[code], bought - gap)
        sale(customer, c[bought_in.get(name, "store")], bought, [])
    today = timezone.localdate()
    return today - timedelta(days=10), today


# Counted by hand from the fixture's docstring.
RUNS_30_DAYS = {
    ("instagram", "web", "store"): 1,  # H: the web view 40 days before is outside
    ("mobile_app", "email", "store"): 1,  # J
    ("mobile_app", "instagram", "web", "store"): 1,  # K: the last four (its store visit last)
    ("phone",): 1,  # L
    ("web",): 1,  # M: the web view, then the web purchase: one step
}
RUNS_7_DAYS = {
    ("web", "store"): 2,  # H (web 6 and 1 days before), K (web 5, store visit 3)
    ("email", "store"): 1,  # J: email exactly 7 days before counts, the app a minute more not
    ("phone",): 1,
    ("web",): 1,
}


def journeys_of(report):
    return {tuple(row["steps"]): row["purchases"] for row in report["journeys"]}


def test_journeys_in_a_7_and_a_30_day_window_from_the_raw_rows_and_from_the_rollup(runs):
    since, until = runs
    for days, expected in ((30, RUNS_30_DAYS), (7, RUNS_7_DAYS)):
        raw = channel_journeys(since, until, days=days)
        assert journeys_of(raw) == expected, days
        assert (raw["purchases"], raw["multichannel"]) == (5, 3)
    refresh_rollups(since=since - timedelta(days=1), until=until)
    for days, expected in ((30, RUNS_30_DAYS), (7, RUNS_7_DAYS)):
        report, refreshed = journeys_report(since, until, days=days)
        assert refreshed is not None  # read from the rollup, not the raw rows
        assert journeys_of(report) == expected, days
        assert (report["purchases"], report["multichannel"], report["days"]) == (5, 3, days)
    # Every window is the raw rows' answer, at each edge of the fixture's touches.
    for days in (1, 2, 3, 4, 5, 6, 8, 9, 10, 15, 19, 20, 21, 25, 39, 40, 41, 365):
        assert journeys_report(since, until, days=days)[0] == channel_journeys(
            since, until, days=days
        ), days


def test_journeys_for_another_window_are_read_from_the_rollup(client, staff_in_role,
                                                              api_client_for, shop):  # noqa: F811  # fmt: skip
    since, until = shop
    refresh_rollups(since=since - timedelta(days=1), until=until)
    week = {
        ("web", "store"): 1,
        ("store",): 2,
        ("phone",): 1,
        ("mobile_app", "store"): 1,
        ("web",): 1,
    }  # fmt: skip  (A's Instagram touch and B's app view are 8 and 10 days before)
    report, when = journeys_report(since, until, days=7)
    assert when is not None
    assert journeys_of(report) == week
    assert (report["purchases"], report["multichannel"], report["days"]) == (6, 2, 7)
    response = api_client_for("customers:read").get(
        "/api/v1/reports/journeys", {"since": since.isoformat(), "days": 7}
    )
    assert response.json()["multichannel"] == 2 and response.json()["days"] == 7
    client.force_login(staff_in_role(MARKETER))
    page = client.get(reverse("reports:journeys"), {"since": since.isoformat(), "days": 7})
    assert "Figures refreshed" in page.content.decode()
    rows = csv_rows(client.get(reverse("reports:journeys"), {"since": since.isoformat(),
                    "days": 7, "format": "csv", "chart": "journeys"}))  # fmt: skip
    assert ["store", "2"] in rows and ["web > store", "1"] in rows
