"""Delivery: handing message rows to the send tasks, the send-time rules and the claim that
makes every send idempotent, the provider call and its outcome.

Campaign rows (campaigns.services.launch) and journey rows (campaigns.services.journeys)
are sent by Celery tasks in chunks (`campaigns.tasks.send_chunk`). Each send:

1. checks the rules *at send time*, in bulk per chunk: an address, no suppression, consent
   for the channel kind and purpose (latest decision wins), quiet hours in the customer's
   time zone (the row waits until they end), and for marketing the frequency cap across ALL
   channels (counted under a lock of the customer row, so two campaigns cannot both take the
   last place);
2. claims its row: `UPDATE ... SET status='sending' WHERE id=%s AND status='queued'`; a
   retried task, a duplicate task or a second worker finds nothing to claim;
3. calls the provider with the row's idempotency key (SMTP Message-ID, HTTP Idempotency-Key);
4. marks the row sent (`WHERE status='sending'`), one row at a time, committed before the
   thread sends its next message.

A big chunk is sent by SEND_THREADS threads (the calling one and SEND_THREADS - 1 more, each
with its own database connection and SMTP session), because a send mostly waits on the
network. On PostgreSQL the per-message outcome of step 4 commits without waiting for the disk
flush (`_commits_without_flush`); the claim of step 2 and an issued coupon commit durably.

Delivery choice: AT LEAST ONCE to the provider, deduplicated downstream by the idempotency
key. Only a worker killed between the provider's acceptance (step 3) and the commit of step 4
(or a crash of the database server just after that commit, which does not wait for the disk)
leaves a row that may have gone out and is still "sending". `recover_stuck_sends` hands
such rows back to the send tasks after a lease, which send them with the SAME idempotency
key, so the provider (HTTP Idempotency-Key) or the mail system (same Message-ID) sees one
message, and nobody is ever skipped. The other choice, at most once, would mark such rows
failed and could silently skip a customer.

Failures: a row fails for good only for its own fault (its template cannot be rendered for
this customer, the provider refuses it, or MAX_ATTEMPTS were spent). A provider's transient
error queues the row again after a backoff (the dispatch beat hands it out when due); a
database error or the task's time limit puts the claimed, unsent rows back in the queue and
the send task retries with backoff (`deliver`, `campaigns.tasks.send_chunk`).
"""

import logging
import os
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext
from datetime import datetime, time, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from campaigns.models import (
    SENT_STATUSES,
    Campaign,
    CampaignMessage,
    JourneyStep,
    MessageStatus,
    MessageTemplate,
    Suppression,
)
from campaigns.services.audience import ADDRESS_KINDS, quiet_hours_end, time_zone_of
from campaigns.services.coupons import issue_code
from campaigns.services.outbound import NoProviderTemplate, outbound_for
from campaigns.services.tracking import suppression_digest
from core.models import Channel
from core.providers import ProviderError, send_message, sending_session
from core.services.enqueue import enqueue
from customers.choices import ConsentPurpose
from customers.selectors import is_consented, latest_consents, lock_customers
from customers.services.reachability import mark_unreachable, unreachable_values

logger = logging.getLogger("omni.campaigns")

DEFAULT_FREQUENCY_CAP = 3  # marketing messages per customer...
DEFAULT_FREQUENCY_WINDOW_DAYS = 7  # ...per this many days, all channels together
CHUNK_SIZE = 250  # messages per send task
SEND_LEASE = timedelta(minutes=10)  # a row "sending" longer than this lost its worker
MAX_ATTEMPTS = 5
CLAIM_BATCH = 50  # rows claimed (and their customers locked) at once, per thread
SEND_THREADS = 8  # concurrent sends per worker process, one database connection each
THREADED_FROM = 20  # fewer ready rows than this are sent by the calling thread alone
# The send task, by the name it is registered under: campaigns.tasks imports this module, so
# this module never imports campaigns.tasks (campaigns/apps.py imports it at start-up, which
# registers the name in every process: web, worker, tests).
SEND_CHUNK_TASK = "campaigns.send_chunk"


# --- dispatch ------------------------------------------------------------------------------


def hand_to_senders(ids, chunk_size=None) -> None:
    """Give rows (already marked handed out) to send tasks, CHUNK_SIZE rows a task. A chunk
    the broker refused is handed out again by campaigns.dispatch after the lease."""
    size = chunk_size or CHUNK_SIZE
    for start in range(0, len(ids), size):
        enqueue(SEND_CHUNK_TASK, (ids[start : start + size],))


def enqueue_due(
    *, campaign_id=None, now=None, limit=200_000, lease=SEND_LEASE, chunk_size=None
) -> int:
    """Hand due queued rows to send tasks in chunks. A row handed out recently is not handed
    out again (a lost task is noticed after SEND_LEASE and its rows handed out anew)."""

    now = now or timezone.now()
    rows = CampaignMessage.objects.filter(status=MessageStatus.QUEUED, not_before__lte=now).filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=now - lease)
    )
    if campaign_id is not None:
        rows = rows.filter(campaign_id=campaign_id)
    ids = list(rows.order_by("id").values_list("id", flat=True)[:limit])
    size = chunk_size or CHUNK_SIZE
    for start in range(0, len(ids), size):
        CampaignMessage.objects.filter(pk__in=ids[start : start + size]).update(enqueued_at=now)
    hand_to_senders(ids, size)
    return len(ids)


# --- the send itself -----------------------------------------------------------------------


def send_messages(message_ids, *, now=None) -> dict:
    """Send these rows if they are still queued and due. Safe to call twice, from two
    workers, or again after a crash: only a successful claim leads to a provider call."""
    now = now or timezone.now()
    outcome = defaultdict(int)
    rows = _queued_rows(list(message_ids), now)
    if not rows:
        return dict(outcome)
    ready = _apply_gates(rows, now, outcome)
    threads = SEND_THREADS if _may_use_threads() and len(ready) > THREADED_FROM else 1
    if threads == 1:
        _send_ready(ready, now, outcome)
        return dict(outcome)
    # SMTP and HTTP providers wait on the network: a few threads keep a worker busy. Each
    # thread claims and sends its own part on its own database connection; the calling
    # thread takes the first part on its own connection.
    parts = [ready[index::threads] for index in range(threads)]
    kept = _kept_pool()
    with nullcontext(kept) if kept else ThreadPoolExecutor(max_workers=threads - 1) as pool:
        others = [
            pool.submit(_send_part, part, now, keep_connection=bool(kept)) for part in parts[1:]
        ]
        try:
            _send_ready(parts[0], now, outcome)
        finally:
            wait(others)
        for future in others:
            for key, value in future.result().items():
                outcome[key] += value
    return dict(outcome)


def _queued_rows(message_ids, now) -> list:
    """The rows still queued and due, with their customer; the campaign, channel, template
    (and its translations) and journey step are shared by many rows, so each is loaded once
    and set on every row that has it, instead of a joined copy per row."""
    rows = list(
        CampaignMessage.objects.filter(
            pk__in=message_ids, status=MessageStatus.QUEUED, not_before__lte=now
        )
        .select_related("customer")
        .order_by("id")
    )
    shared = {
        "campaign": Campaign.objects.all(),
        "channel": Channel.objects.all(),
        "template": MessageTemplate.objects.prefetch_related("translations"),
        "journey_step": JourneyStep.objects.all(),
    }
    for field, queryset in shared.items():
        wanted = {getattr(row, f"{field}_id") for row in rows} - {None}
        found = queryset.in_bulk(wanted) if wanted else {}
        for row in rows:
            key = getattr(row, f"{field}_id")
            if key is None or key in found:  # one deleted meanwhile is left to load lazily
                setattr(row, field, found.get(key))
    return rows


def _may_use_threads() -> bool:
    # Not inside a transaction (other connections would not see its rows), not on SQLite.
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def _send_ready(ready, now, outcome):
    # One provider session per thread: an SMTP connection carries the whole part, instead of
    # a handshake per email.
    with sending_session(), _commits_without_flush():
        for claimed in _claim(ready, now, outcome):
            for index, message in enumerate(claimed):
                try:
                    outcome[deliver(message)] += 1
                except BaseException:
                    # A database error or the task's time limit: the rows claimed with this
                    # one and not yet tried go back to the queue for the task's retry.
                    _release(claimed[index + 1 :], "interrupted before its turn")
                    raise


@contextmanager
def _commits_without_flush():
    """On PostgreSQL, commits on this connection return before their WAL reaches the disk
    (`synchronous_commit` off) until the block ends; elsewhere nothing changes.

    For the outcome of each send (sent, failed, retry): waiting for a disk flush per message
    costs more than the SMTP dialogue. It is safe because only a crash of the database server
    (not of a worker) can lose such a commit, and what it loses is the record of an outcome:
    the row stays "sending" and `recover_stuck_sends` sends it again with the same
    idempotency key, as after a worker killed between the provider's acceptance and the
    commit. Such a commit is visible to other connections at once, like any other. What
    must survive a database crash (a claim, an issued coupon) commits in `_durably()`.

    Not behind a transaction-mode pooler (DATABASE_POOLER): there a session setting stays on
    whichever server connection ran the SET, reaching other clients' commits (an order's),
    and the RESET may run on another; every commit waits for the disk there."""
    if connection.vendor != "postgresql" or settings.DATABASE_POOLER:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:
            # A broken connection: Django discards it, and the setting with it.
            logger.warning("could not reset synchronous_commit", exc_info=True)


@contextmanager
def _durably():
    """A transaction whose commit waits for the disk as configured, also inside
    `_commits_without_flush`: a claim counts toward the frequency cap and an issued coupon
    is printed in the message, so neither may vanish in a database crash after the message
    went out."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO DEFAULT")
        yield


def _send_part(part, now, *, keep_connection=False) -> dict:
    """A part sent by a helper thread, on that thread's own database connection: closed
    afterwards, or, in a worker process's kept threads, kept while CONN_MAX_AGE allows."""
    outcome = defaultdict(int)
    if keep_connection:
        close_old_connections()
    try:
        _send_ready(part, now, outcome)
    finally:
        if keep_connection:
            close_old_connections()
        else:
            connection.close()
    return outcome


_kept_senders: dict = {}  # {"pool": ThreadPoolExecutor, "pid": os.getpid()} once kept


def keep_senders():
    """Called when a worker process starts (campaigns.tasks): from then on its sending
    threads, and their database connections, serve task after task instead of being made
    for each chunk (opening 7 connections costs the CPU of sending some 40 emails).
    Elsewhere (tests, eager mode, commands) threads live for one call, and their connections
    with them, so nothing stays connected to a database that is about to be dropped."""
    _kept_senders.clear()
    _kept_senders["pid"] = os.getpid()


def _kept_pool() -> ThreadPoolExecutor | None:
    if _kept_senders.get("pid") != os.getpid():
        return None  # not kept, or inherited through a fork: threads do not survive one
    if "pool" not in _kept_senders:
        _kept_senders["pool"] = ThreadPoolExecutor(
            max_workers=SEND_THREADS - 1, thread_name_prefix="campaign-send"
        )
    return _kept_senders["pool"]


def _suppress(message, reason, outcome):
    CampaignMessage.objects.filter(pk=message.pk, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SUPPRESSED, status_reason=reason[:200]
    )
    outcome["suppressed"] += 1


def _apply_gates(rows, now, outcome):
    """Address, suppression list, consent and quiet hours, in bulk for the chunk."""
    addresses = {m.to for m in rows if m.to}
    # An erased person's suppressions are kept as digests of her addresses.
    digests = {address: suppression_digest(address) for address in addresses}
    suppressed = set(
        Suppression.objects.filter(address__in=addresses | set(digests.values())).values_list(
            "channel_kind", "address"
        )
    )
    unreachable = unreachable_values(addresses)
    consents = {
        purpose: latest_consents([m.customer_id for m in rows if m.purpose == purpose], purpose)
        for purpose in {m.purpose for m in rows}
    }
    ready = []
    deferred: dict[datetime, list[int]] = defaultdict(list)
    for message in rows:
        kind = message.channel.kind if message.channel_id else ""
        if not message.channel_id or not message.to:
            _suppress(message, "no channel or address", outcome)
        elif message.customer.erased_at or message.customer.merged_into_id:
            _suppress(message, "customer erased or merged", outcome)
        elif (kind, message.to) in suppressed or (kind, digests[message.to]) in suppressed:
            _suppress(message, "address suppressed (bounce, complaint or do-not-contact)", outcome)
        elif message.to in unreachable:
            _suppress(message, "address unreachable (the provider said so)", outcome)
        elif not is_consented(
            consents[message.purpose], message.customer_id, kind, message.purpose
        ):
            _suppress(message, f"no {message.purpose} consent for {kind}", outcome)
        else:
            start, end = _quiet_hours_of(message)
            wake = (
                quiet_hours_end(now, time_zone_of(message.customer), start, end)
                if start and end
                else None
            )
            if wake:
                deferred[wake].append(message.pk)
                outcome["deferred"] += 1
            else:
                ready.append(message)
    for wake, ids in deferred.items():
        CampaignMessage.objects.filter(pk__in=ids, status=MessageStatus.QUEUED).update(
            not_before=wake, enqueued_at=None
        )
    return ready


def _quiet_hours_of(message):
    campaign = message.campaign
    if campaign and campaign.quiet_hours_start and campaign.quiet_hours_end:
        return campaign.quiet_hours_start, campaign.quiet_hours_end
    if message.purpose == ConsentPurpose.MARKETING and not campaign:
        # Journeys' marketing messages keep the night quiet by default: 21:00 to 08:00.
        return time(21, 0), time(8, 0)
    return None, None


def _cap_of(message):
    campaign = message.campaign
    if campaign is not None and campaign.frequency_cap is not None:
        return campaign.frequency_cap, campaign.frequency_window_days
    if campaign is not None:
        return DEFAULT_FREQUENCY_CAP, campaign.frequency_window_days
    return DEFAULT_FREQUENCY_CAP, DEFAULT_FREQUENCY_WINDOW_DAYS


def _claim(ready, now, outcome):
    """queued -> sending, by a guarded UPDATE (`WHERE status='queued'`) per batch, yielding
    each batch's claimed rows so they are sent before the next batch is claimed: a killed
    worker leaves at most one batch "sending". For marketing rows the frequency cap is counted while the
    customer rows are locked, so concurrent sends to one customer queue behind each other."""
    for start in range(0, len(ready), CLAIM_BATCH):
        batch = ready[start : start + CLAIM_BATCH]
        marketing = [m for m in batch if m.purpose == ConsentPurpose.MARKETING]
        if not marketing:
            with _durably():
                claimed = _claim_rows(batch, now)
            yield claimed
            continue
        with _durably():
            allowed = [m for m in batch if m.purpose != ConsentPurpose.MARKETING]
            ids = sorted({m.customer_id for m in marketing})
            lock_customers(ids)
            longest = max(_cap_of(m)[1] for m in marketing)
            recent = defaultdict(list)
            for customer_id, when in (
                CampaignMessage.objects.filter(
                    customer_id__in=ids,
                    purpose=ConsentPurpose.MARKETING,
                    claimed_at__gte=now - timedelta(days=longest),
                )
                .filter(status__in=(*SENT_STATUSES, MessageStatus.SENDING))
                .values_list("customer_id", "claimed_at")
            ):
                recent[customer_id].append(when)
            for message in marketing:
                cap, days = _cap_of(message)
                count = sum(
                    1 for when in recent[message.customer_id] if when >= now - timedelta(days=days)
                )
                if count >= cap:
                    _suppress(
                        message, f"frequency cap: {cap} marketing messages in {days} days", outcome
                    )
                    continue
                recent[message.customer_id].append(now)
                allowed.append(message)
            claimed = _claim_rows(allowed, now)
        yield claimed


def _claim_rows(messages, now) -> list:
    """One guarded UPDATE claims the rows still queued; a second worker claiming the same
    rows gets none of them (the claim token tells whose they are)."""
    if not messages:
        return []
    claimed_at = max(now, timezone.now())  # the lease of a stuck row counts from here
    token = uuid.uuid4().hex
    CampaignMessage.objects.filter(
        pk__in=[m.pk for m in messages], status=MessageStatus.QUEUED
    ).update(
        status=MessageStatus.SENDING,
        claimed_at=claimed_at,
        claimed_by=token,
        attempts=F("attempts") + 1,
    )
    won = set(
        CampaignMessage.objects.filter(
            pk__in=[m.pk for m in messages], claimed_by=token
        ).values_list("pk", flat=True)
    )
    claimed = []
    for message in messages:
        if message.pk in won:
            message.status = MessageStatus.SENDING
            message.claimed_at = claimed_at
            message.attempts += 1
            claimed.append(message)
    return claimed


TRANSIENT_ERRORS = (DatabaseError, InterfaceError, SoftTimeLimitExceeded)


def deliver(message) -> str:
    """Send a claimed row and record the outcome. Returns sent / retry / failed.

    Only the message's own faults fail it for good: a template that cannot be rendered for
    this customer ("render: ..."), a provider's refusal. A provider's transient error queues
    the row again after a backoff (failed after MAX_ATTEMPTS). A database error or the task's
    time limit is raised (TRANSIENT_ERRORS) for the send task to retry: before the provider
    call the row goes back to the queue first; after the provider accepted the message (its
    "sent" could not be recorded) the row stays "sending", and recovery sends it again after
    the lease with the same idempotency key."""
    try:
        _issue_coupon(message)
        outbound = outbound_for(message)
    except TRANSIENT_ERRORS:
        _release([message], "database error while preparing; retried")
        raise
    except NoProviderTemplate as error:
        CampaignMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.FAILED, status_reason=str(error)[:200]
        )
        return "failed"
    except Exception as error:  # the user's template fails for this customer: this row only
        logger.warning("message %s could not be rendered: %s", message.pk, error, exc_info=True)
        CampaignMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.FAILED, status_reason=f"render: {error}"[:200]
        )
        return "failed"
    try:
        result = send_message(message.channel, outbound)
    except ProviderError as error:
        return _provider_failed(message, error)
    except TRANSIENT_ERRORS:
        _release([message], "interrupted during the provider call; retried")
        raise
    except Exception as error:  # an adapter's own fault: retried like a transient error
        logger.exception("provider of message %s failed unexpectedly", message.pk)
        return _provider_failed(
            message, ProviderError(f"provider: {error}", scope=ProviderError.RETRY)
        )
    _mark_sent(message.pk, result.provider_message_id)
    return "sent"


def _issue_coupon(message) -> None:
    """The coupon the message prints (its journey step's pool, else its campaign's), issued
    once: it is kept on the row and committed durably before the send, so a retried send
    prints the same code."""
    pool = None
    if message.journey_step_id and message.journey_step.coupon_pool_id:
        pool = message.journey_step.coupon_pool
    elif message.campaign_id and message.campaign.coupon_pool_id:
        pool = message.campaign.coupon_pool
    if message.coupon_code is None and pool is not None:
        with _durably():
            coupon = issue_code(pool, message.customer)
            CampaignMessage.objects.filter(pk=message.pk).update(coupon_code=coupon)
        message.coupon_code = coupon


def _provider_failed(message, error: ProviderError) -> str:
    """The provider's answer, by its scope (core.providers.ProviderError): RETRY queues the
    row again after max(our backoff, the provider's Retry-After), failed after MAX_ATTEMPTS;
    MESSAGE fails this row; RECIPIENT fails it and marks the customer's address unreachable,
    so no later campaign selects it."""
    reason = str(error)
    if error.scope == ProviderError.RETRY and message.attempts < MAX_ATTEMPTS:
        backoff = retry_backoff(message.attempts)
        if error.retry_after:
            backoff = max(backoff, timedelta(seconds=float(error.retry_after)))
        CampaignMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.QUEUED,
            not_before=timezone.now() + backoff,
            enqueued_at=None,
            status_reason=reason[:200],
        )
        return "retry"
    CampaignMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=MessageStatus.FAILED, status_reason=reason[:200]
    )
    if error.scope == ProviderError.RECIPIENT and message.to:
        # Only the channel's own kind of address: "not on WhatsApp" says nothing of SMS to
        # the same number.
        kinds = ADDRESS_KINDS.get(message.channel.kind, ())[:1]
        mark_unreachable(
            message.customer_id, kinds, message.to, f"{message.channel.code}: {reason}"
        )
    return "failed"


def retry_backoff(attempts) -> timedelta:
    """How long a row waits after its `attempts`-th transient provider error: the base
    (settings.CAMPAIGN_RETRY_BACKOFF_SECONDS, 30 s by default) doubled per attempt; the
    dispatch beat hands it out again once it is due."""
    base = float(getattr(settings, "CAMPAIGN_RETRY_BACKOFF_SECONDS", 30))
    return timedelta(seconds=base * 2 ** max(attempts - 1, 0))


def _release(messages, reason):
    """Claimed rows that were not sent go back to the queue (sending -> queued), their claim
    not counted as an attempt; still due, and still handed to the task that retries. Best
    effort: on a connection that died with the error, Django reconnects first; when the
    database cannot be reached at all, the rows stay "sending" and `recover_stuck_sends`
    hands them back after the lease."""
    if not messages:
        return
    try:
        if not connection.in_atomic_block and not connection.is_usable():
            connection.close()  # the next query opens a fresh connection
        CampaignMessage.objects.filter(
            pk__in=[m.pk for m in messages], status=MessageStatus.SENDING
        ).update(
            status=MessageStatus.QUEUED,
            attempts=Greatest(F("attempts") - 1, 0),
            claimed_by="",
            status_reason=reason[:200],
        )
    except DatabaseError:
        logger.warning(
            "could not release %s claimed rows; recovered after the lease",
            len(messages),
            exc_info=True,
        )


def _mark_sent(message_id, provider_message_id):
    """sending -> sent, one row, committed before this thread sends its next message: a
    worker killed at any moment leaves at most one accepted message per thread recorded as
    "sending" (recovery sends it again with the same Message-ID). Plain SQL because it runs
    once per message, and compiling the ORM's UPDATE costs more CPU than the round trip."""
    table = connection.ops.quote_name(CampaignMessage._meta.db_table)
    sent_at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, provider_message_id = %s,"  # noqa: S608
            " status_reason = '' WHERE id = %s AND status = %s",
            [
                MessageStatus.SENT.value,
                sent_at,
                provider_message_id[:255],
                message_id,
                MessageStatus.SENDING.value,
            ],
        )


RECOVER_BATCH = 1000  # stale leases taken back per UPDATE


def recover_stuck_sends(*, stale_after=SEND_LEASE, now=None, limit=200_000) -> int:
    """Rows left "sending" by a worker that died go back to the send tasks: each stale lease
    is taken back by a guarded UPDATE (two dispatchers never take the same row), in batches
    of RECOVER_BATCH, the row queued again (still due, marked handed out now) and handed to
    send tasks in chunks like `enqueue_due`. The send task claims it as any other row and
    sends it with the SAME idempotency key (at least once; the provider or mail system drops
    a duplicate by that key). Nothing is sent here, so a dispatch run stays short.

    A row whose lease ran out after its MAX_ATTEMPTS-th claim is failed instead: a message
    that kills its worker every time must not take the workers down for ever. Returns the
    number of rows handed back."""
    now = now or timezone.now()
    cutoff = now - stale_after
    stale = CampaignMessage.objects.filter(status=MessageStatus.SENDING, claimed_at__lte=cutoff)
    given_up = stale.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=MessageStatus.FAILED,
        status_reason=f"worker lost during each of {MAX_ATTEMPTS} attempts",
    )
    if given_up:
        logger.warning("%s messages failed: their workers died %s times", given_up, MAX_ATTEMPTS)
    handed = 0
    while handed < limit:
        batch = list(
            stale.order_by("id").values_list("id", flat=True)[: min(RECOVER_BATCH, limit - handed)]
        )
        if not batch:
            break
        token = uuid.uuid4().hex
        CampaignMessage.objects.filter(
            pk__in=batch, status=MessageStatus.SENDING, claimed_at__lte=cutoff
        ).update(status=MessageStatus.QUEUED, claimed_by=token, enqueued_at=now)
        taken = list(
            CampaignMessage.objects.filter(pk__in=batch, claimed_by=token)
            .order_by("id")
            .values_list("id", flat=True)
        )
        hand_to_senders(taken)
        handed += len(taken)
    return handed
