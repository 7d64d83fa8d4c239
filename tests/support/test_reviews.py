"""Product reviews through their doors: the signed review page a customer opens from the
review request (in her language), the staff moderation page, the catalog API's rating, the
agent's panel, and the conversation a low rating opens."""

import io
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.storage import storages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.services.defaults import install_templates
from campaigns.services.rendering import render_message
from campaigns.services.template_context import ALLOWED_VARIABLES
from catalog.factories import listed_product
from core.factories import ChannelFactory
from core.review_links import review_token
from core.roles import MARKETER, SUPPORT_AGENT
from customers.factories import customer_with
from inventory.factories import WarehouseFactory, receive_stock
from orders.factories import placed_order
from support.factories import ReviewFactory
from support.models import Conversation, Direction, Review
from tests.query_counts import assert_queries_do_not_grow

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }
    storages._storages.pop("attachments", None)
    yield
    storages._storages.pop("attachments", None)


@pytest.fixture
def world(db):
    web = ChannelFactory(code="web", name="Web shop", kind="web")
    warehouse = WarehouseFactory(code="wh-main", channels=[web])
    product = listed_product({web: 120}, name="Aria Runner", variants=2)
    first, second = product.variants.order_by("pk")
    receive_stock(first, warehouse, 10)
    receive_stock(second, warehouse, 10)
    customer = customer_with(("email", "sara@example.com", True), first_name="Sara", locale="fa")
    order = placed_order(customer, web, [(first.sku, 1), (second.sku, 2)])
    return {
        "web": web,
        "product": product,
        "sku": first.sku,
        "other_sku": second.sku,
        "customer": customer,
        "order": order,
    }


def link(world):
    return reverse(
        "support:review-form",
        args=[review_token(world["customer"].public_id, world["order"].number)],
    )


def submit(client, url, sku, rating, text="", photo=None):
    data = {"sku": sku, "rating": str(rating), "text": text}
    if photo is not None:
        data["photo"] = photo
    return client.post(url, data)


def upload(name, data):
    file = io.BytesIO(data)
    file.name = name
    return file


# --- the customer's page -----------------------------------------------------------------


def test_the_signed_link_opens_her_order_in_her_language_right_to_left(world):
    response = Client().get(link(world))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'lang="fa"' in page and 'dir="rtl"' in page
    assert world["order"].number in page
    assert f'data-sku="{world["sku"]}"' in page and f'data-sku="{world["other_sku"]}"' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_a_review_sent_from_the_page_waits_for_moderation(world):
    client = Client()
    url = link(world)
    response = submit(client, url, world["sku"], 4, "Light and comfortable", upload("me.png", PNG))
    assert response.status_code == 302
    assert response["Location"].startswith(url)
    review = Review.objects.get()
    assert (review.rating, review.text, review.status) == (4, "Light and comfortable", "pending")
    assert review.language == "fa"
    assert review.order_number == world["order"].number
    assert review.product_id == world["product"].pk
    assert review.photo_content_type == "image/png"
    assert storages["attachments"].exists(review.photo)
    thanks = client.get(response["Location"]).content.decode()
    assert f'data-review-sent="{world["sku"]}"' in thanks


def test_the_form_refuses_posts_without_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    response = submit(client, link(world), world["sku"], 5, "Great")
    assert response.status_code == 403
    assert not Review.objects.exists()


@pytest.mark.parametrize(
    "token",
    ["not-a-token", "eyJjIjoiMSIsIm8iOiIyIn0:1abcde:forged-signature-value"],
)
def test_a_bad_link_is_a_clear_4xx_page_never_500(world, token):
    response = Client().get(reverse("support:review-form", args=[token]))
    assert response.status_code == 404
    assert "review link is not valid" in response.content.decode()


def test_an_expired_link_says_so(world, settings):
    url = link(world)
    settings.REVIEW_LINK_MAX_AGE_DAYS = 0
    response = Client().get(url)
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_a_link_to_someone_elses_order_opens_nothing(world):
    stranger = customer_with(("email", "eve@example.com", True), first_name="Eve")
    token = review_token(stranger.public_id, world["order"].number)
    response = Client().get(reverse("support:review-form", args=[token]))
    assert response.status_code == 404
    assert world["order"].number not in response.content.decode()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("script.png", b"<script>alert(1)</script>"),  # an image by name only
        ("doc.pdf", b"%PDF-1.4 a document, not a photo"),
        ("huge.png", PNG + b"\x00" * 3000),  # over the limit set below
    ],
)
def test_a_photo_that_is_not_an_image_or_too_big_is_refused_naming_the_field(
    world, settings, name, data
):
    settings.REVIEW_PHOTO_MAX_BYTES = 2000
    response = submit(Client(), link(world), world["sku"], 5, "Nice", upload(name, data))
    assert response.status_code == 400
    page = response.content.decode()
    # In her language (Persian): the field named, the photo types listed.
    assert 'data-field="photo"' in page and "JPEG، PNG، GIF، WebP" in page
    assert not Review.objects.exists()


def test_a_rating_outside_one_to_five_is_refused(world):
    response = submit(Client(), link(world), world["sku"], 9, "Too good")
    assert response.status_code == 400
    assert not Review.objects.exists()


def test_a_product_not_in_the_order_is_refused(world):
    response = submit(Client(), link(world), "NOT-IN-ORDER", 5, "?")
    assert response.status_code == 400
    assert not Review.objects.exists()


def test_sending_again_replaces_her_review_and_moderation_starts_over(world, staff_in_role):
    client = Client()
    url = link(world)
    submit(client, url, world["sku"], 5, "Perfect")
    review = Review.objects.get()
    staff = Client()
    staff.force_login(staff_in_role(SUPPORT_AGENT))
    staff.post(reverse("support:review-moderate", args=[review.pk]), {"status": "approved"})
    world["product"].refresh_from_db()
    assert world["product"].rating_count == 1

    assert submit(client, url, world["sku"], 4, "Good after all").status_code == 302
    review = Review.objects.get()  # still one row
    assert (review.rating, review.text, review.status) == (4, "Good after all", "pending")
    world["product"].refresh_from_db()
    assert world["product"].rating_count == 0  # not counted until read again


# --- moderation, the API's rating ---------------------------------------------------------


def test_approving_on_the_moderation_page_sets_the_products_rating_in_the_api(
    world, staff_in_role, api_client_for
):
    url = link(world)
    submit(Client(), url, world["sku"], 5, "Perfect")
    submit(Client(), url, world["other_sku"], 4, "Good")
    staff = Client()
    staff.force_login(staff_in_role(SUPPORT_AGENT))
    page = staff.get(reverse("support:reviews"))
    assert page.status_code == 200
    assert page.content.decode().count("data-review=") == 2
    for review in Review.objects.all():
        response = staff.post(
            reverse("support:review-moderate", args=[review.pk]), {"status": "approved"}
        )
        assert response.status_code == 302
    api = api_client_for("catalog:read")
    product = api.get(f"/api/v1/products/{world['product'].pk}").json()
    assert product["rating"] == {"average": "4.50", "count": 2}
    listed = api.get(f"/api/v1/products/{world['product'].pk}/reviews").json()
    assert sorted(r["rating"] for r in listed["results"]) == [4, 5]
    assert {r["reviewer"] for r in listed["results"]} == {"Sara"}

    rejected = Review.objects.get(sku=world["other_sku"])
    staff.post(reverse("support:review-moderate", args=[rejected.pk]), {"status": "rejected"})
    product = api.get(f"/api/v1/products/{world['product'].pk}").json()
    assert product["rating"] == {"average": "5.00", "count": 1}
    assert Review.objects.get(pk=rejected.pk).moderated_by.username == "support_agent"


def test_a_product_without_approved_reviews_has_no_average(world, api_client_for):
    submit(Client(), link(world), world["sku"], 5, "Waiting")
    product = api_client_for("catalog:read").get(f"/api/v1/products/{world['product'].pk}").json()
    assert product["rating"] == {"average": None, "count": 0}


def test_a_role_without_the_support_area_cannot_moderate(world, staff_in_role):
    submit(Client(), link(world), world["sku"], 5, "Perfect")
    review = Review.objects.get()
    marketer = Client()
    marketer.force_login(staff_in_role(MARKETER))
    assert marketer.get(reverse("support:reviews")).status_code == 403
    response = marketer.post(
        reverse("support:review-moderate", args=[review.pk]), {"status": "approved"}
    )
    assert response.status_code == 403
    assert Review.objects.get().status == "pending"


def test_the_photo_is_shown_to_staff_only(world, staff_in_role):
    submit(Client(), link(world), world["sku"], 5, "Look", upload("me.png", PNG))
    review = Review.objects.get()
    url = reverse("support:review-photo", args=[review.pk])
    assert Client().get(url).status_code == 302  # to the login page
    agent = Client()
    agent.force_login(staff_in_role(SUPPORT_AGENT))
    response = agent.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG


# --- a low rating --------------------------------------------------------------------------


def test_a_one_star_review_opens_exactly_one_conversation_about_the_order(world, staff_in_role):
    url = link(world)
    submit(Client(), url, world["sku"], 1, "The sole came off after a week")
    conversation = Conversation.objects.get()
    review = Review.objects.get()
    assert review.conversation_id == conversation.pk
    assert conversation.customer_id == world["customer"].pk
    assert conversation.related_order_number == world["order"].number
    first = conversation.messages.get()
    assert first.direction == Direction.NOTE
    assert "The sole came off after a week" in first.text

    # She sends the page again (a second star, other words): still one conversation.
    submit(Client(), url, world["sku"], 2, "Still broken")
    assert Conversation.objects.count() == 1

    # The agent sees the review beside the order in the conversation's panel.
    agent = Client()
    agent.force_login(staff_in_role(SUPPORT_AGENT))
    page = agent.get(reverse("support:conversation", args=[conversation.pk])).content.decode()
    assert f'data-review="{review.pk}"' in page and 'data-rating="2"' in page
    assert "Still broken" in page


def test_a_good_rating_opens_no_conversation(world):
    submit(Client(), link(world), world["sku"], 3, "Fine")
    assert not Conversation.objects.exists()


def test_the_threshold_is_a_setting(world, settings):
    settings.REVIEW_LOW_RATING_THRESHOLD = 3
    submit(Client(), link(world), world["sku"], 3, "Fine, but")
    assert Conversation.objects.count() == 1


# --- the review request message carries the link ------------------------------------------


def test_the_review_request_message_links_to_her_review_page(world):
    """The shipped journey's template, rendered as the journey sends it (the order_completed
    event's data as `order`), carries the signed link; the link opens her order's page."""
    template = install_templates()["review-request"]
    assert "review_url" in ALLOWED_VARIABLES
    rendered = render_message(
        template, world["customer"], journey_data={"order": {"order_id": world["order"].number}}
    )
    urls = re.findall(r"https?://\S+/support/reviews/r/[^/\s\"]+/", rendered.text + rendered.html)
    assert len(urls) == 2  # the text and the HTML part
    page = Client().get(re.sub(r"^https?://[^/]+", "", urls[0]))
    assert page.status_code == 200
    assert world["order"].number in page.content.decode()


def test_review_links_are_dated(world, settings):
    url = link(world)
    assert Client().get(url).status_code == 200
    settings.REVIEW_LINK_MAX_AGE_DAYS = 60
    later = timezone.now() + timedelta(days=61)
    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        assert Client().get(url).status_code == 410


# --- lists stay one page of queries ---------------------------------------------------------


def test_the_moderation_page_and_a_products_reviews_do_not_query_per_review(
    world, staff_in_role, api_client_for
):
    agent = Client()
    agent.force_login(staff_in_role(SUPPORT_AGENT))
    api = api_client_for("catalog:read")
    product_id = world["product"].pk

    def add_reviews(count):
        for review in ReviewFactory.create_batch(count, product_id=product_id):
            ReviewFactory(customer=review.customer, product_id=product_id, status="approved")

    def moderation_page():
        response = agent.get(reverse("support:reviews"))
        assert response.status_code == 200

    def product_reviews():
        response = api.get(f"/api/v1/products/{product_id}/reviews")
        assert response.status_code == 200

    assert_queries_do_not_grow(add_reviews, moderation_page)
    assert_queries_do_not_grow(add_reviews, product_reviews)
