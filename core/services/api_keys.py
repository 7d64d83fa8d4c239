"""Creating, checking and revoking partner API keys."""

import hashlib
import secrets

from django.db import connection, transaction
from django.utils import timezone

from core.models import ApiKey, Channel
from core.scopes import validate_scopes

KEY_PREFIX = "omni"


def digest_of(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def create_api_key(name, scopes, *, created_by=None, rate="", channel=None):
    """Create a key and return `(api_key, raw_key)`. The raw key is never stored.

    Raises `UnknownScope` when a scope is not one of `core.scopes.SCOPES`.
    """
    scopes = validate_scopes(scopes)
    prefix = secrets.token_hex(4)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        digest=digest_of(raw_key),
        scopes=scopes,
        rate=rate,
        channel=channel,
        created_by=created_by,
    )
    return api_key, raw_key


def key_for(raw_key: str):
    """The usable key matching `raw_key`, or None. Notes when it was last used (at most once
    a minute, so a busy partner does not turn every read into a write)."""
    if not raw_key.startswith(f"{KEY_PREFIX}_"):
        return None
    api_key = _usable_key_with_digest(digest_of(raw_key))
    if api_key is None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def _usable_key_with_digest(digest: str):
    # Every partner request runs this: written as SQL, because building the same query
    # through the ORM costs several times the indexed lookup itself (~0.2 ms against ~0.9).
    # "Usable" is ApiKeyQuerySet.usable(): not revoked.
    keys, channels = ApiKey._meta.db_table, Channel._meta.db_table
    quote = connection.ops.quote_name
    found = list(
        ApiKey.objects.raw(
            f"SELECT * FROM {quote(keys)} WHERE digest = %s AND revoked_at IS NULL",  # noqa: S608
            [digest],
        )
    )
    if not found:
        return None
    api_key = found[0]
    if api_key.channel_id is not None:
        sql = f"SELECT * FROM {quote(channels)} WHERE id = %s"  # noqa: S608 (our table)
        channel = list(Channel.objects.raw(sql, [api_key.channel_id]))
        api_key.channel = channel[0] if channel else None
    return api_key


@transaction.atomic
def revoke_api_key(api_key: ApiKey):
    """Revoke a key at once; requests with it are refused from now on. Idempotent."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key
