"""The ledger: immutable movements, levels kept equal to the ledger's sum, replays that
change nothing, and counts applied at their own moment whatever the arrival order."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.factories import ProductVariantFactory
from inventory.factories import LocationFactory, receive_stock
from inventory.models import ImmutableRowError, StockLevel, StockMovement
from inventory.services import MovementInput, rebuild_levels, record_movements
from inventory.services.movements import ledger_drift

pytestmark = pytest.mark.django_db

T0 = timezone.now() - dt.timedelta(days=10)


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


def on_hand(variant, location):
    return StockLevel.objects.get(variant=variant, location=location).on_hand


def ledger_sum(variant, location):
    return sum(
        StockMovement.objects.filter(variant=variant, location=location).values_list(
            "quantity", flat=True
        )
    )


def movement(variant, location, key, minutes, quantity=None, reason=None, counted=None):
    if counted is not None:
        return MovementInput(
            sku=variant.sku,
            location=location.code,
            reason="count",
            counted_quantity=counted,
            idempotency_key=key,
            occurred_at=at(minutes),
        )
    reason = reason or ("receipt" if quantity > 0 else "sale")
    return MovementInput(
        sku=variant.sku,
        location=location.code,
        reason=reason,
        quantity=quantity,
        idempotency_key=key,
        occurred_at=at(minutes),
    )


def test_movements_update_the_level_in_the_same_transaction(variant, store):
    results = record_movements(
        [movement(variant, store, "r1", 0, 10), movement(variant, store, "s1", 5, -3)]
    )
    assert [r.status for r in results] == ["applied", "applied"]
    assert on_hand(variant, store) == 7 == ledger_sum(variant, store)


def test_replaying_a_batch_changes_nothing(variant, store):
    batch = [movement(variant, store, "r1", 0, 10), movement(variant, store, "s1", 5, -3)]
    record_movements(batch)
    again = record_movements(batch)
    assert [r.status for r in again] == ["duplicate", "duplicate"]
    assert on_hand(variant, store) == 7
    assert StockMovement.objects.count() == 2


def test_same_key_from_another_source_is_another_movement(variant, store):
    record_movements([movement(variant, store, "sale-1", 0, 5)], default_source="pos-a")
    record_movements([movement(variant, store, "sale-1", 1, 5)], default_source="pos-b")
    assert on_hand(variant, store) == 10


def test_unknown_sku_or_location_is_refused_and_the_rest_applied(variant, store):
    results = record_movements(
        [
            movement(variant, store, "r1", 0, 4),
            MovementInput(
                sku="NOPE",
                location=store.code,
                reason="receipt",
                quantity=1,
                idempotency_key="x",
                occurred_at=at(1),
            ),
            MovementInput(
                sku=variant.sku,
                location="nowhere",
                reason="receipt",
                quantity=1,
                idempotency_key="y",
                occurred_at=at(1),
            ),
            movement(variant, store, "bad-sign", 2, 3, reason="sale"),
        ]
    )
    assert [r.status for r in results] == ["applied", "refused", "refused", "refused"]
    assert [r.code for r in results[1:]] == ["unknown_sku", "unknown_location", "invalid"]
    assert results[3].field == "quantity"
    assert on_hand(variant, store) == 4


def test_a_count_sets_the_figure_at_its_moment_and_later_movements_apply_on_top(variant, store):
    record_movements(
        [movement(variant, store, "r1", 0, 10), movement(variant, store, "s1", 20, -2)]
    )
    # The count at minute 10 arrives after the sale at minute 20: it saw 6, the sale follows.
    [count] = record_movements([movement(variant, store, "c1", 10, counted=6)])
    assert count.status == "applied" and count.quantity == -4
    assert on_hand(variant, store) == 4 == ledger_sum(variant, store)


def test_a_late_movement_already_seen_by_a_count_does_not_change_the_level(variant, store):
    record_movements(
        [movement(variant, store, "r1", 0, 10), movement(variant, store, "c1", 10, counted=7)]
    )
    assert on_hand(variant, store) == 7
    # A sale at minute 5 arrives after the count at minute 10, which already saw it.
    record_movements([movement(variant, store, "s-late", 5, -2)])
    assert on_hand(variant, store) == 7 == ledger_sum(variant, store)
    correction = StockMovement.objects.get(idempotency_key="s-late:seen-by-count")
    assert correction.quantity == 2 and correction.occurred_at == at(10)


def test_movements_are_immutable(variant, store):
    stored = receive_stock(variant, store, 3)
    stored.quantity = 300
    with pytest.raises(ImmutableRowError):
        stored.save()
    with pytest.raises(ImmutableRowError):
        stored.delete()
    with pytest.raises(ImmutableRowError):
        StockMovement.objects.filter(pk=stored.pk).update(quantity=1)
    with pytest.raises(ImmutableRowError):
        StockMovement.objects.all().delete()


def test_rebuild_reports_drift_and_fixes_it(variant, store):
    receive_stock(variant, store, 5)
    StockLevel.objects.filter(variant=variant, location=store).update(on_hand=9)
    assert ledger_drift() == [(variant.pk, store.pk, 9, 5)]
    assert rebuild_levels(fix=True) == [(variant.pk, store.pk, 9, 5)]
    assert on_hand(variant, store) == 5
    assert rebuild_levels() == []


# --- property: whatever the order of arrival, the level is the truth -----------------------

event = st.one_of(
    st.tuples(st.just("move"), st.integers(-5, 8).filter(bool)),
    st.tuples(st.just("count"), st.integers(0, 20)),
)


@st.composite
def histories(draw):
    events = draw(st.lists(event, min_size=1, max_size=14))
    moments = draw(
        st.lists(st.integers(0, 5000), min_size=len(events), max_size=len(events), unique=True)
    )
    timed = list(zip(moments, events, strict=True))
    arrival = draw(st.permutations(range(len(timed))))
    cuts = draw(st.lists(st.integers(1, len(timed)), max_size=4))
    replay = draw(st.lists(st.sampled_from(range(len(timed))), max_size=4))
    return timed, arrival, sorted(set(cuts)), replay


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(histories())
def test_level_equals_the_ledger_and_the_true_history_whatever_the_arrival_order(channels, data):
    timed, arrival, cuts, replay = data
    variant = ProductVariantFactory()
    location = LocationFactory()

    def item(index):
        moment, (kind, value) = timed[index]
        key = f"k{index}"
        if kind == "count":
            return movement(variant, location, key, moment, counted=value)
        return movement(variant, location, key, moment, value, reason="adjustment")

    ordered = [item(i) for i in arrival]
    start = 0
    for cut in [*cuts, len(ordered)]:
        if ordered[start:cut]:
            record_movements(ordered[start:cut])
        start = cut
    results = record_movements([item(i) for i in replay])
    assert all(r.status == "duplicate" for r in results)

    truth = 0
    for _moment, (kind, value) in sorted(timed):
        truth = value if kind == "count" else truth + value
    assert on_hand(variant, location) == truth == ledger_sum(variant, location)
    assert ledger_drift(variant_ids=[variant.pk]) == []


def test_rebuild_command_reports_then_fixes_drift(variant, store):
    receive_stock(variant, store, 5)
    StockLevel.objects.filter(variant=variant, location=store).update(on_hand=2)
    out = StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("rebuild_stock_levels", stdout=out)
    assert exit_code.value.code == 1
    assert f"{variant.sku} @ {store.code}: level 2, ledger 5 (+3)" in out.getvalue()
    call_command("rebuild_stock_levels", "--fix", stdout=out)
    assert on_hand(variant, store) == 5
    out = StringIO()
    call_command("rebuild_stock_levels", "--location", store.code, stdout=out)
    assert "No drift" in out.getvalue()
