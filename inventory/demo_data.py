"""Inventory's demo stage: a dozen stores in Iran, Azerbaijan and the Emirates plus two
warehouses they draw on and a dropship supplier, the channel rules, stock for every variant
the catalog stage made with a month of movements (receipts, sales, returns, transfers, a
count), and a few reservations.

Rows are written with bulk_create; levels are the sums of the generated ledger, so
`rebuild_stock_levels` finds no drift.
"""

import datetime as dt
from collections import defaultdict

from django.db.models import F
from django.utils import timezone

from catalog.selectors import all_variants, variants_by_id
from core.demo import register_stage
from core.models import Channel
from inventory.errors import InventoryError
from inventory.factories import ChannelStockRuleFactory, LocationFactory, WarehouseFactory
from inventory.models import (
    AllocationStrategy,
    LocationKind,
    MovementReason,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    TransferStatus,
)
from inventory.services import TransferLineInput, create_transfer, reserve, ship

WEEK = ["sat", "sun", "mon", "tue", "wed", "thu", "fri"]
IRAN_HOURS = {day: [["10:00", "22:00"]] for day in WEEK[:6]} | {"fri": [["16:00", "22:00"]]}
GULF_HOURS = {day: [["10:00", "23:00"]] for day in WEEK}

# code, name, city, country, lat, lng, time zone, warehouse, ships from store
STORES = [
    ("teh-tajrish", "Tajrish", "Tehran", "IR", 35.8045, 51.4336, "Asia/Tehran", "wh-tehran", True),
    ("teh-valiasr", "Valiasr", "Tehran", "IR", 35.7575, 51.4100, "Asia/Tehran", "wh-tehran", False),
    (
        "teh-enghelab",
        "Enghelab",
        "Tehran",
        "IR",
        35.7006,
        51.3910,
        "Asia/Tehran",
        "wh-tehran",
        False,
    ),
    (
        "karaj-gohardasht",
        "Gohardasht",
        "Karaj",
        "IR",
        35.8327,
        50.9915,
        "Asia/Tehran",
        "wh-tehran",
        False,
    ),
    (
        "tabriz-valiasr",
        "Tabriz Valiasr",
        "Tabriz",
        "IR",
        38.0667,
        46.3167,
        "Asia/Tehran",
        "wh-tehran",
        True,
    ),
    ("shiraz-zand", "Zand", "Shiraz", "IR", 29.6100, 52.5400, "Asia/Tehran", "wh-tehran", False),
    (
        "isfahan-chaharbagh",
        "Chaharbagh",
        "Isfahan",
        "IR",
        32.6546,
        51.6680,
        "Asia/Tehran",
        "wh-tehran",
        False,
    ),
    (
        "mashhad-ahmadabad",
        "Ahmadabad",
        "Mashhad",
        "IR",
        36.3050,
        59.5800,
        "Asia/Tehran",
        "wh-tehran",
        False,
    ),
    ("baku-nizami", "Nizami Street", "Baku", "AZ", 40.3777, 49.8400, "Asia/Baku", "wh-gulf", True),
    ("baku-ganjlik", "Ganjlik Mall", "Baku", "AZ", 40.4000, 49.8500, "Asia/Baku", "wh-gulf", False),
    (
        "dubai-mall",
        "The Dubai Mall",
        "Dubai",
        "AE",
        25.1972,
        55.2796,
        "Asia/Dubai",
        "wh-gulf",
        False,
    ),
    (
        "dubai-deira",
        "Deira City Centre",
        "Dubai",
        "AE",
        25.2520,
        55.3300,
        "Asia/Dubai",
        "wh-gulf",
        False,
    ),
]
WAREHOUSES = [
    ("wh-tehran", "Tehran central warehouse", "Tehran", "IR", 35.6400, 51.2500, "Asia/Tehran", 10),
    (
        "wh-gulf",
        "Jebel Ali hub (Gulf and Caucasus)",
        "Dubai",
        "AE",
        25.0100,
        55.0600,
        "Asia/Dubai",
        20,
    ),
]
# Each location's name in the other shipped languages (Location.names).
LOCATION_NAMES = {
    "wh-tehran": {"fa": "انبار مرکزی تهران", "ar": "المستودع المركزي في طهران", "az": "Tehran mərkəzi anbarı", "be": "Цэнтральны склад у Тэгеране"},
    "wh-gulf": {"fa": "مرکز جبل علی (خلیج و قفقاز)", "ar": "مركز جبل علي (الخليج والقوقاز)", "az": "Cəbəl Əli mərkəzi (Körfəz və Qafqaz)", "be": "Хаб Джэбель-Алі (Персідскі заліў і Каўказ)"},
    "teh-tajrish": {"fa": "تجریش", "ar": "تجريش", "az": "Təcriş", "be": "Таджрыш"},
    "teh-valiasr": {"fa": "ولیعصر", "ar": "ولي عصر", "az": "Vəliəsr", "be": "Валіаср"},
    "teh-enghelab": {"fa": "انقلاب", "ar": "انقلاب", "az": "İnqilab", "be": "Энгелаб"},
    "karaj-gohardasht": {"fa": "گوهردشت", "ar": "كوهردشت", "az": "Göhərdəşt", "be": "Гахардашт"},
    "tabriz-valiasr": {"fa": "ولیعصر تبریز", "ar": "ولي عصر تبريز", "az": "Təbriz Vəliəsr", "be": "Тэбрыз, Валіаср"},
    "shiraz-zand": {"fa": "زند", "ar": "زند", "az": "Zənd", "be": "Занд"},
    "isfahan-chaharbagh": {"fa": "چهارباغ", "ar": "چهارباغ", "az": "Çaharbağ", "be": "Чахарбаг"},
    "mashhad-ahmadabad": {"fa": "احمدآباد", "ar": "أحمد آباد", "az": "Əhmədabad", "be": "Ахмадабад"},
    "baku-nizami": {"fa": "خیابان نظامی", "ar": "شارع نظامي", "az": "Nizami küçəsi", "be": "Вуліца Нізамі"},
    "baku-ganjlik": {"fa": "گنجلیک مال", "ar": "غانجليك مول", "az": "Gənclik Mall", "be": "Гянджлік Мол"},
    "dubai-mall": {"fa": "دبی مال", "ar": "دبي مول", "az": "Dubai Mall", "be": "Дубай Мол"},
    "dubai-deira": {"fa": "سیتی سنتر دیره", "ar": "سيتي سنتر ديرة", "az": "Deira City Centre", "be": "Сіці Цэнтр Дэйра"},
    "dropship-tabriz-leather": {"fa": "کارگاه چرم تبریز (ارسال مستقیم)", "ar": "ورشة جلود تبريز (شحن مباشر)", "az": "Təbriz dəri emalatxanası (birbaşa göndəriş)", "be": "Тэбрыская скураная майстэрня (дропшыпінг)"},
}  # fmt: skip
IRAN_ONLINE = ["web", "app", "phone", "instagram", "catalogue", "marketplace"]
GULF_ONLINE = ["web-az", "web", "app"]


@register_stage("inventory.stock", order=30, label="Locations and stock")
def seed_stock(ctx):
    if StockLevel.objects.exists():
        return
    variant_ids = list(all_variants().values_list("id", flat=True))
    if not variant_ids:
        return
    rnd = ctx.random
    channels = {c.code: c for c in Channel.objects.all()}

    def serving(codes):
        return [channels[code] for code in codes if code in channels]

    def place(code, name, city, country, lat, lng, tz):
        """What a warehouse and a store are both described by."""
        return {
            "code": code,
            "name": name,
            "city": city,
            "country": country,
            "latitude": lat,
            "longitude": lng,
            "time_zone": tz,
            "names": LOCATION_NAMES.get(code, {}),
            "address": f"{name}, {city}",
        }

    warehouses = {}
    for code, name, city, country, lat, lng, tz, priority in WAREHOUSES:
        warehouses[code] = WarehouseFactory(
            **place(code, name, city, country, lat, lng, tz),
            priority=priority,
            channels=serving(IRAN_ONLINE if code == "wh-tehran" else GULF_ONLINE),
        )
    stores = []
    for position, (code, name, city, country, lat, lng, tz, wh, ships) in enumerate(STORES):
        online = ["store", "web", "app"] if country == "IR" else ["store", "web-az", "web"]
        if code == "mashhad-ahmadabad":
            # Its link to the online channels was never made: the product page shows why
            # its stock does not count online ("why is this 0?").
            online = ["store"]
        stores.append(
            LocationFactory(
                **place(code, name, city, country, lat, lng, tz),
                opening_hours=GULF_HOURS if country != "IR" else IRAN_HOURS,
                supplied_by=warehouses[wh],
                ships_from_store=ships,
                allows_pickup=True,
                priority=100 + position,
                channels=serving(online),
            )
        )
    dropship = LocationFactory(
        code="dropship-tabriz-leather",
        names=LOCATION_NAMES["dropship-tabriz-leather"],
        name="Tabriz leather workshop (dropship)",
        kind=LocationKind.DROPSHIP,
        city="Tabriz",
        latitude=38.08,
        longitude=46.29,
        allows_pickup=False,
        opening_hours={},
        priority=200,
        channels=serving(["marketplace"]),
    )
    rules = {
        "web": dict(
            strategy=AllocationStrategy.PRIORITY, pickup_may_transfer=True, may_split_lines=True
        ),
        "app": dict(strategy=AllocationStrategy.NEAREST, pickup_may_transfer=True),
        "marketplace": dict(strategy=AllocationStrategy.MOST_STOCK, buffer_percent=80),
        "web-az": dict(strategy=AllocationStrategy.NEAREST, pickup_may_transfer=True),
        "instagram": dict(strategy=AllocationStrategy.PRIORITY, buffer_percent=90),
        "store": dict(strategy=AllocationStrategy.PRIORITY),
    }
    for code, options in rules.items():
        if code in channels:
            ChannelStockRuleFactory(channel=channels[code], **options)

    now = timezone.now()
    store_channel = channels.get("store")
    movements, totals, keys = [], defaultdict(int), iter(range(1, 10**9))

    def move(variant_id, location, quantity, reason, days_ago, **extra):
        moment = now - dt.timedelta(days=days_ago, minutes=rnd.randint(0, 600))
        movements.append(
            StockMovement(
                variant_id=variant_id,
                location_id=location.pk,
                quantity=quantity,
                reason=reason,
                occurred_at=moment,
                recorded_at=moment,
                source="demo",
                idempotency_key=f"demo-{next(keys)}",
                **extra,
            )
        )
        totals[(variant_id, location.pk)] += quantity

    replenished = defaultdict(list)  # store -> its replenishment lines, one transfer a store
    for variant_id in ctx.progress(variant_ids, "Stock movements"):
        move(
            variant_id,
            warehouses["wh-tehran"],
            rnd.randint(20, 80),
            MovementReason.RECEIPT,
            30,
            reference="PO-2025-0001",
        )
        if rnd.random() < 0.6:
            move(
                variant_id,
                warehouses["wh-gulf"],
                rnd.randint(5, 30),
                MovementReason.RECEIPT,
                28,
                reference="PO-2025-0002",
            )
        if rnd.random() < 0.1:
            move(
                variant_id,
                dropship,
                rnd.randint(3, 15),
                MovementReason.RECEIPT,
                29,
                reference="supplier feed",
            )
        for store in stores:
            if rnd.random() > 0.35:
                continue
            units = rnd.randint(2, 8)
            source = store.supplied_by
            if totals[(variant_id, source.pk)] < units + 2:
                continue  # the warehouse keeps a little back
            move(variant_id, source, -units, MovementReason.TRANSFER_OUT, 25, reference="replenish")
            move(variant_id, store, units, MovementReason.TRANSFER_IN, 24, reference="replenish")
            replenished[store].append(TransferLine(variant_id=variant_id, quantity=units))
            for _sale in range(rnd.randint(0, min(units, 3))):
                move(
                    variant_id,
                    store,
                    -1,
                    MovementReason.SALE,
                    rnd.randint(1, 20),
                    channel=store_channel,
                    reference=f"POS-{store.code}-{rnd.randint(1000, 9999)}",
                )
            if rnd.random() < 0.05:
                move(
                    variant_id,
                    store,
                    1,
                    MovementReason.RETURN,
                    rnd.randint(1, 10),
                    channel=store_channel,
                    reference="return",
                )
            if rnd.random() < 0.02:
                move(
                    variant_id,
                    store,
                    -1,
                    MovementReason.DAMAGE,
                    rnd.randint(1, 10),
                    reference="damaged in store",
                )
        if rnd.random() < 0.3 and totals[(variant_id, warehouses["wh-tehran"].pk)] >= 4:
            web = channels.get("web")
            move(
                variant_id,
                warehouses["wh-tehran"],
                -rnd.randint(1, 4),
                MovementReason.SALE,
                rnd.randint(1, 15),
                channel=web,
                reference=f"W-{rnd.randint(10000, 99999)}",
            )

    # One store counted its shelves a week ago; the count records the difference it found.
    counted_store = stores[1]
    for variant_id, location_id in list(totals):
        if location_id != counted_store.pk or rnd.random() > 0.5:
            continue
        figure = max(0, totals[(variant_id, location_id)] + rnd.choice([-1, 0, 0, 0, 1]))
        delta = figure - totals[(variant_id, location_id)]
        move(
            variant_id,
            counted_store,
            delta,
            MovementReason.COUNT,
            0,
            counted_quantity=figure,
            reference=f"count {counted_store.code}",
        )
        movements[-1].occurred_at = movements[-1].recorded_at = now - dt.timedelta(hours=2)

    StockMovement.objects.bulk_create(movements, batch_size=5000)
    transfers = Transfer.objects.bulk_create(
        [
            Transfer(
                from_location=store.supplied_by,
                to_location=store,
                status=TransferStatus.RECEIVED,
                reference="replenish",
                created_at=now - dt.timedelta(days=25),
                shipped_at=now - dt.timedelta(days=25),
                expected_at=now - dt.timedelta(days=24),
                received_at=now - dt.timedelta(days=24),
                receipts=1,
            )
            for store in replenished
        ]
    )
    lines = []
    for transfer, store_lines in zip(transfers, replenished.values(), strict=True):
        for line in store_lines:
            line.transfer = transfer
            line.shipped = line.received = line.quantity
            lines.append(line)
    TransferLine.objects.bulk_create(lines, batch_size=5000)
    store_ids = {store.pk for store in stores}
    levels = [
        StockLevel(
            variant_id=variant_id,
            location_id=location_id,
            on_hand=on_hand,
            safety_stock=0 if location_id in store_ids else rnd.choice([0, 0, 1, 2]),
            low_stock_threshold=2 if location_id in store_ids else 5,
        )
        for (variant_id, location_id), on_hand in totals.items()
    ]
    StockLevel.objects.bulk_create(levels, batch_size=5000)
    ctx.created("locations", len(stores) + len(warehouses) + 1)
    ctx.created("stock movements", len(movements))
    ctx.created("stock levels", len(levels))
    _transfer_in_transit(ctx, warehouses["wh-tehran"], stores, variant_ids)
    ctx.created("transfers", len(transfers) + 1)
    _reservations(ctx, stores, variant_ids)


def _reservations(ctx, stores, variant_ids):
    """A few pickup holds and web orders through the real service."""
    picks = [
        (ctx.random.choice(variant_ids), ctx.random.choice(stores)) for _ in range(ctx.scale(12))
    ]
    variants = variants_by_id({variant_id for variant_id, _store in picks})
    made = 0
    for index, (variant_id, store) in enumerate(picks):
        try:
            reserve(
                variant=variants[variant_id],
                quantity=1,
                channel="web" if store.country == "IR" else "web-az",
                pickup_location=store if index % 2 == 0 else None,
                lat=store.latitude,
                lng=store.longitude,
                expires_in=48 * 3600,
                reference=f"W-DEMO-{index:04d}",
            )
            made += 1
        except InventoryError:
            continue
    ctx.created("reservations", made)


def _transfer_in_transit(ctx, warehouse, stores, variant_ids):
    """A replenishment of several SKUs on its way from the Tehran warehouse to a store, made
    through the services the staff page and the API use, so its pick list, its lines and
    "in transit to ..., arriving" have something to show."""
    store = next((s for s in stores if s.supplied_by_id == warehouse.pk), stores[0])
    free = dict(
        StockLevel.objects.filter(location=warehouse, variant_id__in=variant_ids)
        .annotate(free=F("on_hand") - F("reserved"))
        .filter(free__gte=4)
        .order_by("variant_id")
        .values_list("variant_id", "free")[:4]
    )
    if len(free) < 2:
        return
    variants = variants_by_id(free)
    transfer = create_transfer(
        from_location=warehouse,
        to_location=store,
        lines=[TransferLineInput(variant=variants[pk], quantity=2) for pk in free],
        reference="replenish-in-transit",
    )
    ship(transfer.pk)
