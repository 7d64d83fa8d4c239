"""Products' ratings: the average and count of customers' approved reviews. Reviews live in
support, which calls `set_product_rating` whenever one is approved, rejected or changed; this
is the one write of the two fields, so the API and the admin read what support counted."""

from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction

from catalog.errors import InvalidProductData
from catalog.models import Product

TWO_PLACES = Decimal("0.01")


def set_product_rating(product_id: int, *, average, count: int) -> bool:
    """Set a product's rating: `average` of 1-5 stars (rounded to two places; None with no
    ratings) over `count` approved reviews. `updated_at` is left alone: a rating is not an
    edit of the product. Returns False when the product no longer exists (the review names
    a product deleted since). Raises InvalidProductData for an average outside 1-5 or a
    negative count."""
    if count < 0:
        raise InvalidProductData("A rating count cannot be negative.", fields={"count": ["< 0"]})
    if not count:
        average = None
    if average is not None:
        average = Decimal(str(average)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
        if not Decimal(1) <= average <= Decimal(5):
            raise InvalidProductData(
                "An average rating is between 1 and 5.", fields={"average": ["Out of 1-5."]}
            )
    with transaction.atomic():
        updated = Product.objects.filter(pk=product_id).update(
            rating_average=average, rating_count=count
        )
    return bool(updated)
