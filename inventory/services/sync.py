"""Pushing available-to-promise figures to sales channels.

A change of stock marks (channel, variant) pending in the same transaction (the pending
set); after commit one push per channel is scheduled with a countdown, and a cache key
keeps a burst from scheduling more (debounce). The pending set is the truth: a push whose
publish or debounce failed (broker or cache down) is sent by beat's sweep. The push claims
the pending rows, gives each a new, higher version, computes the figures *then* and sends
them all in one signed request (or, for a channel whose provider registered a push target
such as WooCommerce, through that shop's own stock API). Pushes for a channel never overlap (a lock), a failed push
puts its rows back in the pending set and is retried with backoff, and the retry computes
fresh figures with newer versions: an older figure is never sent after a newer one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.request

from django.db import connection, transaction
from django.utils import timezone

from catalog.selectors import skus_by_variant_id
from core.services import shared_cache
from core.services.enqueue import after_commit, enqueue_debounced
from core.services.outbox import post_signed
from inventory.models import ChannelStockRule, StockSyncState
from inventory.selectors import SYNC_LINKS_SQL, available_to_promise

logger = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 5
LOCK_SECONDS = 60
TIMEOUT_SECONDS = 5
MAX_ITEMS_PER_PUSH = 2000


class SyncFailed(Exception):
    pass


# Channel provider -> how that provider's own API receives figures, for channels whose shop
# has a stock API of its own (WooCommerce) instead of our signed POST to `sync_url`.
# `push(channel, items)` gets [{"variant_id", "sku", "units", "version"}] and raises
# SyncFailed when the figures did not arrive (they stay pending and are retried).
PUSH_TARGETS = {}


def register_push_target(provider: str, push) -> None:
    """Let an app push the figures of channels with this provider (in its AppConfig.ready)."""
    PUSH_TARGETS[provider] = push


def schedule_key(channel_id) -> str:
    return f"inventory:stock-push-scheduled:{channel_id}"


def lock_key(channel_id) -> str:
    return f"inventory:stock-push-lock:{channel_id}"


def note_stock_changed(pairs) -> None:
    """Mark the variants of `pairs` [(variant_id, location_id)] pending for every channel
    that pushes stock and counts those locations; schedule the pushes after commit. Call
    inside the transaction that changed the stock."""
    pairs = list(pairs)
    if pairs:
        mark_pending(pairs, sync_channels_for({location_id for _v, location_id in pairs}))


_SYNC_CHANNELS_SQL = (
    "SELECT sync.location_id, sync.channel_id FROM {links} WHERE sync.location_id IN ({ids})"
)


def sync_channels_for(location_ids) -> dict[int, set[int]]:
    """{location_id: {channel_id}} of the channels pushing stock that count each location
    (read before a hot row is locked, so the lock is held as briefly as possible). One
    statement, written out: it runs in every stock change."""
    location_ids = list(location_ids)
    if not location_ids:
        return {}
    channels_of: dict[int, set[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            _SYNC_CHANNELS_SQL.format(
                links=SYNC_LINKS_SQL, ids=", ".join(["%s"] * len(location_ids))
            ),
            location_ids,
        )
        for location_id, channel_id in cursor.fetchall():
            channels_of.setdefault(location_id, set()).add(channel_id)
    return channels_of


def mark_pending(pairs, channels_of) -> None:
    wanted = sorted(
        {
            (channel_id, variant_id)
            for variant_id, location_id in pairs
            for channel_id in channels_of.get(location_id, ())
        }
    )
    if not wanted:
        return
    now = timezone.now()
    StockSyncState.objects.bulk_create(
        [
            StockSyncState(channel_id=c, variant_id=v, pending=True, changed_at=now)
            for c, v in wanted
        ],
        update_conflicts=True,
        unique_fields=["channel", "variant"],
        update_fields=["pending", "changed_at"],
    )
    for channel_id in {c for c, _v in wanted}:
        after_commit(schedule_push, channel_id)


def schedule_push(channel_id, *, countdown=None, if_cache_down=False) -> bool:
    """Schedule one push for the channel unless one is already scheduled (debounce). With
    the shared cache down, a stock change leaves its pending mark to beat's sweep
    (inventory.push_stock_changes), which passes `if_cache_down=True`."""
    countdown = DEBOUNCE_SECONDS if countdown is None else countdown
    return enqueue_debounced(
        schedule_key(channel_id),
        max(countdown * 4, 10),
        "inventory.push_stock",  # by name: inventory.tasks wraps this module's services
        (channel_id,),
        countdown=countdown,
        if_cache_down=if_cache_down,
    )


def push_pending(channel_id) -> dict:
    """Send the channel's pending figures in one signed request. Returns {"status": "sent",
    "items": n} or "busy" (another push holds the channel), "idle", "disabled"; raises
    SyncFailed after putting the rows back in the pending set."""
    # Changes from now on schedule a new push.
    shared_cache.release(schedule_key(channel_id), use="inventory.push_stock debounce")
    rule = ChannelStockRule.objects.select_related("channel").filter(channel_id=channel_id).first()
    if rule is None or not rule.sync_enabled:
        return {"status": "disabled"}
    if not rule.sync_url and rule.channel.provider not in PUSH_TARGETS:
        return {"status": "disabled"}
    with shared_cache.hold(lock_key(channel_id), LOCK_SECONDS, use="stock push lock") as taken:
        if not taken:
            return {"status": "busy"}
        return _push(rule)


def _push(rule) -> dict:
    channel = rule.channel
    with transaction.atomic():
        rows = list(
            StockSyncState.objects.select_for_update(skip_locked=True)
            .filter(channel=channel, pending=True)
            .order_by("variant_id")[:MAX_ITEMS_PER_PUSH]
        )
        for row in rows:
            row.pending = False
            row.version += 1
        StockSyncState.objects.bulk_update(rows, ["pending", "version"])
    if not rows:
        return {"status": "idle"}
    # Figures are read after the claim: a change committed later marks the row pending
    # again and goes out in the next push, with a higher version.
    variant_ids = [row.variant_id for row in rows]
    units = available_to_promise(variant_ids, channel)
    skus = skus_by_variant_id(variant_ids)
    items = [
        {"sku": skus[row.variant_id], "units": units.get(row.variant_id, 0), "version": row.version}
        for row in rows
        if row.variant_id in skus
    ]
    sent_ids = [row.variant_id for row in rows if row.variant_id in skus]
    target = PUSH_TARGETS.get(channel.provider)
    try:
        if target is not None:
            target(
                channel,
                [{"variant_id": v, **item} for v, item in zip(sent_ids, items, strict=True)],
            )
        else:
            body = json.dumps(
                {"channel": channel.code, "sent_at": timezone.now().isoformat(), "items": items}
            ).encode()
            _post(rule, body)
    except (urllib.error.URLError, OSError, ValueError, SyncFailed) as error:
        message = str(error)[:500]
        for row in rows:
            row.attempts += 1
            row.last_error = message
        with transaction.atomic():
            StockSyncState.objects.filter(pk__in=[r.pk for r in rows]).update(pending=True)
            StockSyncState.objects.bulk_update(rows, ["attempts", "last_error"])
        logger.warning("stock push to %s failed: %s", channel.code, message)
        raise SyncFailed(message) from error
    now = timezone.now()
    for row in rows:
        row.last_units = units.get(row.variant_id, 0)
        row.last_sent_at = now
        row.attempts = 0
        row.last_error = ""
    StockSyncState.objects.bulk_update(
        rows, ["last_units", "last_sent_at", "attempts", "last_error"]
    )
    more = StockSyncState.objects.filter(channel=channel, pending=True).exists()
    return {"status": "sent", "items": len(items), "more": more}


def _post(rule, body: bytes) -> int:
    status, _answer = post_signed(
        rule.sync_url,
        rule.sync_secret,
        body,
        headers={"X-Omni-Event": "stock_changed"},
        timeout=TIMEOUT_SECONDS,
    )
    return status


def channels_with_pending(older_than_seconds=0) -> list[int]:
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    return list(
        StockSyncState.objects.filter(pending=True, changed_at__lte=cutoff)
        .values_list("channel_id", flat=True)
        .distinct()
        .order_by()
    )
