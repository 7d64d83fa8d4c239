"""One way in: staff pages and the admin share the staff login page."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("start", ["/", "/customers/", "/admin/", "/admin/customers/customer/"])
def test_every_door_leads_to_the_one_login_page(client, start):
    response = client.get(start, follow=True)
    final, _status = response.redirect_chain[-1]
    assert final.startswith("/accounts/login/?next=")
    assert final.endswith(start.replace("/", "%2F")) or final.endswith(start)
    assert response.status_code == 200
    assert b'action="/accounts/login/"' in response.content


def test_logging_in_there_opens_the_admin(client, staff_in_role):
    staff_in_role("Administrator", username="boss")
    response = client.post(
        "/accounts/login/?next=/admin/",
        {"username": "boss", "password": "demo-pass-123", "next": "/admin/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/admin/"
    assert response.status_code == 200


def test_an_account_that_is_not_staff_cannot_log_in(client):
    get_user_model().objects.create_user("shopper", password="shopper-pass-123")
    response = client.post(
        "/accounts/login/", {"username": "shopper", "password": "shopper-pass-123"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
