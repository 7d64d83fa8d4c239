"""Staff accounts that hold: lockout after wrong passwords, a second factor for those who can
reach every customer's data, and idle sessions that end. Through the login page, the
two-factor page and the admin, as a person would."""

import base64
import re

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "a-long-staff-password"  # noqa: S105


def staff(username, role=None, **extra):
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True, **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def log_in(client, username, password=PASSWORD, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def current_code(page):
    """What the phone shows after scanning the page's key (its base32 text)."""
    secret = re.search(r"data-totp-secret>([A-Z2-7=]+)<", page.content.decode()).group(1)
    return f"{totp(base64.b32decode(secret)):06d}"


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_account_and_the_right_one_then_fails_too():
    staff("mina", "Support agent")
    client = Client()
    for _ in range(4):
        refused = log_in(client, "mina", "wrong", REMOTE_ADDR="10.0.0.1")
        assert refused.status_code == 200 and b"did not match" in refused.content
    locked = log_in(client, "mina", "wrong", REMOTE_ADDR="10.0.0.1")
    assert locked.status_code == 429 and b"Account locked" in locked.content
    # The right password from another address: still locked (the account is).
    again = log_in(Client(), "mina", REMOTE_ADDR="10.0.0.2")
    assert again.status_code == 429
    assert "_auth_user_id" not in again.wsgi_request.session
    # Someone else signs in from elsewhere as usual.
    staff("omid", "Support agent")
    assert log_in(Client(), "omid", REMOTE_ADDR="10.0.0.3").status_code == 302


@pytest.mark.django_db
def test_an_administrator_without_a_second_factor_cannot_reach_the_admin(settings):
    settings.STAFF_SECOND_FACTOR = True
    staff("sara", "Administrator")
    client = Client()
    assert log_in(client, "sara").status_code == 302
    asked = client.get("/admin/")
    assert asked.status_code == 302 and asked["Location"].startswith("/accounts/two-factor/")
    assert client.get("/").status_code == 302
    api = client.get("/api/v1/channels")
    assert api.status_code == 403 and api.json()["code"] == "second_factor_required"

    # Enrol: the page shows a QR code and the key; a wrong code is refused, naming the field.
    page = client.get("/accounts/two-factor/?next=/admin/")
    assert page.status_code == 200 and b"data:image/svg+xml;base64," in page.content
    assert not TOTPDevice.objects.exists()  # showing the key stores nothing
    assert current_code(client.get("/accounts/two-factor/")) == current_code(page)  # same key
    with time_machine.travel("2026-12-04 10:00:00+00:00", tick=False) as traveller:
        wrong = client.post("/accounts/two-factor/", {"code": "000000", "next": "/admin/"})
        assert wrong.status_code == 200 and b"not valid" in wrong.content
        traveller.shift(2)  # django-otp throttles the next try after a failure
        enrolled = client.post(
            "/accounts/two-factor/", {"code": current_code(page), "next": "/admin/"}
        )
    assert enrolled.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9]{10})</code></li>", enrolled.content.decode())
    assert len(codes) == 10
    assert client.get("/admin/").status_code == 200

    # A new session asks again; a recovery code works once.
    other = Client()
    log_in(other, "sara")
    assert other.get("/admin/").status_code == 302
    verify = other.get("/accounts/two-factor/")
    assert b"data:image" not in verify.content  # no new enrolment offered
    assert other.post("/accounts/two-factor/", {"code": codes[0]}).status_code == 302
    assert other.get("/admin/").status_code == 200
    third = Client()
    log_in(third, "sara")
    reused = third.post("/accounts/two-factor/", {"code": codes[0]})
    assert reused.status_code == 200 and third.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_roles_that_cannot_reach_every_customer_are_not_asked(settings):
    settings.STAFF_SECOND_FACTOR = True
    staff("nima", "Merchandiser")
    client = Client()
    log_in(client, "nima")
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_the_next_address_after_two_factor_stays_on_this_site(settings):
    settings.STAFF_SECOND_FACTOR = True
    staff("leila", "Support lead")
    client = Client()
    log_in(client, "leila")
    page = client.get("/accounts/two-factor/")
    answer = client.post(
        "/accounts/two-factor/", {"code": current_code(page), "next": "https://evil.example/"}
    )
    assert b"https://evil.example/" not in answer.content


@pytest.mark.django_db
def test_an_idle_staff_session_ends(settings):
    settings.STAFF_IDLE_TIMEOUT_SECONDS = 600
    staff("reza", "Support agent")
    client = Client()
    with time_machine.travel("2026-12-04 10:00:00+00:00", tick=False) as traveller:
        log_in(client, "reza")
        assert client.get("/").status_code == 200
        traveller.shift(300)
        assert client.get("/").status_code == 200  # activity keeps it alive
        traveller.shift(540)
        assert client.get("/").status_code == 200
        traveller.shift(500)
        # An open page's own request (the stream is not read: closing it would end the
        # request and, with it, the test's database connection).
        assert client.get("/support/events?after=0").status_code == 200
        traveller.shift(101)
        ended = client.get("/")
        assert ended.status_code == 302 and ended["Location"].startswith("/accounts/login/")
        assert client.get("/").status_code == 302  # logged out, not just redirected once
