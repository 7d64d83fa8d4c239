"""Segments sent to ad platforms as hashed audiences, and store purchases after an ad click
sent as offline conversions.

Who is sent: the segment's live members who consent to marketing by email, SMS or on ads,
unless they said no to ads (their latest marketing decision on the `ads` channel kind
withdrew it). What is sent: SHA-256 of each email (trimmed, lower case) and phone (E.164).
Each sync sends only the difference from what the list was last sent (AdAudienceMember):
removals first, then additions. A withdrawal of marketing consent or an erasure asks at once
for a sync of every audience holding her hashes; an erased customer's hashes are kept only
until that removal is sent, then deleted.
"""

import hashlib
import logging
from collections import defaultdict
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.models import (
    AdAudience,
    AdAudienceMember,
    AdAudienceSync,
    AdConversionUpload,
    AdPlatform,
    ConversionStatus,
    HashKind,
    SyncStatus,
)
from campaigns.services import ad_platforms
from campaigns.services.segments import segment_queryset
from core.models import ChannelKind
from core.providers import ProviderError
from core.services.enqueue import enqueue_after_commit
from customers.choices import ConsentPurpose
from customers.normalise import normalise_email, normalise_phone
from customers.selectors import (
    ad_clicks_of,
    consenting,
    identity_values_of,
    known_customers,
    withdrew_consent,
)
from orders.selectors import store_purchases_between

logger = logging.getLogger(__name__)

SYNC_TASK = "campaigns.sync_ad_audience"
# Consent to marketing on one of these kinds lets her hashes go to ad platforms.
CONSENT_KINDS = (ChannelKind.EMAIL, ChannelKind.SMS, ChannelKind.ADS)
# Attempts at a conversion upload the platform keeps refusing for a temporary reason.
MAX_CONVERSION_ATTEMPTS = 10
CLICK_KEYS = {AdPlatform.GOOGLE_ADS: "gclid", AdPlatform.META: "fbclid"}


# --- hashing ---------------------------------------------------------------------------------


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def email_digest(raw: str) -> str:
    try:
        email = normalise_email(raw or "").strip().lower()
    except ValueError:  # not an email address: nothing to send
        return ""
    return sha256(email) if "@" in email else ""


def phone_digest(raw: str) -> str:
    try:
        phone = normalise_phone(raw or "")
    except ValueError:  # not a phone number: nothing to send
        return ""
    return sha256(phone) if phone.startswith("+") else ""


DIGESTS = {HashKind.EMAIL: email_digest, HashKind.PHONE: phone_digest}


def ad_consent():
    """The condition on customers whose hashes may go to ad platforms."""
    condition = consenting(CONSENT_KINDS[0], ConsentPurpose.MARKETING)
    for kind in CONSENT_KINDS[1:]:
        condition |= consenting(kind, ConsentPurpose.MARKETING)
    return condition & ~withdrew_consent(ChannelKind.ADS, ConsentPurpose.MARKETING)


def audience_members(segment):
    """The segment's customers whose hashes may be sent (a queryset of ids)."""
    return segment_queryset(segment.rules).filter(ad_consent()).values("pk")


def hashed_identities(segment):
    """(customer id, kind, sha256) of the consenting members' emails and phones, by customer."""
    for customer_id, kind, value in identity_values_of(
        audience_members(segment), [HashKind.EMAIL, HashKind.PHONE]
    ):
        digest = DIGESTS[kind](value)
        if digest:
            yield customer_id, kind, digest


def wanted_hashes(segment) -> dict[tuple[str, str], int]:
    """{(kind, sha256): customer id} the audience should hold now."""
    return {(kind, digest): customer_id for customer_id, kind, digest in hashed_identities(segment)}


def hashed_audience_rows(segment):
    """The download: one row per member (and per extra email or phone she has), hashes only."""
    yield ["email_sha256", "phone_sha256"]
    current, emails, phones = None, [], []
    for customer_id, kind, digest in hashed_identities(segment):
        if customer_id != current:
            yield from _pairs(emails, phones)
            current, emails, phones = customer_id, [], []
        (emails if kind == HashKind.EMAIL else phones).append(digest)
    yield from _pairs(emails, phones)


def _pairs(emails, phones):
    for index in range(max(len(emails), len(phones))):
        yield [
            emails[index] if index < len(emails) else "",
            phones[index] if index < len(phones) else "",
        ]


# --- syncing ---------------------------------------------------------------------------------


def _record_failure(audience, run, error: ProviderError, now) -> None:
    run.status = SyncStatus.RETRYING if error.scope == ProviderError.RETRY else SyncStatus.FAILED
    run.error = str(error)[:2000]
    AdAudience.objects.filter(pk=audience.pk).update(last_error=run.error, last_error_at=now)


def sync_audience(audience_id: int, *, dry_run: bool = False, reason: str = "schedule"):
    """Bring one audience in step with its segment: send the removals, then the additions,
    and record what the platform now holds. Returns the AdAudienceSync, or None when
    another sync of this audience holds it (it will send the same difference).

    A platform that is down or rate-limits (ProviderError RETRY) leaves the state as it was
    for what was not sent: the run says `retrying` and the caller tries again later. A
    refused request (a wrong list id or token) is recorded on the audience as its last
    error. A dry run computes the difference and sends nothing."""
    now = timezone.now()
    with transaction.atomic():
        audience = (
            AdAudience.objects.select_for_update(skip_locked=True)
            .select_related("segment")
            .filter(pk=audience_id)
            .first()
        )
        if audience is None:
            return None
        wanted = wanted_hashes(audience.segment)
        held = {
            (kind, digest): pk
            for pk, kind, digest in AdAudienceMember.objects.filter(audience=audience).values_list(
                "pk", "kind", "digest"
            )
        }
        additions = sorted(set(wanted) - set(held))
        removals = sorted(set(held) - set(wanted))
        run = AdAudienceSync(audience=audience, reason=reason[:40], started_at=now)
        if dry_run:
            run.status = SyncStatus.DRY_RUN
            run.added, run.removed = len(additions), len(removals)
        else:
            try:
                if audience.platform == AdPlatform.GOOGLE_ADS:
                    _sync_google(audience, run, wanted, held, additions, removals)
                else:
                    _sync_meta(audience, run, wanted, held, additions, removals)
                run.status = SyncStatus.SUCCEEDED
                AdAudience.objects.filter(pk=audience.pk).update(
                    last_synced_at=now, last_error="", last_error_at=None
                )
            except ProviderError as error:
                _record_failure(audience, run, error, now)
        run.finished_at = timezone.now()
        run.save()
        return run


def _remember(audience, wanted, pairs) -> None:
    AdAudienceMember.objects.bulk_create(
        [
            AdAudienceMember(
                audience=audience, customer_id=wanted[pair], kind=pair[0], digest=pair[1]
            )
            for pair in pairs
        ],
        ignore_conflicts=True,
    )


def _forget(held, pairs) -> None:
    AdAudienceMember.objects.filter(pk__in=[held[pair] for pair in pairs]).delete()


def _sync_google(audience, run, wanted, held, additions, removals) -> None:
    if not additions and not removals:
        return
    client = ad_platforms.GoogleAds(audience.account_id)
    refused = client.sync_user_list(audience.external_id, add=additions, remove=removals)
    sent_removals = [pair for pair in removals if pair not in refused]
    sent_additions = [pair for pair in additions if pair not in refused]
    _forget(held, sent_removals)
    _remember(audience, wanted, sent_additions)
    run.removed, run.added, run.rejected = len(sent_removals), len(sent_additions), len(refused)


def _sync_meta(audience, run, wanted, held, additions, removals) -> None:
    if not additions and not removals:
        return
    client = ad_platforms.Meta()
    # Batch by batch, so what went before a failure stays recorded as sent.
    for remove, pairs in ((True, removals), (False, additions)):
        by_kind = defaultdict(list)
        for pair in pairs:
            by_kind[pair[0]].append(pair)
        for kind in sorted(by_kind):
            for chunk in ad_platforms.batches(by_kind[kind]):
                invalid = client.change_audience(
                    audience.external_id, kind, [digest for _kind, digest in chunk], remove=remove
                )
                run.rejected += invalid
                if remove:
                    _forget(held, chunk)
                    run.removed += len(chunk)
                else:
                    _remember(audience, wanted, chunk)
                    run.added += len(chunk)


def sync_all(*, dry_run: bool = False, reason: str = "schedule") -> list:
    """Sync every enabled audience; returns their runs."""
    runs = []
    for audience_id in AdAudience.objects.filter(is_enabled=True).values_list("pk", flat=True):
        run = sync_audience(audience_id, dry_run=dry_run, reason=reason)
        if run is not None:
            runs.append(run)
    return runs


def request_removal(customer_ids, *, reason: str = "removal") -> list[int]:
    """Ask for a sync, after the commit, of every audience holding hashes of these customers
    (she withdrew consent or was erased): the sync sends her removal. Returns the ids."""
    audience_ids = sorted(
        set(
            AdAudienceMember.objects.filter(customer_id__in=list(customer_ids)).values_list(
                "audience_id", flat=True
            )
        )
    )
    for audience_id in audience_ids:
        enqueue_after_commit(SYNC_TASK, audience_id, reason=reason)
    return audience_ids


def on_consent_recorded(consent) -> None:
    """A withdrawn marketing consent on a kind that lets hashes go asks for her removal."""
    if (
        consent.purpose == ConsentPurpose.MARKETING
        and consent.status == "withdrawn"
        and consent.channel_kind in CONSENT_KINDS
    ):
        request_removal([consent.customer_id], reason="consent withdrawn")


# --- privacy ---------------------------------------------------------------------------------


def export_ad_data(customer) -> dict:
    return {
        "ad_audiences": sorted(
            {
                f"{platform}:{external_id}"
                for platform, external_id in AdAudienceMember.objects.filter(
                    customer=customer
                ).values_list("audience__platform", "audience__external_id")
            }
        ),
        "offline_conversions": [
            {"order": row.order_number, "platform": row.platform, "status": row.status}
            for row in AdConversionUpload.objects.filter(customer=customer)
        ],
    }


def erase_ad_data(customer) -> None:
    """Her hashes stay only as the removal still to send (no longer tied to her) and a sync
    of each audience is asked for; her click ids go from the conversions log."""
    request_removal([customer.pk], reason="erased")
    AdAudienceMember.objects.filter(customer=customer).update(customer=None)
    AdConversionUpload.objects.filter(customer=customer, status=ConversionStatus.PENDING).update(
        status=ConversionStatus.FAILED, error="The customer was erased: not uploaded."
    )
    AdConversionUpload.objects.filter(customer=customer).update(customer=None, click_id="")


# --- offline conversions ---------------------------------------------------------------------


def click_id_in(properties: dict, key: str) -> str:
    value = str((properties or {}).get(key) or "").strip()
    if not value:
        url = str((properties or {}).get("url") or "")
        if url.startswith(("http://", "https://")):
            value = (parse_qs(urlsplit(url).query).get(key) or [""])[0].strip()
    return value[:255]


def note_conversions(*, now=None) -> int:
    """Store purchases of the conversion window whose buyer clicked an ad (a gclid or
    fbclid on her timeline) in the window before buying, and consents to marketing: one
    pending upload per order and platform. Returns how many were new."""
    now = now or timezone.now()
    window = timedelta(days=settings.AD_CONVERSION_WINDOW_DAYS)
    purchases = store_purchases_between(now - window, now)
    buyers = {purchase["customer_id"] for purchase in purchases}
    consenting_buyers = set(
        known_customers().filter(pk__in=buyers).filter(ad_consent()).values_list("pk", flat=True)
    )
    clicks = defaultdict(list)
    for customer_id, occurred_at, properties in ad_clicks_of(
        consenting_buyers, since=now - 2 * window, until=now
    ):
        clicks[customer_id].append((occurred_at, properties))
    rows = []
    for purchase in purchases:
        for platform, key in CLICK_KEYS.items():
            click = _last_click(clicks[purchase["customer_id"]], key, purchase["placed_at"], window)
            if click is None:
                continue
            rows.append(
                AdConversionUpload(
                    order_number=purchase["number"],
                    platform=platform,
                    customer_id=purchase["customer_id"],
                    click_id=click[1],
                    clicked_at=click[0],
                    purchased_at=purchase["placed_at"],
                    value=purchase["total"] or 0,
                    currency=purchase["currency"] or "",
                )
            )
    before = AdConversionUpload.objects.count()
    AdConversionUpload.objects.bulk_create(rows, ignore_conflicts=True)
    return AdConversionUpload.objects.count() - before


def _last_click(clicks, key, bought_at, window):
    found = None
    for occurred_at, properties in clicks:
        if bought_at - window <= occurred_at <= bought_at:
            value = click_id_in(properties, key)
            if value:
                found = (occurred_at, value)
    return found


def upload_conversions(*, now=None) -> dict:
    """Note new conversions, then upload every pending one once per platform. A platform
    that is down leaves them pending (tried again next time); a conversion the platform
    refuses is marked failed with its reason. Returns counts per platform."""
    noted = note_conversions(now=now)
    result = {"noted": noted}
    for platform in CLICK_KEYS:
        with transaction.atomic():
            rows = list(
                AdConversionUpload.objects.select_for_update(skip_locked=True)
                .filter(platform=platform, status=ConversionStatus.PENDING)
                .exclude(click_id="")
                .order_by("purchased_at", "id")[:2000]
            )
            rows = _still_consenting(rows)
            if not rows:
                continue
            try:
                refused = _upload(platform, rows)
            except ProviderError as error:
                for row in rows:
                    row.attempts += 1
                    row.error = str(error)[:2000]
                    if (
                        error.scope != ProviderError.RETRY
                        or row.attempts >= MAX_CONVERSION_ATTEMPTS
                    ):
                        row.status = ConversionStatus.FAILED
                AdConversionUpload.objects.bulk_update(rows, ["attempts", "error", "status"])
                result[platform] = {"uploaded": 0, "error": str(error)}
                continue
            moment = timezone.now()
            for index, row in enumerate(rows):
                row.attempts += 1
                if index in refused:
                    row.status, row.error = ConversionStatus.FAILED, refused[index]
                else:
                    row.status, row.error, row.uploaded_at = ConversionStatus.UPLOADED, "", moment
            AdConversionUpload.objects.bulk_update(
                rows, ["attempts", "status", "error", "uploaded_at"]
            )
            result[platform] = {"uploaded": len(rows) - len(refused), "refused": len(refused)}
    return result


def _still_consenting(rows) -> list:
    """The rows whose buyer still consents; the others are marked failed, never sent."""
    consenting_now = set(
        known_customers()
        .filter(pk__in={row.customer_id for row in rows if row.customer_id})
        .filter(ad_consent())
        .values_list("pk", flat=True)
    )
    withdrawn = [row for row in rows if row.customer_id not in consenting_now]
    for row in withdrawn:
        row.status = ConversionStatus.FAILED
        row.error = "No marketing consent any more: not uploaded."
    AdConversionUpload.objects.bulk_update(withdrawn, ["status", "error"])
    return [row for row in rows if row.customer_id in consenting_now]


def _upload(platform, rows) -> dict[int, str]:
    if platform == AdPlatform.GOOGLE_ADS:
        if not settings.GOOGLE_ADS_CONVERSION_ACTION_ID:
            raise ProviderError(
                "Google Ads is not configured: set GOOGLE_ADS_CONVERSION_ACTION_ID.",
                scope=ProviderError.MESSAGE,
            )
        return ad_platforms.GoogleAds().upload_click_conversions(
            settings.GOOGLE_ADS_CONVERSION_ACTION_ID,
            [
                {
                    "gclid": row.click_id,
                    "at": row.purchased_at,
                    "value": row.value,
                    "currency": row.currency,
                    "order": row.order_number,
                }
                for row in rows
            ],
        )
    if not settings.META_DATASET_ID:
        raise ProviderError(
            "Meta is not configured: set META_DATASET_ID.", scope=ProviderError.MESSAGE
        )
    hashes = defaultdict(lambda: defaultdict(list))
    for customer_id, kind, value in identity_values_of(
        [row.customer_id for row in rows if row.customer_id], [HashKind.EMAIL, HashKind.PHONE]
    ):
        digest = DIGESTS[kind](value)
        if digest:
            hashes[customer_id][kind].append(digest)
    events = []
    for row in rows:
        user_data = {
            "fbc": f"fb.1.{int((row.clicked_at or row.purchased_at).timestamp() * 1000)}."
            f"{row.click_id}"
        }
        mine = hashes.get(row.customer_id, {})
        if mine.get(HashKind.EMAIL):
            user_data["em"] = mine[HashKind.EMAIL]
        if mine.get(HashKind.PHONE):
            user_data["ph"] = mine[HashKind.PHONE]
        events.append(
            {
                "event_name": "Purchase",
                "event_time": int(row.purchased_at.timestamp()),
                "action_source": "physical_store",
                "event_id": row.order_number,
                "user_data": user_data,
                "custom_data": {
                    "currency": row.currency,
                    "value": float(row.value),
                    "order_id": row.order_number,
                },
            }
        )
    ad_platforms.Meta().send_store_purchases(settings.META_DATASET_ID, events)
    return {}


def request_sync(audience_id: int, *, reason: str = "staff") -> None:
    """Ask for one audience's sync after the commit (staff's "sync now")."""
    enqueue_after_commit(SYNC_TASK, audience_id, reason=reason)
