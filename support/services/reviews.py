"""Product reviews: a customer rates what she bought on the signed review page, staff
moderate, approved reviews make the product's rating (catalog.services.ratings), and a low
rating opens one support conversation about the order.

Doors: the public review page (support.views_reviews), the moderation page and the admin,
the reviews API (support.api.reviews). All call these functions.
"""

import hashlib

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count
from django.utils import timezone, translation
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from catalog.selectors import product_cards
from catalog.services.ratings import set_product_rating
from core.review_links import InvalidReviewLink, read_review_token
from customers.errors import CustomerNotFound
from customers.selectors import customer_by_public_id
from orders.selectors import order_by_number
from support import widget
from support.errors import SupportError
from support.models import Priority, Review, ReviewStatus
from support.services.conversations import add_note, link_order, open_conversation

TEXT_MAX = 5000
PHOTO_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


class InvalidReview(SupportError):
    code = "invalid_review"
    status_code = 400


class ReviewLinkRefused(SupportError):
    """The signed link is bad or expired, or its order is not (or no longer) hers."""

    code = "review_link_refused"
    status_code = 404


def low_rating_threshold() -> int:
    return int(getattr(settings, "REVIEW_LOW_RATING_THRESHOLD", 2))


def photo_max_bytes() -> int:
    return int(getattr(settings, "REVIEW_PHOTO_MAX_BYTES", 5 * 1024 * 1024))


# --- the link and what it opens ---------------------------------------------------------


def order_of_link(token: str):
    """(customer, order) a review link opens. Raises ReviewLinkRefused (status 410 for an
    expired link, 404 otherwise)."""
    try:
        public_id, number = read_review_token(token)
    except InvalidReviewLink as error:
        refused = ReviewLinkRefused(str(error))
        if error.expired:
            refused.status_code = 410
        raise refused from None
    try:
        customer = customer_by_public_id(public_id)
    except CustomerNotFound:
        raise ReviewLinkRefused("This review link is not valid.") from None
    order = order_by_number(number)
    if order is None or order.customer_id != customer.pk:
        raise ReviewLinkRefused("This review link is not valid.")
    return customer, order


def reviewable_lines(order, customer, *, language=None) -> list[dict]:
    """The order's products, one per SKU in line order, with her review of each (if any):
    [{"sku", "name", "variant" (colour and size), "quantity", "review"}]."""
    skus, quantities, names, variants = [], {}, {}, {}
    for line in order.lines.all():
        if line.sku not in quantities:
            skus.append(line.sku)
            quantities[line.sku] = 0
            names[line.sku] = line.product_name
            variants[line.sku] = " · ".join(
                part for part in (line.variant.colour, line.variant.size) if part
            )
        quantities[line.sku] += line.quantity
    cards = {card["sku"]: card for card in product_cards(skus, language=language)}
    reviews = {
        review.sku: review
        for review in Review.objects.filter(
            customer=customer, order_number=order.number, sku__in=skus
        )
    }
    return [
        {
            "sku": sku,
            "name": (cards.get(sku) or {}).get("name") or names[sku],
            "variant": variants[sku],
            "quantity": quantities[sku],
            "review": reviews.get(sku),
        }
        for sku in skus
    ]


# --- writing a review --------------------------------------------------------------------


def _refuse(field: str, message: str):
    raise InvalidReview(message, fields={field: [message]})


def store_photo(customer, order_number: str, sku: str, upload) -> tuple[str, str]:
    """Check a photo (JPEG, PNG, GIF or WebP by its bytes, at most REVIEW_PHOTO_MAX_BYTES)
    and keep it in the private attachments storage. Returns (storage name, content type);
    raises InvalidReview naming `photo`."""
    limit = photo_max_bytes()
    refused = _("Only photos (JPEG, PNG, GIF, WebP) of up to %(mb)s MB.") % {
        "mb": round(limit / (1024 * 1024), 1)
    }
    if not upload.size or upload.size > limit:
        _refuse("photo", refused)
    upload.seek(0)
    data = upload.read(limit + 1)
    kind = widget.sniff(data[:16])
    if kind is None or kind[0] not in PHOTO_TYPES or len(data) > limit:
        _refuse("photo", refused)
    content_type, extension = kind
    stem = (get_valid_filename((upload.name or "").rsplit(".", 1)[0]) or "photo")[:60]
    digest = hashlib.sha256(data).hexdigest()
    key = hashlib.sha256(f"{customer.pk}:{order_number}:{sku}".encode()).hexdigest()
    name = f"reviews/{key[:2]}/{key[2:34]}/{digest[:16]}-{stem}.{extension}"
    storage = widget.attachment_storage()
    if not storage.exists(name):
        name = storage.save(name, ContentFile(data))
    return name, content_type


def submit_review(
    *, customer, order, sku: str, rating, text: str = "", photo=None, language: str = ""
) -> tuple[Review, bool]:
    """Her review of one product of her order. A second submission for the same product
    replaces the first (rating, text, photo when a new one is sent) and sends it back to
    moderation, so an approved review never shows words nobody checked. A rating at or below
    REVIEW_LOW_RATING_THRESHOLD opens one conversation about the order (never a second).
    Returns (review, created). Raises InvalidReview naming `sku`, `rating`, `text` or
    `photo`."""
    sku = (sku or "").strip()
    line = next((line for line in order.lines.all() if line.sku == sku), None)
    if line is None:
        _refuse("sku", _("This product is not in the order."))
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        _refuse("rating", _("Choose from 1 to 5 stars."))
    text = (text or "").strip()
    if len(text) > TEXT_MAX:
        _refuse("text", _("At most %(count)s characters.") % {"count": TEXT_MAX})
    stored = store_photo(customer, order.number, sku, photo) if photo else None
    product_id = line.variant.product_id  # the line's variant (PROTECT: it still exists)
    now = timezone.now()
    with transaction.atomic():
        review = (
            Review.objects.select_for_update()
            .filter(customer=customer, order_number=order.number, sku=sku)
            .first()
        )
        created = review is None
        if created:
            review = Review(customer=customer, order_number=order.number, sku=sku, created_at=now)
        was_approved = review.status == ReviewStatus.APPROVED
        review.product_id = product_id
        review.product_name = (line.product_name or "")[:255]
        review.rating = rating
        review.text = text
        review.language = (language or "")[:10]
        if stored:
            review.photo, review.photo_content_type = stored
        review.status = ReviewStatus.PENDING
        review.moderated_by = None
        review.moderated_at = None
        review.updated_at = now
        try:
            with transaction.atomic():
                review.save()
        except IntegrityError:
            # Two submissions of the same line at once: the other one made the row.
            raise InvalidReview(
                _("This review was just sent; reload the page."),
                fields={"sku": [_("Already sent.")]},
            ) from None
        if was_approved:
            refresh_product_rating(review.product_id)
        if rating <= low_rating_threshold():
            open_review_conversation(review, order=order)
    return review, created


def open_review_conversation(review: Review, *, order):
    """The conversation a low rating opens: one per review (the row is locked and keeps
    it), on the order's channel, linked to the order, with the review as its first note."""
    with transaction.atomic():
        review = Review.objects.select_for_update().get(pk=review.pk)
        if review.conversation_id:
            return review.conversation
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("%(stars)s-star review of %(product)s") % {
                "stars": review.rating,
                "product": review.product_name or review.sku,
            }
            note = _("The customer rated %(product)s (%(sku)s) %(stars)s of 5.") % {
                "product": review.product_name or review.sku,
                "sku": review.sku,
                "stars": review.rating,
            }
        conversation = open_conversation(
            review.customer,
            order.channel,
            subject=subject,
            priority=Priority.HIGH if review.rating <= 1 else Priority.NORMAL,
        )
        link_order(conversation, review.order_number)
        add_note(conversation, None, f"{note}\n\n{review.text}".strip())
        review.conversation = conversation
        review.save(update_fields=["conversation"])
        return conversation


# --- moderation and ratings ------------------------------------------------------------


def moderate_review(review: Review, status: str, *, by=None) -> Review:
    """Approve or reject a review (or put it back to pending); the product's rating follows.
    Raises InvalidReview naming `status`."""
    if status not in ReviewStatus.values:
        _refuse("status", _("Unknown status %(status)s.") % {"status": repr(status)})
    with transaction.atomic():
        review = Review.objects.select_for_update().get(pk=review.pk)
        if review.status == status:
            return review
        review.status = status
        pending = status == ReviewStatus.PENDING
        review.moderated_by = None if pending else by
        review.moderated_at = None if pending else timezone.now()
        review.save(update_fields=["status", "moderated_by", "moderated_at"])
        refresh_product_rating(review.product_id)
        return review


def refresh_product_rating(product_id: int) -> None:
    """Count the product's approved reviews again and hand the figures to catalog."""
    figures = Review.objects.filter(product_id=product_id, status=ReviewStatus.APPROVED).aggregate(
        average=Avg("rating"), count=Count("id")
    )
    set_product_rating(product_id, average=figures["average"], count=figures["count"])


def photo_of(review: Review):
    """The open file of a review's photo, or None."""
    if not review.photo:
        return None
    storage = widget.attachment_storage()
    if not storage.exists(review.photo):
        return None
    return storage.open(review.photo, "rb")


def reviews_of_order(order_number: str) -> list[Review]:
    """Every review of an order, for the agent beside the conversation."""
    if not order_number:
        return []
    return list(Review.objects.filter(order_number=order_number).order_by("sku", "id"))
