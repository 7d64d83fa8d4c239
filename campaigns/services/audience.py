"""Who a message goes to and where: each customer's addresses, the channel she consented to
and engages with most, her time zone and quiet hours. Reads only; the campaign rows are
made in campaigns.services.launch and sent in campaigns.services.delivery."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from campaigns.models import CampaignMessage
from core.models import Channel, ChannelKind
from customers.selectors import is_consented, latest_consents, reachable_addresses

# Where each messaging channel kind sends to, in order of preference.
ADDRESS_KINDS = {
    ChannelKind.EMAIL: ("email",),
    ChannelKind.SMS: ("phone",),
    ChannelKind.WHATSAPP: ("whatsapp", "phone"),
    ChannelKind.TELEGRAM: ("telegram",),
    ChannelKind.MESSENGER: ("messenger",),
    ChannelKind.INSTAGRAM: ("instagram",),
    ChannelKind.MOBILE_APP: ("device",),
}
# When engagement is equal, the cheaper and less intrusive channel goes first.
CHANNEL_ORDER = ["email", "whatsapp", "telegram", "messenger", "sms", "instagram", "mobile_app"]


def address_for(kind: str, addresses: dict[str, str]) -> str:
    for identity_kind in ADDRESS_KINDS.get(kind, ()):
        if addresses.get(identity_kind):
            return addresses[identity_kind]
    return ""


def messaging_channels() -> dict[str, Channel]:
    """One sending channel per kind (the first configured with a provider)."""
    channels: dict[str, Channel] = {}
    for channel in Channel.objects.messaging().order_by("-provider", "id"):
        if channel.kind in ADDRESS_KINDS:
            channels.setdefault(channel.kind, channel)
    return channels


def engagement_by_kind(customer_ids) -> dict[tuple[int, str], int]:
    """How often each customer opened or clicked our messages per channel kind (90 days)."""
    since = timezone.now() - timedelta(days=90)
    rows = (
        CampaignMessage.objects.filter(customer_id__in=list(customer_ids), sent_at__gte=since)
        .filter(Q(opened_at__isnull=False) | Q(clicked_at__isnull=False))
        .values_list("customer_id", "channel__kind")
        .annotate(n=Count("id"))
    )
    return {(customer_id, kind): n for customer_id, kind, n in rows}


def best_channels(customers, purpose) -> dict[int, tuple[Channel | None, str]]:
    """Per customer, the channel she consented to for this purpose and engages with most;
    her stated preferred channel wins ties. (None, "") when no channel is possible."""
    customers = list(customers)
    ids = [c.pk for c in customers]
    channels = messaging_channels()
    addresses = reachable_addresses(ids)
    consents = latest_consents(ids, purpose)
    engagement = engagement_by_kind(ids)
    result = {}
    for customer in customers:
        candidates = []
        for kind, channel in channels.items():
            address = address_for(kind, addresses.get(customer.pk, {}))
            if not address or not is_consented(consents, customer.pk, kind, purpose):
                continue
            rank = (
                -engagement.get((customer.pk, kind), 0),
                0 if customer.preferred_channel == kind else 1,
                CHANNEL_ORDER.index(kind) if kind in CHANNEL_ORDER else 99,
            )
            candidates.append((rank, channel, address))
        if candidates:
            candidates.sort(key=lambda item: item[0])
            result[customer.pk] = (candidates[0][1], candidates[0][2])
        else:
            result[customer.pk] = (None, "")
    return result


def time_zone_of(customer) -> ZoneInfo:
    name = (customer.traits or {}).get("time_zone") or (customer.traits or {}).get("timezone")
    try:
        return ZoneInfo(name) if name else ZoneInfo(settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def in_quiet_hours(local: datetime, start: time, end: time) -> bool:
    now = local.time()
    if start <= end:
        return start <= now < end
    return now >= start or now < end  # overnight, e.g. 21:00 -> 08:00


def quiet_hours_end(moment: datetime, zone: ZoneInfo, start: time, end: time) -> datetime | None:
    """When the quiet hours that `moment` falls in end (aware), or None if it is not in them."""
    local = moment.astimezone(zone)
    if not in_quiet_hours(local, start, end):
        return None
    candidate = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate


def local_send_time(scheduled_at: datetime, zone: ZoneInfo) -> datetime:
    """The campaign's wall-clock time (as written in UTC) in the customer's zone."""
    wall = scheduled_at.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return wall.replace(tzinfo=zone)
