"""Segments synced to ad platforms as hashed audiences, against local servers speaking the
Google Ads REST and Meta Graph shapes (tests/campaigns/ad_platform_servers.py): only members
who consent to marketing go, each sync sends only the difference, a withdrawal or an erasure
sends her removal at once, a platform that is down loses nothing, a refused list is shown to
staff; store purchases after an ad click are uploaded once; the hashed CSV holds no PII."""

import csv
import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from campaigns.demo_ad_audiences import seed_ad_audiences
from campaigns.factories import CampaignMessageFactory, SegmentFactory
from campaigns.models import (
    AdAudience,
    AdAudienceMember,
    AdAudienceSync,
    AdConversionUpload,
    ConversionStatus,
    SyncStatus,
)
from campaigns.services.ad_audiences import (
    email_digest,
    note_conversions,
    phone_digest,
    sync_audience,
    upload_conversions,
)
from campaigns.services.defaults import install_defaults
from campaigns.services.links import unsubscribe_url
from campaigns.tasks import sync_ad_audiences
from catalog.factories import listed_product
from core.demo import DemoContext
from core.factories import ChannelFactory
from core.roles import MARKETER, SUPPORT_AGENT
from customers.factories import customer_with
from customers.services import record_consent, record_event
from inventory.factories import LocationFactory, receive_stock
from orders.factories import placed_order
from tests.campaigns.ad_platform_servers import (
    META_DOWN,
    META_RATE_LIMITED,
    RATE_LIMITED,
    UNAVAILABLE,
    GoogleAdsServer,
    MetaServer,
)

pytestmark = pytest.mark.django_db(transaction=True)

USER_LIST = "5550001"
META_AUDIENCE = "23850000000001"


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def google(settings):
    server = GoogleAdsServer()
    settings.GOOGLE_ADS_API_BASE = server.url
    settings.GOOGLE_ADS_API_VERSION = server.VERSION
    settings.GOOGLE_ADS_ACCESS_TOKEN = server.token
    settings.GOOGLE_ADS_DEVELOPER_TOKEN = server.developer_token
    settings.GOOGLE_ADS_CUSTOMER_ID = "123-456-7890"
    settings.GOOGLE_ADS_CONVERSION_ACTION_ID = "777"
    yield server
    server.close()


@pytest.fixture
def meta(settings):
    server = MetaServer()
    settings.META_GRAPH_API_BASE = server.url
    settings.META_GRAPH_API_VERSION = server.VERSION
    settings.META_ACCESS_TOKEN = server.token
    settings.META_DATASET_ID = "998877"
    yield server
    server.close()


def consenting(email, phone=None, kind="email"):
    identities = [("email", email)] + ([("phone", phone)] if phone else [])
    customer = customer_with(*identities, first_name=email.split("@")[0].title())
    record_consent(customer, channel_kind=kind, purpose="marketing", granted=True)
    return customer


def audience_for(platform, external_id, segment=None):
    return AdAudience.objects.create(
        segment=segment or SegmentFactory(name="Everyone"),
        platform=platform,
        external_id=external_id,
    )


def test_a_sync_sends_consenting_members_hashed_and_a_second_sends_nothing(google):
    consenting("  Sara@Example.com ", "+98 912 123 4567")
    customer_with(("email", "bob@example.com"))  # no marketing consent: never sent
    audience = audience_for("google_ads", USER_LIST)

    call_command("sync_ad_audiences", "--audience", str(audience.pk), stdout=io.StringIO())

    assert google.members[USER_LIST] == {
        ("email", sha("sara@example.com")),
        ("phone", sha("+989121234567")),
    }
    create = [body for method, path, body in google.requests if path.endswith(":create")]
    assert create[0]["job"]["customerMatchUserListMetadata"]["userList"] == (
        f"customers/1234567890/userLists/{USER_LIST}"
    )
    requests_after_first = len(google.requests)
    audience.refresh_from_db()
    assert audience.last_synced_at is not None and audience.last_error == ""

    call_command("sync_ad_audiences", "--audience", str(audience.pk), stdout=io.StringIO())

    assert len(google.requests) == requests_after_first  # nothing new: nothing sent
    assert audience.syncs.first().status == SyncStatus.SUCCEEDED
    assert AdAudienceMember.objects.filter(audience=audience).count() == 2


def test_a_dry_run_counts_and_sends_nothing(google):
    consenting("sara@example.com")
    audience = audience_for("google_ads", USER_LIST)
    out = io.StringIO()

    call_command("sync_ad_audiences", "--dry-run", stdout=out)

    assert google.requests == []
    assert "1 added" in out.getvalue()
    assert not AdAudienceMember.objects.filter(audience=audience).exists()


def test_withdrawing_consent_through_the_api_removes_her_hash_at_once(meta, api_client_for):
    sara = consenting("sara@example.com")
    consenting("kian@example.com")
    audience = audience_for("meta", META_AUDIENCE)
    sync_audience(audience.pk)
    assert ("email", sha("sara@example.com")) in meta.audiences[META_AUDIENCE]
    client = api_client_for("customers:write")

    response = client.post(
        f"/api/v1/customers/{sara.public_id}/consents",
        json.dumps({"channel": "email", "purpose": "marketing", "status": "withdrawn"}),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    # The removal went out with the withdrawal, not at the next scheduled sync.
    assert meta.removed == [(META_AUDIENCE, "email", sha("sara@example.com"))]
    assert meta.audiences[META_AUDIENCE] == {("email", sha("kian@example.com"))}
    delete = [body for method, path, body in meta.requests if method == "DELETE"]
    assert json.loads(delete[0]["payload"]) == {
        "schema": ["EMAIL_SHA256"],
        "data": [[sha("sara@example.com")]],
    }
    assert audience.syncs.first().reason == "consent withdrawn"


@pytest.mark.postgres
def test_an_erased_customer_is_removed_from_the_synced_audiences(google, meta, api_client_for):
    sara = consenting("sara@example.com", "+989121234567")
    consenting("kian@example.com")
    segment = SegmentFactory(name="Everyone")
    on_google = audience_for("google_ads", USER_LIST, segment)
    on_meta = audience_for("meta", META_AUDIENCE, segment)
    call_command("sync_ad_audiences", stdout=io.StringIO())
    her_hashes = {("email", sha("sara@example.com")), ("phone", sha("+989121234567"))}
    assert her_hashes <= google.members[USER_LIST]
    assert her_hashes <= meta.audiences[META_AUDIENCE]

    erased = api_client_for("customers:write").post(f"/api/v1/customers/{sara.public_id}/erase")

    assert erased.status_code == 200, erased.content
    assert {(kind, digest) for _list, kind, digest in google.removed} == her_hashes
    assert {(kind, digest) for _list, kind, digest in meta.removed} == her_hashes
    assert google.members[USER_LIST] == {("email", sha("kian@example.com"))}
    assert meta.audiences[META_AUDIENCE] == {("email", sha("kian@example.com"))}
    # Her hashes were kept only until the removal went out.
    assert not AdAudienceMember.objects.filter(digest__in=[d for _k, d in her_hashes]).exists()
    assert AdAudienceMember.objects.filter(audience__in=[on_google, on_meta]).count() == 2
    before = (len(google.requests), len(meta.requests))
    call_command("sync_ad_audiences", stdout=io.StringIO())
    assert (len(google.requests), len(meta.requests)) == before


@pytest.mark.parametrize("failure", [RATE_LIMITED, UNAVAILABLE], ids=["429", "503"])
def test_a_busy_google_is_tried_again_later_and_nothing_is_lost(google, failure):
    consenting("sara@example.com")
    audience = audience_for("google_ads", USER_LIST)
    sync_audience(audience.pk)
    consenting("kian@example.com")
    google.fail_next.append(failure)

    run = sync_audience(audience.pk)

    assert run.status == SyncStatus.RETRYING
    audience.refresh_from_db()
    assert failure[1]["error"]["status"] in audience.last_error
    assert set(AdAudienceMember.objects.values_list("digest", flat=True)) == {
        sha("sara@example.com")
    }

    run = sync_audience(audience.pk, reason="retry")

    assert run.status == SyncStatus.SUCCEEDED and run.added == 1
    assert google.members[USER_LIST] == {
        ("email", sha("sara@example.com")),
        ("email", sha("kian@example.com")),
    }
    audience.refresh_from_db()
    assert audience.last_error == ""


@pytest.mark.parametrize("failure", [META_RATE_LIMITED, META_DOWN], ids=["80003", "500"])
def test_a_busy_meta_keeps_what_was_sent_before_the_failure(meta, failure):
    consenting("sara@example.com")
    audience = audience_for("meta", META_AUDIENCE)
    meta.fail_next.append(failure)

    assert sync_audience(audience.pk).status == SyncStatus.RETRYING
    assert not AdAudienceMember.objects.exists()

    assert sync_audience(audience.pk).status == SyncStatus.SUCCEEDED
    assert meta.audiences[META_AUDIENCE] == {("email", sha("sara@example.com"))}


def test_a_refused_list_is_recorded_on_the_audience_and_shown_to_staff(
    google, client, staff_in_role
):
    consenting("sara@example.com")
    audience = audience_for("google_ads", "404404")

    with pytest.raises(CommandError):
        call_command("sync_ad_audiences", stdout=io.StringIO())

    audience.refresh_from_db()
    assert "INVALID_USER_LIST_ID" in audience.last_error
    assert audience.syncs.first().status == SyncStatus.FAILED
    assert not AdAudienceMember.objects.exists()
    client.force_login(staff_in_role(MARKETER))
    page = client.get(f"/campaigns/segments/{audience.segment_id}/ad-audiences/")
    assert page.status_code == 200
    assert "INVALID_USER_LIST_ID" in page.content.decode()


def test_partial_failures_are_counted_and_not_recorded_as_sent(google):
    consenting("sara@example.com")
    consenting("kian@example.com")
    google.bad_digests.add(sha("kian@example.com"))
    audience = audience_for("google_ads", USER_LIST)

    run = sync_audience(audience.pk)

    assert (run.status, run.added, run.rejected) == (SyncStatus.SUCCEEDED, 1, 1)
    assert list(AdAudienceMember.objects.values_list("digest", flat=True)) == [
        sha("sara@example.com")
    ]


def test_staff_sync_now_from_the_segment_page(google, client, staff_in_role):
    consenting("sara@example.com")
    audience = audience_for("google_ads", USER_LIST)
    client.force_login(staff_in_role(MARKETER))

    response = client.post(
        f"/campaigns/segments/{audience.segment_id}/ad-audiences/", {"audience": audience.pk}
    )

    assert response.status_code == 302
    assert google.members[USER_LIST] == {("email", sha("sara@example.com"))}
    page = client.get(response["Location"]).content.decode()
    assert "Succeeded" in page


def test_store_purchases_after_an_ad_click_are_uploaded_once(google, meta):
    store_channel = ChannelFactory(code="store", name="Stores", kind="store")
    location = LocationFactory(code="store-tajrish", channels=[store_channel])
    product = listed_product({store_channel: 120}, name="Aria Runner", variants=1)
    variant = product.variants.get()
    receive_stock(variant, location, 10)
    sku = variant.sku
    sara = consenting("sara@example.com", "+989121234567")
    ads = ChannelFactory(code="ads", kind="ads")
    clicked = timezone.now() - timedelta(days=3)
    record_event(
        sara,
        "page_viewed",
        channel=ads,
        properties={"url": "https://shop.example/aria?gclid=Cj0KCQ-test&fbclid=IwAR-test"},
        occurred_at=clicked,
    )
    order = placed_order(
        sara, store_channel, [(sku, 1)], fulfilment_method="in_store", store=location.code
    )
    # Someone who never clicked an ad: her purchase is no conversion.
    placed_order(
        consenting("kian@example.com"),
        store_channel,
        [(sku, 1)],
        fulfilment_method="in_store",
        store=location.code,
    )

    call_command("sync_ad_audiences", stdout=io.StringIO())
    call_command("sync_ad_audiences", stdout=io.StringIO())

    assert [item["orderId"] for item in google.conversions] == [order.number]
    assert google.conversions[0]["gclid"] == "Cj0KCQ-test"
    assert google.conversions[0]["conversionAction"] == "customers/1234567890/conversionActions/777"
    assert len(meta.events) == 1
    dataset, event = meta.events[0]
    assert dataset == "998877" and event["event_id"] == order.number
    assert event["user_data"]["em"] == [sha("sara@example.com")]
    assert event["user_data"]["fbc"].endswith(".IwAR-test")
    assert set(AdConversionUpload.objects.values_list("platform", "status")) == {
        ("google_ads", ConversionStatus.UPLOADED),
        ("meta", ConversionStatus.UPLOADED),
    }


def test_the_hashed_download_holds_hashes_only_and_needs_permission(client, staff_in_role):
    consenting("Sara@Example.com", "+989121234567")
    consenting("=cmd@example.com")
    customer_with(("email", "bob@example.com"))  # no consent: not in the file
    segment = SegmentFactory(name="Everyone")
    url = f"/campaigns/segments/{segment.pk}/hashed-audience.csv"

    client.force_login(staff_in_role(SUPPORT_AGENT))
    assert client.get(url).status_code == 403

    client.force_login(staff_in_role(MARKETER))
    response = client.get(url)

    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert "@" not in text and "+98" not in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["email_sha256", "phone_sha256"]
    assert sorted(rows[1:]) == sorted(
        [
            [sha("sara@example.com"), sha("+989121234567")],
            [sha("=cmd@example.com"), ""],
        ]
    )


def test_the_demo_stage_connects_segments_without_calling_anyone(settings):
    settings.GOOGLE_ADS_API_BASE = settings.META_GRAPH_API_BASE = "http://127.0.0.1:9"
    install_defaults()

    seed_ad_audiences(DemoContext(quiet=True))
    seed_ad_audiences(DemoContext(quiet=True))  # a second seed adds nothing

    assert AdAudience.objects.count() == 3
    assert set(AdAudienceSync.objects.values_list("status", flat=True)) == {SyncStatus.DRY_RUN}


def test_without_an_access_token_one_is_fetched_with_the_refresh_token(google, settings):
    settings.GOOGLE_ADS_ACCESS_TOKEN = ""
    settings.GOOGLE_ADS_OAUTH_TOKEN_URL = f"{google.url}/token"
    settings.GOOGLE_ADS_CLIENT_ID = google.client_id
    settings.GOOGLE_ADS_CLIENT_SECRET = google.client_secret
    settings.GOOGLE_ADS_REFRESH_TOKEN = google.refresh_token
    consenting("sara@example.com")
    audience = audience_for("google_ads", USER_LIST)

    assert sync_audience(audience.pk).status == SyncStatus.SUCCEEDED
    consenting("kian@example.com")
    assert sync_audience(audience.pk).status == SyncStatus.SUCCEEDED

    assert google.token_requests == 1  # cached until it is about to expire
    assert len(google.members[USER_LIST]) == 2

    cache.clear()
    settings.GOOGLE_ADS_REFRESH_TOKEN = "1//revoked"
    consenting("leila@example.com")
    run = sync_audience(audience.pk)
    assert run.status == SyncStatus.FAILED and "invalid_grant" in run.error


def test_the_audiences_page_reads_in_a_few_queries(
    client, staff_in_role, django_assert_max_num_queries
):
    segment = SegmentFactory(name="Everyone")
    for number in range(4):
        audience = audience_for("meta", f"2385000000010{number}", segment)
        for _run in range(3):
            sync_audience(audience.pk, dry_run=True)
    client.force_login(staff_in_role(MARKETER))

    # Session, user, permissions, the segment, the audiences and their recent syncs: as many
    # for four audiences as for one.
    with django_assert_max_num_queries(11):
        page = client.get(f"/campaigns/segments/{segment.pk}/ad-audiences/")

    assert page.status_code == 200
    assert page.content.decode().count("data-audience=") == 4


def test_the_scheduled_task_retries_an_audience_the_platform_turned_away(google):
    consenting("sara@example.com")
    audience = audience_for("google_ads", USER_LIST)
    google.fail_next.append(UNAVAILABLE)

    sync_ad_audiences.delay()

    # Celery runs eagerly here: the retry it asked for ran at once, and sent her.
    assert list(audience.syncs.order_by("id").values_list("reason", "status")) == [
        ("schedule", SyncStatus.RETRYING),
        ("retry", SyncStatus.SUCCEEDED),
    ]
    assert google.members[USER_LIST] == {("email", sha("sara@example.com"))}


def test_the_one_click_unsubscribe_link_removes_her_hash_at_once(google, client):
    sara = consenting("sara@example.com")
    audience = audience_for("google_ads", USER_LIST)
    sync_audience(audience.pk)
    message = CampaignMessageFactory(
        customer=sara, channel=ChannelFactory(code="mail", kind="email"), to="sara@example.com"
    )
    path = unsubscribe_url(message).split("8000", 1)[1]

    response = client.post(path, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert google.removed == [(USER_LIST, "email", sha("sara@example.com"))]
    assert google.members[USER_LIST] == set()


def test_a_conversion_is_not_uploaded_once_she_withdrew_consent(google, meta):
    store_channel = ChannelFactory(code="store", name="Stores", kind="store")
    location = LocationFactory(code="store-tajrish", channels=[store_channel])
    product = listed_product({store_channel: 120}, name="Aria Runner", variants=1)
    variant = product.variants.get()
    receive_stock(variant, location, 10)
    sara = consenting("sara@example.com")
    record_event(
        sara,
        "ad_clicked",
        properties={"gclid": "Cj0-before"},
        occurred_at=timezone.now() - timedelta(days=1),
    )
    placed_order(
        sara, store_channel, [(variant.sku, 1)], fulfilment_method="in_store", store=location.code
    )
    note_conversions()
    record_consent(sara, channel_kind="email", purpose="marketing", granted=False)

    upload_conversions()

    assert google.conversions == []
    row = AdConversionUpload.objects.get()
    assert row.status == ConversionStatus.FAILED and "consent" in row.error


@pytest.mark.parametrize(
    ("digest", "raw", "normalised"),
    [
        (email_digest, " Sara.R@Example.COM ", "sara.r@example.com"),
        (phone_digest, "0912 123 4567", "+989121234567"),
        (phone_digest, "۰۹۱۲۱۲۳۴۵۶۷", "+989121234567"),
        (phone_digest, "00989121234567", "+989121234567"),
        (email_digest, "not an address", None),
        (phone_digest, "call me", None),
    ],
)
def test_identifiers_are_normalised_before_hashing(digest, raw, normalised):
    assert digest(raw) == (sha(normalised) if normalised else "")
