"""Partners name channels by code, name or kind; the index behind it is cached per process
but never answers with a channel table older than the caller's own view of it."""

from core.factories import ChannelFactory
from core.models import Channel
from customers.models import Event

from .conftest import post_json


def _track(channel, message_id):
    return {
        "identities": [{"kind": "email", "value": "ana@example.com"}],
        "event": "page_viewed",
        "channel": channel,
        "message_id": message_id,
    }


def test_a_channel_added_renamed_or_removed_is_seen_by_the_next_request(writer):
    assert post_json(writer, "/api/v1/track", _track("kiosk", "m-1")).status_code == 400

    kiosk = ChannelFactory(code="kiosk", name="Mall kiosk", kind="store")
    assert post_json(writer, "/api/v1/track", _track("kiosk", "m-2")).status_code == 200
    assert post_json(writer, "/api/v1/track", _track("Mall Kiosk", "m-3")).status_code == 200

    kiosk.code = "popup"
    kiosk.save()
    refused = post_json(writer, "/api/v1/track", _track("kiosk", "m-4"))
    assert refused.status_code == 400
    assert "channel" in refused.json()["error"]["fields"]
    assert post_json(writer, "/api/v1/track", _track("popup", "m-5")).status_code == 200

    # A channel that holds no events may be removed; its name is then unknown again.
    booth = ChannelFactory(code="booth", name="Fair booth", kind="store")
    assert post_json(writer, "/api/v1/track", _track("popup", "m-7")).status_code == 200
    Channel.objects.filter(pk=booth.pk).delete()
    assert post_json(writer, "/api/v1/track", _track("booth", "m-6")).status_code == 400


def test_a_key_bound_to_a_channel_gives_it_to_events_that_name_none(api_client_for, channels):
    pos = api_client_for("customers:write", channel=channels["store"])
    body = {key: value for key, value in _track(None, "m-1").items() if key != "channel"}

    assert post_json(pos, "/api/v1/track", body).status_code == 200
    assert (
        post_json(
            pos, "/api/v1/batch", {"items": [{**body, "type": "track", "message_id": "m-2"}]}
        ).status_code
        == 200
    )

    kinds = Event.objects.order_by("message_id").values_list("channel__code", flat=True)
    assert list(kinds) == ["store", "store"]
