"""Each role sees in the admin what its job needs, and nothing of another's."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from core.factories import ChannelFactory
from core.roles import ROLES

pytestmark = pytest.mark.django_db


def test_every_role_exists_as_a_group_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)


def test_support_agent_sees_channels_but_cannot_edit_them(client, staff_in_role):
    channel = ChannelFactory(code="web", name="Web")
    client.force_login(staff_in_role("Support agent"))
    assert client.get("/admin/core/channel/").status_code == 200
    page = client.get(f"/admin/core/channel/{channel.pk}/change/")
    # A view-only user gets the read-only form: no save button.
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    response = client.post(
        f"/admin/core/channel/{channel.pk}/change/",
        {"code": "web", "name": "Hacked", "kind": "web", "currency": "USD"},
    )
    assert response.status_code == 403
    channel.refresh_from_db()
    assert channel.name == "Web"


@pytest.mark.parametrize(
    "role", ["Merchandiser", "Inventory manager", "Marketer", "Support agent", "Support lead"]
)
def test_only_administrators_see_api_keys(client, staff_in_role, role):
    client.force_login(staff_in_role(role))
    assert client.get("/admin/core/apikey/").status_code == 403
    assert b"/admin/core/apikey/" not in client.get("/admin/").content


def test_administrator_manages_channels_and_api_keys(client, staff_in_role):
    client.force_login(staff_in_role("Administrator"))
    assert client.get("/admin/core/apikey/").status_code == 200
    response = client.post(
        "/admin/core/channel/add/",
        {
            "code": "kiosk",
            "name": "Kiosk",
            "kind": "store",
            "currency": "AZN",
            "irr_unit": "rial",
            "sells": "on",
            "is_active": "on",
            "provider_settings": "{}",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]


def test_staff_without_a_role_cannot_open_the_channels_page(client, staff_in_role):
    client.force_login(staff_in_role())
    assert client.get("/channels/").status_code == 403


@pytest.mark.parametrize(
    ("role", "app_label", "can_change"),
    [
        ("Merchandiser", "catalog", True),
        ("Support agent", "catalog", False),
        ("Marketer", "campaigns", True),
        ("Support agent", "campaigns", False),
        ("Inventory manager", "inventory", True),
        ("Merchandiser", "inventory", False),
        ("Support agent", "support", True),
        ("Marketer", "support", False),
    ],
)
def test_roles_give_change_rights_only_to_their_own_area(
    staff_in_role, role, app_label, can_change
):
    """Checked on every model the app has, so models added by later issues are covered."""
    user = staff_in_role(role)
    models = list(apps.get_app_config(app_label).get_models())
    for model in models:
        perm = f"{app_label}.change_{model._meta.model_name}"
        assert user.has_perm(perm) is can_change, perm
