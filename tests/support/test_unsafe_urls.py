"""A customer's message cannot put script into an agent's page: attachment links that are not
http(s) are dropped on the way in and again when shown (rows stored before the rule), HTML
bodies are sanitised, and the admin cannot edit what the customer sent."""

import re

import pytest

from support.factories import MessageFactory
from support.models import Message
from tests.support.test_inbound_webhooks import meta_messaging

pytestmark = pytest.mark.django_db

UNSAFE_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "  javascript:alert(1)",
    "\tjava\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/steal",
]


@pytest.fixture
def agent(client, staff_in_role):
    client.force_login(staff_in_role("Support agent", username="maryam"))
    return client


def instagram_with_attachment(url, mid="m_attack"):
    payload = meta_messaging("instagram", mid=mid)
    payload["entry"][0]["messaging"][0]["message"]["attachments"] = [
        {"type": "file", "payload": {"url": url}}
    ]
    return payload


def hrefs_and_srcs(page: str) -> list[str]:
    return re.findall(r'(?:href|src)\s*=\s*"([^"]*)"', page)


def assert_no_script_url(page: str):
    for value in hrefs_and_srcs(page):
        lowered = re.sub(r"[\x00-\x20]", "", value).lower()
        assert not lowered.startswith(("javascript:", "data:", "vbscript:", "//")), value


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_webhook_attachment_with_a_script_url_is_no_link_in_the_agents_page(webhooks, agent, url):
    response = webhooks.post("instagram", instagram_with_attachment(url))
    assert response.status_code == 200, response.content

    message = Message.objects.get()
    assert message.attachments == [{"type": "file"}]  # kept as an attachment, without its link
    page = agent.get(f"/support/c/{message.conversation_id}/").content.decode()
    assert f'data-message="{message.pk}"' in page
    assert_no_script_url(page)
    assert "alert(" not in page


def test_webhook_attachment_with_an_https_url_stays_a_link(webhooks, agent):
    url = "https://lookaside.example/photo.jpg?sig=1&x=2"
    webhooks.post("instagram", instagram_with_attachment(url))
    message = Message.objects.get()
    assert message.attachments == [{"type": "file", "url": url}]
    page = agent.get(f"/support/c/{message.conversation_id}/").content.decode()
    assert 'href="https://lookaside.example/photo.jpg?sig=1&amp;x=2"' in page


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_a_script_url_stored_before_the_rule_is_not_a_link_either(agent, url):
    message = MessageFactory(text="see attached", attachments=[{"type": "file", "url": url}])
    page = agent.get(f"/support/c/{message.conversation_id}/").content.decode()
    assert f'data-message="{message.pk}"' in page
    assert_no_script_url(page)
    assert "alert(" not in page and "msgbox(" not in page


def test_email_html_body_loses_script_handlers_and_script_links(webhooks, agent):
    html = (
        '<p>Hello <a href="javascript:alert(1)">track</a> <a href=" JAVASCRIPT:alert(2)">x</a>'
        '<img src="x" onerror="alert(3)"><script>alert(4)</script>'
        '<a href="https://shop.example/order/1">my order</a></p>'
    )
    response = webhooks.post(
        "email", {"From": "nina@example.com", "Subject": "Order", "HtmlBody": html}
    )
    assert response.status_code == 200, response.content
    message = Message.objects.get()
    page = agent.get(f"/support/c/{message.conversation_id}/").content.decode()
    assert 'href="https://shop.example/order/1"' in page
    assert "alert(" not in page and "onerror" not in page
    assert_no_script_url(page)


def test_html_stored_unsanitised_is_cleaned_when_shown(agent):
    message = MessageFactory(
        text="hi",
        html='<p>hi</p><img src=x onerror="alert(1)"><a href="javascript:alert(2)">x</a>'
        "<script>alert(3)</script>",
    )
    page = agent.get(f"/support/c/{message.conversation_id}/").content.decode()
    assert "<p>hi</p>" in page
    assert "alert(" not in page and "onerror" not in page
    assert_no_script_url(page)


def admin_form_data(response) -> dict:
    """The change form's own values, as the browser would post them back."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = field.prepare_value(form[name].value())
        if value is None:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list | tuple) else value
    for name in form.fields:  # split date/time widgets post two fields
        if isinstance(data.get(name), list) and name.endswith("_at"):
            data[f"{name}_0"], data[f"{name}_1"] = data.pop(name)
    return data


def test_admin_cannot_edit_what_the_customer_sent(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-12345678")
    client.force_login(admin)
    message = MessageFactory(text="hi", html="<p>hi</p>", attachments=[{"type": "image"}])
    url = f"/admin/support/message/{message.pk}/change/"

    response = client.get(url)
    page = response.content.decode()
    assert 'name="html"' not in page and 'name="attachments"' not in page
    data = admin_form_data(response)
    data.update(
        html='<img src=x onerror="alert(1)">',
        attachments='[{"type": "file", "url": "javascript:alert(1)"}]',
        text="edited",
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    message.refresh_from_db()
    assert message.text == "edited"  # the save went through...
    assert message.html == "<p>hi</p>"  # ...but not to what the customer sent
    assert message.attachments == [{"type": "image"}]
