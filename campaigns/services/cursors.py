"""Pollers read growing tables of the customer record (the timeline, identities) by id,
keeping how far they got in an EventCursor row."""

from campaigns.models import EventCursor

CURSOR_OVERLAP = 500  # ids re-read each poll: rows committed out of id order are not missed


def read_after(name: str, fetch) -> list:
    """The rows `fetch(after_id)` returns from where the cursor `name` stands (less the
    overlap), and the cursor moved to the last of them. The cursor row stays locked until
    the caller's transaction ends, so two pollers never read the same rows at once: call it
    inside one, with what the rows cause."""
    cursor, _created = EventCursor.objects.select_for_update().get_or_create(name=name)
    rows = fetch(max(0, cursor.last_id - CURSOR_OVERLAP))
    if rows:
        cursor.last_id = max(cursor.last_id, rows[-1].id)
        cursor.save(update_fields=["last_id", "updated_at"])
    return rows
