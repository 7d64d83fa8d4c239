"""Orders' part of a customer's privacy export and erasure (registered with customers)."""

from orders.models import Cart, CourierPickup, Order, OrderStatusChange, Return


def export_orders_of(customer) -> dict:
    orders = (
        Order.objects.filter(customer=customer).select_related("channel").prefetch_related("lines")
    )
    return {
        "orders": [
            {
                "number": order.number,
                "channel": order.channel.code,
                "status": order.status,
                "placed_at": order.placed_at.isoformat(),
                "total": str(order.total.amount),
                "currency": order.currency,
                "shipping": {
                    "name": order.shipping_name,
                    "phone": order.shipping_phone,
                    "address": order.shipping_address,
                    "city": order.shipping_city,
                    "postcode": order.shipping_postcode,
                    "country": order.shipping_country,
                },
                "notes": order.notes,
                "lines": [
                    {
                        "sku": line.sku,
                        "quantity": line.quantity,
                        "unit_price": str(line.unit_price.amount),
                    }
                    for line in order.lines.all()
                ],
            }
            for order in orders
        ],
        "returns": [
            {
                "number": ret.number,
                "order": ret.order.number,
                "status": ret.status,
                "note": ret.note,
            }
            for ret in Return.objects.filter(customer=customer).select_related("order")
        ],
        "carts": [
            {"id": cart.pk, "status": cart.status, "lines": cart.lines.count()}
            for cart in Cart.objects.filter(customer=customer)
        ],
    }


def shipping_phones_of(customer) -> set[str]:
    """The phone numbers her orders and pickups were addressed to, as typed: an erasure looks
    for them in copies no order points at (stored API answers, webhook payloads)."""
    phones = set(Order.objects.filter(customer=customer).values_list("shipping_phone", flat=True))
    phones.update(
        CourierPickup.objects.filter(return_request__customer=customer).values_list(
            "contact_phone", flat=True
        )
    )
    return {phone for phone in phones if phone}


def erase_orders_of(customer) -> None:
    """Names, addresses, phones and free-text notes go; numbers, lines and totals stay (the
    business's books and stock ledger)."""
    Order.objects.filter(customer=customer).update(
        shipping_name="",
        shipping_phone="",
        shipping_address="",
        shipping_city="",
        shipping_postcode="",
        notes="",
        payment_reference="",
    )
    OrderStatusChange.objects.filter(order__customer=customer).update(note="")
    Return.objects.filter(customer=customer).update(note="")
    CourierPickup.objects.filter(return_request__customer=customer).update(
        contact_name="", contact_phone="", address=""
    )
