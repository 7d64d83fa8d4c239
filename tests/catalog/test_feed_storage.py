"""Feed files live in the `feeds` storage every web and worker machine shares, and a request
never builds one: a feed with no file yet answers 503 with Retry-After and queues exactly one
build, for a worker (broker mode) or for after the answer has been sent (embedded mode)."""

import json
import xml.etree.ElementTree as ET

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.signals import request_finished
from django.db import close_old_connections
from rest_framework.test import APIRequestFactory

from catalog.api.views import FeedView
from catalog.factories import ChannelFeedFactory, listed_product
from catalog.models import FeedFormat, FeedRun
from catalog.services import feeds
from config.celery import app
from tests.task_ledger import TaskLedger

URL = "/api/v1/feeds/web/google.xml"


@pytest.fixture
def shared_storage(settings, tmp_path):
    """A feeds storage elsewhere than MEDIA_ROOT, as a shared store is to a machine."""
    location = tmp_path / "shared-store"
    settings.STORAGES = {
        **settings.STORAGES,
        "feeds": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    return location


@pytest.fixture
def web_feed(channels):
    feed = ChannelFeedFactory(channel=channels["web"], format=FeedFormat.GOOGLE)
    listed_product({channels["web"]: 10}, name="Aria Runner", variants=2)
    return feed


def body(response):
    return b"".join(response.streaming_content)


def assert_not_ready(response):
    assert response.status_code == 503
    assert response["Retry-After"] == str(feeds.RETRY_AFTER_SECONDS)
    error = json.loads(response.content)["error"]
    assert error["code"] == "feed_not_ready"
    assert "being generated" in error["message"]
    assert error["retry_after"] == feeds.RETRY_AFTER_SECONDS


@pytest.mark.django_db
def test_a_feed_is_written_to_the_feeds_storage_and_served_from_it(
    shared_storage, settings, web_feed, api_client_for
):
    run = feeds.generate_feed(web_feed)
    stored = shared_storage / run.file
    assert stored.is_file() and (shared_storage / feeds.stored_name(run, "json")).is_file()
    assert not (settings.MEDIA_ROOT / "feeds").exists()  # nothing on the machine's own disk

    api = api_client_for("catalog:read")
    response = api.get(URL)
    assert response.status_code == 200
    assert response["X-Feed-Items"] == "2"
    assert 'filename="google.xml"' in response["Content-Disposition"]
    assert body(response) == stored.read_bytes()
    report = api.get("/api/v1/feeds/web/google-refusals.json")
    assert body(report) == (shared_storage / feeds.stored_name(run, "json")).read_bytes()


@pytest.mark.django_db
def test_only_the_last_two_builds_keep_their_files(shared_storage, web_feed, api_client_for):
    first, second, third = (feeds.generate_feed(web_feed) for _ in range(3))
    assert not (shared_storage / first.file).exists()  # gone, and forgotten by its run
    first.refresh_from_db()
    assert first.file == ""
    assert (shared_storage / second.file).exists() and (shared_storage / third.file).exists()
    served = api_client_for("catalog:read").get(URL)
    assert body(served) == (shared_storage / third.file).read_bytes()


@pytest.mark.django_db
def test_embedded_mode_answers_503_at_once_and_builds_after_the_answer_is_sent(
    shared_storage, web_feed, api_client_for
):
    # The view called as the server calls it: the answer first, close() once it is sent.
    request = APIRequestFactory().get(URL, {"token": web_feed.token})
    response = FeedView.as_view()(request, code="web", filename="google.xml").render()
    assert_not_ready(response)
    assert list(FeedRun.objects.values_list("status", flat=True)) == ["queued"]  # not built yet

    # Closed as Django's test client closes it: keeping the test's database connection.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    run = FeedRun.objects.get()
    assert run.status == "done" and run.item_count == 2
    served = api_client_for("catalog:read").get(URL)
    assert served.status_code == 200
    assert len(ET.fromstring(body(served)).findall("./channel/item")) == 2


@pytest.fixture
def broker(transactional_db):
    """Tasks really queued on the in-memory broker (emptied first), with no worker yet."""
    app.conf.task_always_eager = False
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(app.conf.task_default_queue)
    try:
        yield app
    finally:
        app.conf.task_always_eager = True


@pytest.mark.django_db(transaction=True)
def test_a_missing_feed_answers_503_and_queues_one_build_for_a_worker(
    shared_storage, broker, web_feed, api_client_for
):
    api = api_client_for("catalog:read")
    with TaskLedger() as ledger:
        assert_not_ready(api.get(URL))
        assert_not_ready(api.get(URL))  # asked again while the build waits: no second build
        assert_not_ready(api.get("/api/v1/feeds/web/google-refusals.csv"))
        assert ledger.published("catalog.build_feed") == 1
        assert FeedRun.objects.filter(status="queued").count() == 1

        with start_worker(broker, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            assert ledger.wait_idle(), ledger
    run = FeedRun.objects.get()
    assert run.status == "done"
    response = api.get(URL)
    assert response.status_code == 200 and "Retry-After" not in response
    assert len(ET.fromstring(body(response)).findall("./channel/item")) == 2
    assert api.get("/api/v1/feeds/web/google-refusals.csv").status_code == 200


@pytest.mark.django_db
def test_a_build_lost_long_ago_does_not_block_a_new_one(shared_storage, web_feed, api_client_for):
    lost = feeds.request_build(web_feed)
    assert feeds.request_build(web_feed) is None  # pending: it stands for the second ask
    FeedRun.objects.filter(pk=lost.pk).update(
        started_at=lost.started_at.replace(year=lost.started_at.year - 1)
    )
    assert feeds.request_build(web_feed) is not None


@pytest.mark.django_db
def test_staff_download_and_regenerate_never_build_inside_the_request(
    shared_storage, web_feed, client, staff_in_role
):
    client.force_login(staff_in_role("Merchandiser"))
    url = f"/catalog/feeds/{web_feed.pk}/file/feed/"
    response = client.get(url)
    assert response.status_code == 503 and response["Retry-After"]
    assert "being generated" in response.content.decode()
    # The test client closes each answer as a server does: the embedded build has run.
    assert client.get(url).status_code == 200

    page = client.post(f"/catalog/feeds/{web_feed.pk}/regenerate/", follow=True)
    assert "regenerated in the background" in page.content.decode()
    assert FeedRun.objects.filter(status="done").count() == 2
