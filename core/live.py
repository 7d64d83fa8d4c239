"""Live updates of staff pages: an append-only log of changes (core.LiveEvent), written in the
transaction of the change, and server-sent event streams that read it in id order.

Why a table and not only a message bus: a page that lost its connection asks for the events
after the last id it got (the browser's Last-Event-ID) and misses nothing, and a change that
rolled back was never announced. Listeners are woken, not polled, when a change commits:

- embedded mode (one process, no Redis): a threading.Condition in the process;
- with Redis (LIVE_EVENTS_REDIS_URL, several web and worker processes): each commit PUBLISHes
  the new id on one channel; one subscriber thread per web process wakes that process's
  streams. A Redis that cannot be reached is never an error: publishing logs and counts it
  (core.services.shared_cache), and streams fall back to reading the table every
  LIVE_EVENTS_POLL_SECONDS until the subscriber is back.

A stream lives LIVE_EVENTS_STREAM_SECONDS and ends (a sync worker is not held forever); the
browser's EventSource reconnects after `retry` and resumes from its Last-Event-ID.
"""

import asyncio
import logging
import threading
import time
from datetime import timedelta

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from core.models import LiveEvent
from core.services import shared_cache
from core.services.enqueue import after_commit

logger = logging.getLogger(__name__)

REDIS_CHANNEL = "omni:live-events"
USE = "live events"
# One advisory lock for every publishing transaction, taken just before the row is inserted
# and held to commit: ids are then committed in id order, so a stream that has read up to id
# n can never later find a smaller id committed behind it.
ADVISORY_LOCK = 0x4C495645  # "LIVE"
PRUNE_EVERY = 1000  # ids
KEEP = timedelta(days=1)


def _setting(name, default):
    return getattr(settings, name, default)


def redis_url() -> str:
    return _setting("LIVE_EVENTS_REDIS_URL", "") or ""


def stream_seconds() -> float:
    return float(_setting("LIVE_EVENTS_STREAM_SECONDS", 55))


def heartbeat_seconds() -> float:
    return float(_setting("LIVE_EVENTS_HEARTBEAT_SECONDS", 15))


def poll_seconds() -> float:
    return float(_setting("LIVE_EVENTS_POLL_SECONDS", 1))


# --- writing -------------------------------------------------------------------------------


def publish(topic: str, kind: str, *, object_id=None, payload=None) -> int | None:
    """Record a change for live pages, in the caller's transaction; listeners are woken once it
    commits. Never raises: a failed insert is logged and the caller's change goes on (the
    savepoint keeps its transaction usable). Returns the event id, or None."""
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
            event = LiveEvent.objects.create(
                topic=topic, kind=kind, object_id=object_id, payload=payload or {}
            )
    except DatabaseError as error:
        logger.warning("live event %s %s not recorded: %s", topic, kind, error)
        return None
    transaction.on_commit(lambda: announce(event.pk), robust=True)
    if event.pk % PRUNE_EVERY == 0:
        after_commit(prune)
    return event.pk


def prune(*, older_than=KEEP) -> int:
    """Events older than a day: no page is that far behind (a page reloaded starts afresh)."""
    deleted, _ = LiveEvent.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted


def latest_id() -> int:
    """Where a page rendered now starts its stream: it shows everything up to this id."""
    return LiveEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


_publisher = {"url": None, "client": None}


def _redis_client(url):
    if _publisher["url"] != url:
        timeout = float(_setting("CACHE_TIMEOUT_SECONDS", 0.5))
        _publisher["client"] = redis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout
        )
        _publisher["url"] = url
    return _publisher["client"]


def announce(event_id: int) -> None:
    """After commit: wake this process's streams at once, and the other processes' through
    Redis when it is configured (a dead Redis is counted; their streams poll meanwhile)."""
    hub.wake(event_id)
    url = redis_url()
    if url:
        try:
            _redis_client(url).publish(REDIS_CHANNEL, str(event_id))
        except shared_cache.CACHE_ERRORS as error:
            shared_cache.unavailable(USE, error)


# --- waking listeners ----------------------------------------------------------------------


class Hub:
    """This process's listeners. `version` grows on every wake: a stream notes it before it
    reads the table and waits only while it is unchanged, so a wake between its read and its
    wait is never lost."""

    def __init__(self):
        self.condition = threading.Condition()
        self.version = 0
        self.async_waiters = set()
        # Streams opened before the latest end_streams() finish at their next wake.
        self.generation = 0

    def wake(self, event_id=None) -> None:
        with self.condition:
            self.version += 1
            self.condition.notify_all()
            waiters = list(self.async_waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # its loop has closed
                pass

    def wait(self, seen: int, timeout: float) -> bool:
        """Block until woken after `seen` or `timeout` seconds; True when woken."""
        with self.condition:
            return self.condition.wait_for(lambda: self.version != seen, timeout)

    async def async_wait(self, seen: int, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        entry = (loop, woken)
        with self.condition:
            if self.version != seen:
                return True
            self.async_waiters.add(entry)
        try:
            await asyncio.wait_for(woken.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self.condition:
                self.async_waiters.discard(entry)


hub = Hub()


def end_streams() -> None:
    """End every open stream of this process now (their browsers reconnect): at shutdown, and
    in tests, so no stream outlives its test holding a database connection."""
    hub.generation += 1
    hub.wake()


class RedisSubscriber(threading.Thread):
    """One per web process in Redis mode: SUBSCRIBEs to the announcements of every process and
    wakes this one's streams. Reconnects every second while Redis is down; on reconnecting it
    wakes everyone, who then read what was committed meanwhile."""

    daemon = True

    def __init__(self, url):
        super().__init__(name="live-events-subscriber")
        self.url = url
        self.connected = threading.Event()
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            pubsub = None
            try:
                client = redis.Redis.from_url(
                    self.url,
                    socket_connect_timeout=float(_setting("CACHE_TIMEOUT_SECONDS", 0.5)),
                    health_check_interval=10,
                )
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(REDIS_CHANNEL)
                self.connected.set()
                hub.wake()
                while not self.stopped.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        hub.wake()
            except shared_cache.CACHE_ERRORS as error:
                self.connected.clear()
                shared_cache.unavailable(USE, error)
                self.stopped.wait(1.0)
            finally:
                self.connected.clear()
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except shared_cache.CACHE_ERRORS:
                        pass

    def stop(self):
        self.stopped.set()


_subscriber_lock = threading.Lock()
_subscriber = {"thread": None}


def subscriber() -> RedisSubscriber | None:
    """The process's Redis subscriber, started on first use (None in embedded mode)."""
    url = redis_url()
    with _subscriber_lock:
        thread = _subscriber["thread"]
        if thread is not None and (thread.url != url or not thread.is_alive()):
            thread.stop()
            thread = _subscriber["thread"] = None
        if url and thread is None:
            thread = _subscriber["thread"] = RedisSubscriber(url)
            thread.start()
        return thread


def stop_subscriber() -> None:
    """Tests and shutdown: end the subscriber thread (within a second)."""
    with _subscriber_lock:
        thread, _subscriber["thread"] = _subscriber["thread"], None
    if thread is not None:
        thread.stop()
        thread.join(timeout=5)


def wait_timeout() -> float:
    """How long a stream waits for a wake before reading the table anyway: a heartbeat while
    the wake-ups can be trusted, a second when they cannot (the Redis subscriber is
    disconnected, or no Redis while workers in other processes write)."""
    thread = subscriber()
    if thread is not None:
        trusted = thread.connected.is_set()
    else:
        trusted = bool(_setting("CELERY_TASK_ALWAYS_EAGER", True))
    return heartbeat_seconds() if trusted else poll_seconds()


# --- reading: server-sent events ------------------------------------------------------------


FIELDS = ("id", "topic", "kind", "object_id", "payload")


class RecentEvents:
    """The events this process read last, shared by all its streams: a change costs one query
    per process, not one per open page. Complete from `floor` (exclusive) to `top`; a stream
    further behind (a page resuming after a long drop) reads the table itself."""

    SIZE = 2000

    def __init__(self):
        self.lock = threading.Lock()
        self.clear()

    def clear(self):
        """Forget what was read (tests, whose rolled-back rows may reuse ids)."""
        self.rows, self.floor, self.top, self.version, self.read_at = [], None, None, None, 0.0

    def _refresh(self):
        now = time.monotonic()
        if self.floor is None:
            self.floor = self.top = latest_id()
        elif self.version == hub.version and now - self.read_at < poll_seconds() / 2:
            return
        version = hub.version
        fresh = list(
            LiveEvent.objects.filter(id__gt=self.top).order_by("id").values(*FIELDS)[: self.SIZE]
        )
        # A full batch may have more behind it: read again next time, woken or not.
        self.version = version if len(fresh) < self.SIZE else None
        self.read_at = now
        if fresh:
            self.rows.extend(fresh)
            self.top = fresh[-1]["id"]
        if len(self.rows) > self.SIZE:
            self.floor = self.rows[-self.SIZE - 1]["id"]
            self.rows = self.rows[-self.SIZE :]

    def after(self, after, topic, object_id, limit):
        with self.lock:
            self._refresh()
            floor, top = self.floor, self.top
            if after >= floor:
                found = [
                    row
                    for row in self.rows
                    if row["id"] > after
                    and row["topic"] == topic
                    and (object_id is None or row["object_id"] == object_id)
                ][:limit]
                if len(found) == limit:
                    return found[-1]["id"], found
                return max(after, top), found
        events = LiveEvent.objects.filter(topic=topic, id__gt=after)
        if object_id is not None:
            events = events.filter(object_id=object_id)
        found = list(events.order_by("id").values(*FIELDS)[:limit])
        if len(found) == limit:
            return found[-1]["id"], found
        # Everything up to the floor was committed before it was read (ids commit in order).
        return max([after, floor, *(row["id"] for row in found)]), found


recent = RecentEvents()


def events_after(after: int, *, topic: str, object_id=None, limit=200) -> tuple[int, list[dict]]:
    """(how far the reader has now looked, [events of `topic` after `after`, in id order])."""
    return recent.after(after, topic, object_id, limit)


def format_event(event_id: int, kind: str, data: str) -> str:
    return f"id: {event_id}\nevent: {kind}\ndata: {data}\n\n"


def parse_last_id(*values) -> int:
    """The first of (Last-Event-ID header, ?after=) that is a non-negative integer, else 0."""
    for value in values:
        value = (value or "").strip()
        if value.isdigit() and len(value) < 19:
            return int(value)
    return 0


def release_connections() -> None:
    """Close this thread's idle database connections."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()


class Stream:
    """One page's event stream. `read(after)` returns (the last id it looked at, [(id, kind,
    json text)]) for what this reader may see; ids it may not see still move it on."""

    def __init__(self, read, after: int, *, lifetime=None):
        self.read = read
        self.after = after
        self.lifetime = stream_seconds() if lifetime is None else lifetime

    def _opening(self):
        retry_ms = int(poll_seconds() * 1000)
        return f"retry: {retry_ms}\n: connected\n\n"

    def _take(self):
        self.after, items = self.read(self.after)
        return "".join(format_event(*item) for item in items)

    def __iter__(self):
        deadline = time.monotonic() + self.lifetime
        generation = hub.generation
        yield self._opening()
        last_write = time.monotonic()
        while hub.generation == generation:
            seen = hub.version
            chunk = self._take()
            now = time.monotonic()
            if chunk:
                yield chunk
                last_write = now
            elif now - last_write >= heartbeat_seconds():
                yield ": heartbeat\n\n"
                last_write = now
            remaining = deadline - now
            if remaining <= 0:
                return
            hub.wait(seen, min(wait_timeout(), remaining, heartbeat_seconds()))

    async def __aiter__(self):
        deadline = time.monotonic() + self.lifetime
        generation = hub.generation
        # Under ASGI the view ran in a thread of its own whose database connection would be
        # held until the stream ends: one per open page. Reads run in the shared pool instead.
        await sync_to_async(release_connections)()
        yield self._opening()
        last_write = time.monotonic()
        take = sync_to_async(self._take, thread_sensitive=False)
        while hub.generation == generation:
            seen = hub.version
            chunk = await take()
            now = time.monotonic()
            if chunk:
                yield chunk
                last_write = now
            elif now - last_write >= heartbeat_seconds():
                yield ": heartbeat\n\n"
                last_write = now
            remaining = deadline - now
            if remaining <= 0:
                return
            await hub.async_wait(seen, min(wait_timeout(), remaining, heartbeat_seconds()))
