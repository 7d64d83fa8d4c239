"""Who touched a customer's data: the staff pages and the partner API leave a row in the
append-only audit trail, searchable in the admin, part of her own data export, and kept no
longer than the retention setting."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from core.models import AuditAction, AuditEntry
from core.services.audit import purge_expired
from customers.factories import CustomerFactory
from support.factories import ConversationFactory


@pytest.mark.django_db
def test_opening_her_page_as_an_agent_is_recorded_and_her_export_includes_it(
    staff_in_role, api_client_for
):
    sara = CustomerFactory(first_name="Sara", last_name="Rahimi")
    agent = staff_in_role("Support agent", username="omid")
    client = Client()
    client.force_login(agent)
    page = client.get(f"/customers/{sara.public_id}/", REMOTE_ADDR="10.1.2.3")
    assert page.status_code == 200
    [entry] = AuditEntry.objects.all()
    assert (entry.action, entry.customer_public_id, entry.actor, entry.user) == (
        AuditAction.VIEW_PROFILE,
        sara.public_id,
        "omid",
        agent,
    )
    assert entry.ip_address == "10.1.2.3" and entry.path == f"/customers/{sara.public_id}/"
    assert entry.request_id == page["X-Request-Id"]

    exported = api_client_for("customers:write").post(f"/api/v1/customers/{sara.public_id}/export")
    assert exported.status_code == 200, exported.content
    log = exported.json()["access_log"]
    assert [(row["action"], row["by"]) for row in log] == [
        ("view_profile", "staff"),
        ("export", "partner"),
    ]
    assert "omid" not in exported.content.decode()  # staff names are not hers to see


@pytest.mark.django_db
def test_a_conversation_view_and_partner_reads_are_recorded(staff_in_role, api_client_for):
    conversation = ConversationFactory()
    customer = conversation.customer
    agent = staff_in_role("Support agent", username="leila")
    client = Client()
    client.force_login(agent)
    assert client.get(f"/support/c/{conversation.pk}/").status_code == 200
    reader = api_client_for("customers:read", name="crm-sync")
    assert reader.get(f"/api/v1/customers/{customer.public_id}").status_code == 200
    assert reader.get(f"/api/v1/customers/{customer.public_id}/timeline").status_code == 200
    rows = list(AuditEntry.objects.order_by("id").values_list("action", "actor", "api_key_prefix"))
    assert rows[0][:2] == (AuditAction.VIEW_CONVERSATION, "leila")
    assert [row[0] for row in rows[1:]] == [AuditAction.API_READ, AuditAction.API_READ]
    assert all(actor == "key:crm-sync" and prefix for _action, actor, prefix in rows[1:])


@pytest.mark.django_db
def test_entries_cannot_be_changed_or_removed_in_the_admin_and_are_searchable(staff_in_role):
    entry = AuditEntry.objects.create(
        action=AuditAction.EXPORT, customer_public_id=CustomerFactory().public_id, actor="x"
    )
    entry.actor = "someone else"
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        AuditEntry.objects.update(actor="y")
    admin_user = staff_in_role("Administrator", username="boss")
    client = Client()
    client.force_login(admin_user)
    listing = client.get(f"/admin/core/auditentry/?q={entry.customer_public_id}")
    assert listing.status_code == 200 and str(entry.customer_public_id) in listing.content.decode()
    assert client.get(f"/admin/core/auditentry/{entry.pk}/delete/").status_code == 403
    assert client.post(f"/admin/core/auditentry/{entry.pk}/change/", {}).status_code == 403
    agent = staff_in_role("Support lead", username="lead")
    client.force_login(agent)
    assert client.get("/admin/core/auditentry/").status_code == 403  # administrators only


@pytest.mark.django_db
def test_the_retention_sweep_removes_only_what_is_older_than_the_setting(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    public_id = CustomerFactory().public_id
    now = timezone.now()
    old = AuditEntry.objects.create(
        action=AuditAction.VIEW_PROFILE,
        customer_public_id=public_id,
        actor="a",
        at=now - timedelta(days=31),
    )
    recent = AuditEntry.objects.create(
        action=AuditAction.VIEW_PROFILE,
        customer_public_id=public_id,
        actor="a",
        at=now - timedelta(days=29),
    )
    assert purge_expired(now) == 1
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not AuditEntry.objects.filter(pk=old.pk).exists()


def form_data(html):
    """The values a browser would post from the admin change form as it is shown."""
    data = {}
    for tag in re.findall(r"<input\b[^>]*>", html):
        name = re.search(r'\bname="([^"]+)"', tag)
        if not name or re.search(r'\btype="(submit|button|file)"', tag):
            continue
        if re.search(r'\btype="checkbox"', tag) and " checked" not in tag:
            continue
        value = re.search(r'\bvalue="([^"]*)"', tag)
        data[name.group(1)] = unescape(value.group(1)) if value else ""
    for name, body in re.findall(
        r'<textarea\b[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S
    ):
        data[name] = unescape(body.strip("\n"))
    for name, body in re.findall(r'<select\b[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', body)
        data[name] = unescape(chosen.group(1)) if chosen else ""
    return data


@pytest.mark.django_db
def test_an_edit_in_the_admin_is_recorded_with_what_changed(staff_in_role):
    sara = CustomerFactory(first_name="Sara", last_name="Rahimi")
    lead = staff_in_role("Administrator", username="boss")
    client = Client()
    client.force_login(lead)
    url = f"/admin/customers/customer/{sara.pk}/change/"
    data = form_data(client.get(url).content.decode())
    data["first_name"] = "Sarah"
    answer = client.post(url, data)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    entry = AuditEntry.objects.get(action=AuditAction.EDIT)
    assert (entry.customer_public_id, entry.actor) == (sara.public_id, "boss")
    assert entry.detail == {"changed": ["first_name"]}
