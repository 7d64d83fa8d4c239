"""Channel feeds: the catalog formatted to each channel's rules, streamed item by item.

A feed (ChannelFeed: channel + format) is built by `generate_feed`, which streams the items
of `stream_feed` into a scratch file and stores it, with two companion reports of the items
it refused and why (<format>-refusals.json and .csv), in the `feeds` storage of STORAGES:
every web and worker machine reads the same files (the embedded default is a folder,
MEDIA_ROOT/feeds/; production points it at a shared store such as S3). Each build writes
new names and records them on its FeedRun, so a reader always gets one whole generation.
Nothing holds the whole document: rows are read in chunks with `.iterator()`, availability
is asked per chunk, and each item is written as soon as it is formatted.

Every format (`catalog.feed_formats`) checks its channel's rules on each item first; an item
that breaks any is left out and reported with every reason (e.g. `title_too_long: 162
characters, at most 150`).

Serving never builds: a request for a feed with no file yet queues one build
(`request_build`, handed to a worker by `catalog.tasks.send_build`) and answers 503 with
Retry-After.

Regeneration: services call `schedule_regeneration()` on commit; it enqueues the Celery task
`catalog.regenerate_feeds` once per debounce window, so an import of a thousand products
regenerates each feed once, not a thousand times.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import secrets
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from urllib.parse import urlsplit

from django.core.files import File
from django.core.files.storage import default_storage, storages
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from catalog.availability import availability_for
from catalog.errors import FeedNotConfigured, FeedNotReady
from catalog.feed_formats import FORMATS, FeedRow, Refusal
from catalog.models import (
    ChannelFeed,
    FeedRun,
    ProductMedia,
    ProductVariant,
)
from catalog.selectors import listed_variant_listings
from core.exports import spreadsheet_row
from core.safe_urls import safe_url
from core.services.enqueue import enqueue_debounced

logger = logging.getLogger(__name__)

CHUNK = 1000
SAMPLE_SIZE = 100
REGENERATION_DEBOUNCE_SECONDS = 30
PENDING_KEY = "catalog:feeds-regeneration-pending"
# A build queued or running for longer is taken as lost (a worker died, a publish failed):
# the next request queues another. Builds are cut off by the task time limit (360 s).
BUILD_PENDING_SECONDS = 600
# What a fetcher of a feed not built yet is told to wait: a 50,000-item build takes seconds.
RETRY_AFTER_SECONDS = 30
# Files of the newest two builds are kept: a partner still downloading the previous one
# finishes it; older ones are deleted from the storage.
KEEP_BUILDS = 2
REPORT_KINDS = ("json", "csv")

ROW_FIELDS = (
    "price",
    "price_currency",
    "compare_at_price",
    "listing__title",
    "listing__description",
    "variant_id",
    "variant__sku",
    "variant__barcode",
    "variant__colour",
    "variant__size",
    "variant__weight_grams",
    "variant__product_id",
    "variant__product__slug",
    "variant__product__name",
    "variant__product__description",
    "variant__product__condition",
    "variant__product__brand__name",
    "variant__product__category__full_name",
)


def _link_for(feed, slug, sku, product_id):
    if not feed.product_url_template:
        return "", "link_missing: the feed has no product URL template"
    link = feed.product_link(slug=slug, sku=sku, product_id=product_id)
    if not link:
        return "", "link_missing: the product URL template is not valid (use {slug}, {sku}, {id})"
    return link, ""


def _images_for(product_ids, base_url) -> dict:
    """{(product_id, variant_id or None): (src, alt)}: the first image of each product and
    of each variant that has its own."""
    images = {}
    rows = (
        ProductMedia.objects.filter(product_id__in=product_ids)
        .order_by("position", "id")
        .values_list("product_id", "variant_id", "url", "image", "alt_text")
    )
    for product_id, variant_id, url, image, alt in rows:
        key = (product_id, variant_id)
        if key in images:
            continue
        src = safe_url(url) or (default_storage.url(image) if image else "")
        if src.startswith("/") and base_url:
            src = base_url + src
        images[key] = (src, alt)
    return images


def feed_rows(feed: ChannelFeed, *, at=None, chunk=CHUNK) -> Iterator[FeedRow]:
    """The channel's live variant listings as FeedRows, read `chunk` at a time as plain
    tuples (no model instances: this is the hot path of a 50,000-item feed)."""
    parts = urlsplit(feed.product_url_template or "")
    base_url = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    queryset = listed_variant_listings(feed.channel, at=at).values_list(*ROW_FIELDS)
    batch = []
    for values in queryset.iterator(chunk_size=chunk):
        batch.append(values)
        if len(batch) >= chunk:
            yield from _rows_of(feed, batch, base_url)
            batch = []
    if batch:
        yield from _rows_of(feed, batch, base_url)


def _rows_of(feed, batch, base_url):
    # Providers get ProductVariant instances (only pk, sku and product_id are loaded).
    refs = [ProductVariant(id=v[5], sku=v[6], product_id=v[11]) for v in batch]
    units = availability_for(refs, feed.channel)
    images = _images_for({v[11] for v in batch}, base_url)
    for (
        price,
        currency,
        compare_at,
        listing_title,
        listing_description,
        variant_id,
        sku,
        barcode,
        colour,
        size,
        weight,
        product_id,
        slug,
        name,
        description,
        condition,
        brand,
        category_name,
    ) in batch:
        link, link_problem = _link_for(feed, slug, sku, product_id)
        image, alt = (
            images.get((product_id, variant_id)) or images.get((product_id, None)) or ("", "")
        )
        yield FeedRow(
            id=sku,
            group_id=slug,
            title=(listing_title or name or "").strip(),
            description=(listing_description or description or "").strip(),
            link=link,
            link_problem=link_problem,
            image_link=image,
            image_alt=alt,
            price=price,
            compare_at_price=compare_at,
            currency=str(currency),
            units=units.get(variant_id, 0),
            gtin=barcode,
            brand=brand or "",
            condition=condition,
            category=(category_name or "").replace(" › ", " > "),
            colour=colour,
            size=size,
            weight_grams=weight,
            product_id=product_id,
            variant_id=variant_id,
        )


# --- streaming and writing --------------------------------------------------------------


def stream_feed(
    feed: ChannelFeed,
    *,
    on_refusal: Callable[[Refusal], None] | None = None,
    stats: dict | None = None,
    at=None,
) -> Iterator[str]:
    """Yield the feed document piece by piece; refused items go to `on_refusal`, and
    `stats["items"]` counts the items written."""
    fmt = FORMATS[feed.format]
    stats = stats if stats is not None else {}
    stats.setdefault("items", 0)
    yield fmt.head(feed)
    for row in feed_rows(feed, at=at):
        reasons = fmt.rules(row, feed)
        if reasons:
            if on_refusal:
                on_refusal(Refusal(row.id, row.title, reasons))
            continue
        stats["items"] += 1
        yield fmt.item(row)
    yield fmt.tail(feed)


def feed_storage():
    """Where feed files live: the `feeds` storage of STORAGES, shared by every machine."""
    return storages["feeds"]


def feed_filename(feed: ChannelFeed) -> str:
    """The name partners fetch (`google.xml`), whatever the stored file is called."""
    return f"{feed.format}.{FORMATS[feed.format].extension}"


def report_filename(feed: ChannelFeed, kind: str) -> str:
    return f"{feed.format}-refusals.{kind}"


def stored_name(run: FeedRun, kind: str = "feed") -> str:
    """The storage name of a run's feed file (kind "feed") or refusal report ("json", "csv"):
    the reports sit beside the feed, `<stem>-refusals.<kind>`."""
    if kind == "feed":
        return run.file
    return f"{run.file.rpartition('.')[0]}-refusals.{kind}"


def generate_feed(feed: ChannelFeed, *, run: FeedRun | None = None) -> FeedRun:
    """Build the feed file and its refusal reports into the feeds storage and record the
    run (items written, items refused, the first refusals); `run` is a queued run to build
    (see `request_build`), else a new one is made. The files get new names (run id and a
    random part), so readers of the previous build are never cut short; files of builds
    older than the last KEEP_BUILDS are deleted. A failure is recorded on the run and
    raised."""
    if run is None:
        run = FeedRun.objects.create(feed=feed)
    stem = f"feeds/{feed.channel.code}/{feed.format}-{run.pk}-{secrets.token_hex(4)}"
    names = {"feed": f"{stem}.{FORMATS[feed.format].extension}"}
    names.update({kind: f"{stem}-refusals.{kind}" for kind in REPORT_KINDS})
    # Written locally as text, stored as bytes: the storage may be a remote object store.
    scratch = {
        kind: io.TextIOWrapper(tempfile.TemporaryFile(), encoding="utf-8", newline="")  # noqa: SIM115 (closed below)
        for kind in names
    }
    storage = feed_storage()
    stored = {}
    state = {"refused": 0, "sample": []}
    stats = {"items": 0}
    try:
        report_json = scratch["json"]
        report_json.write(
            "{"
            + f'"channel": {json.dumps(feed.channel.code)}, "format": {json.dumps(feed.format)}, '
            + f'"generated_at": {json.dumps(run.started_at.isoformat())}, "refusals": ['
        )
        # The refusal report is opened by staff in a spreadsheet: cells are made safe.
        csv_writer = csv.writer(scratch["csv"])
        csv_writer.writerow(["id", "title", "reasons"])

        def refused(refusal: Refusal):
            entry = {"id": refusal.id, "title": refusal.title, "reasons": refusal.reasons}
            report_json.write(("," if state["refused"] else "") + "\n" + json.dumps(entry))
            csv_writer.writerow(
                spreadsheet_row([refusal.id, refusal.title, " | ".join(refusal.reasons)])
            )
            if len(state["sample"]) < SAMPLE_SIZE:
                state["sample"].append(entry)
            state["refused"] += 1

        out = scratch["feed"]
        for piece in stream_feed(feed, on_refusal=refused, stats=stats):
            out.write(piece)
        report_json.write("\n]}\n")
        for kind, text in scratch.items():
            text.seek(0)  # flushes the text layer
            stored[kind] = storage.save(names[kind], File(text.buffer))
    except Exception as error:
        for name in stored.values():
            storage.delete(name)
        run.status = FeedRun.Status.FAILED
        run.error = f"{type(error).__name__}: {error}"
        run.finished_at = timezone.now()
        run.save()
        logger.exception("feed %s failed", feed)
        raise
    finally:
        for text in scratch.values():
            text.close()
    run.status = FeedRun.Status.DONE
    run.finished_at = timezone.now()
    run.item_count = stats["items"]
    run.refused_count = state["refused"]
    run.refusals_sample = state["sample"]
    run.file = stored["feed"]
    run.report_file = stored["json"]
    run.save()
    _delete_old_files(feed)
    return run


def _delete_old_files(feed: ChannelFeed):
    old = list(
        feed.runs.filter(status=FeedRun.Status.DONE)
        .exclude(file="")
        .order_by("-started_at", "-id")[KEEP_BUILDS:]
    )
    storage = feed_storage()
    for run in old:
        for kind in ("feed", *REPORT_KINDS):
            storage.delete(stored_name(run, kind))
    FeedRun.objects.filter(pk__in=[run.pk for run in old]).update(file="", report_file="")


def latest_run(feed: ChannelFeed) -> FeedRun | None:
    return feed.runs.filter(status=FeedRun.Status.DONE).order_by("-started_at", "-id").first()


def latest_runs(feeds) -> dict[int, FeedRun]:
    """{feed id: its latest done run} for many feeds in one query."""
    newest = (
        FeedRun.objects.filter(feed=OuterRef("feed"), status=FeedRun.Status.DONE)
        .order_by("-started_at", "-id")
        .values("id")[:1]
    )
    runs = FeedRun.objects.filter(feed__in=feeds, id=Subquery(newest))
    return {run.feed_id: run for run in runs}


def open_latest(feed: ChannelFeed, kind: str = "feed") -> tuple[File, FeedRun]:
    """The latest built feed file (kind "feed") or refusal report ("json", "csv"), open
    for reading from the feeds storage, and the run that built it. When there is none (never
    built, or its file is gone from the storage), queues a build and raises FeedNotReady."""
    run = latest_run(feed)
    if run is not None and run.file:
        try:
            return feed_storage().open(stored_name(run, kind), "rb"), run
        except FileNotFoundError:
            logger.warning("feed %s: %s is missing from the storage", feed, stored_name(run, kind))
    raise FeedNotReady(
        f"The {feed.channel.code} {feed.format} feed is being generated; "
        f"fetch it again in {RETRY_AFTER_SECONDS} seconds.",
        retry_after=RETRY_AFTER_SECONDS,
        queued=request_build(feed),
    )


def builds_pending(feeds) -> set[int]:
    """Ids of the feeds among `feeds` with a build queued or running (and not lost)."""
    return set(
        FeedRun.objects.filter(
            feed__in=feeds,
            status__in=(FeedRun.Status.QUEUED, FeedRun.Status.RUNNING),
            started_at__gte=timezone.now() - timedelta(seconds=BUILD_PENDING_SECONDS),
        ).values_list("feed_id", flat=True)
    )


def request_build(feed: ChannelFeed) -> FeedRun | None:
    """Queue one build of `feed` unless one is already queued or running: however many
    fetchers ask at once, one build is made. Returns the queued run (hand it to
    `catalog.tasks.send_build`), or None when a build was already pending."""
    with transaction.atomic():
        # The feed row is the lock: two requests cannot both find nothing pending.
        ChannelFeed.objects.select_for_update().filter(pk=feed.pk).first()
        if builds_pending([feed.pk]):
            return None
        return FeedRun.objects.create(feed=feed, status=FeedRun.Status.QUEUED)


def build_queued(run_id: int) -> FeedRun | None:
    """Build the queued run `run_id`; None when it is not queued any more (a duplicate
    delivery of the task, or a run another worker has taken)."""
    claimed = FeedRun.objects.filter(pk=run_id, status=FeedRun.Status.QUEUED).update(
        status=FeedRun.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    run = FeedRun.objects.select_related("feed__channel").get(pk=run_id)
    return generate_feed(run.feed, run=run)


def feed_for(channel_code: str, format_code: str) -> ChannelFeed:
    feed = (
        ChannelFeed.objects.select_related("channel")
        .filter(channel__code=channel_code, format=format_code, is_active=True)
        .first()
    )
    if feed is None:
        raise FeedNotConfigured(
            f"No active {format_code} feed is configured for channel {channel_code}."
        )
    return feed


def regenerate_all() -> list[FeedRun]:
    """Regenerate every active feed; one failing feed does not stop the others."""
    runs = []
    for feed in ChannelFeed.objects.filter(is_active=True).select_related("channel"):
        try:
            runs.append(generate_feed(feed))
        except Exception:  # already recorded on its FeedRun by generate_feed
            logger.warning("feed %s skipped after a failure", feed)
    return runs


def schedule_regeneration():
    """Enqueue one regeneration per debounce window (called on commit by the services)."""
    if not ChannelFeed.objects.filter(is_active=True).exists():
        return
    # By name: catalog.tasks wraps this module's services.
    # Cache down: left to beat's hourly catalog.regenerate_feeds (lost publish: the next change).
    enqueue_debounced(
        PENDING_KEY,
        REGENERATION_DEBOUNCE_SECONDS * 4,
        "catalog.regenerate_feeds",
        countdown=REGENERATION_DEBOUNCE_SECONDS,
    )
