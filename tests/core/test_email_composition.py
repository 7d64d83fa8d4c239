"""The SMTP adapter composes emails itself (core.providers.mime): what arrives must read as
what Django's EmailMultiAlternatives would have sent, in any language, and a header with a
line break is refused."""

from email import message_from_bytes, policy

import pytest
from django.core.mail import EmailMultiAlternatives

from core.factories import ChannelFactory
from core.providers import OutboundMessage, ProviderError, send_message
from core.providers.mime import compose

pytestmark = pytest.mark.django_db

LONG_LINE = "کفش " * 300  # 1,200 characters, 2,400 octets: longer than a line may be


def parts_of(raw: bytes):
    parsed = message_from_bytes(raw, policy=policy.default)
    parts = [
        (part.get_content_type(), part.get_content().replace("\r\n", "\n").rstrip("\n"))
        for part in parsed.walk()
        if not part.is_multipart()
    ]
    return parsed, parts


@pytest.mark.parametrize(
    ("subject", "text", "html", "from_email", "to", "headers"),
    [
        (
            "Hello Sara",
            "Hi Sara,\nnew shoes are in.\n.\n.a line starting with a dot",
            '<p>Hi <a href="https://shop.example.com/shoes">Sara</a></p>',
            "Omni Back-office <noreply@localhost>",
            "sara@example.com",
            {
                "List-Unsubscribe": "<https://shop.example.com/u/" + "x" * 120 + "/>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        ),
        (
            "سارا جان، کفش‌های تازه رسیدند " * 3,
            "سلام سارا\n" + LONG_LINE + "\nخداحافظ",
            "<p>" + LONG_LINE + "</p>",
            "فروشگاه امنی <shop@exämple.com>",
            "سارا <sara@例え.jp>",
            {
                "In-Reply-To": "<a@example.com>",
                "References": " ".join(f"<m{i}@x.y>" for i in range(20)),
            },
        ),
        ("Plain only", "no HTML part", "", "noreply@localhost", "x@example.com", {}),
    ],
    ids=["ascii", "persian-idn-long-line", "text-only"],
)
def test_a_composed_email_reads_like_djangos(subject, text, html, from_email, to, headers):
    ours = compose(
        subject=subject,
        text=text,
        html=html,
        from_email=from_email,
        to=to,
        message_id="<omni-c1-u2@localhost>",
        headers=headers,
    )
    django_email = EmailMultiAlternatives(
        subject, text, from_email, [to], headers={"Message-ID": "<omni-c1-u2@localhost>", **headers}
    )
    if html:
        django_email.attach_alternative(html, "text/html")
    theirs = django_email.message().as_bytes(linesep="\r\n")

    parsed_ours, ours_parts = parts_of(ours)
    parsed_theirs, theirs_parts = parts_of(theirs)
    assert ours_parts == theirs_parts
    assert parsed_ours.get_content_type() == parsed_theirs.get_content_type()
    for name in ("From", "To", "Message-ID", *headers):
        assert str(parsed_ours[name]) == str(parsed_theirs[name]), name
    assert str(parsed_ours["Subject"]).strip() == subject.strip()
    lines = ours.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    assert b"\n" not in ours.replace(b"\r\n", b"")  # every line ends in CRLF


@pytest.mark.smtp
def test_a_persian_email_to_an_international_domain_arrives_intact(smtp_server):
    channel = ChannelFactory(
        code="email",
        kind="email",
        provider="smtp",
        provider_settings={"from_email": "فروشگاه امنی <shop@example.com>"},
    )
    result = send_message(
        channel,
        OutboundMessage(
            to="سارا <sara@例え.jp>",
            subject="سارا جان، کفش‌های تازه رسیدند",
            text="سلام سارا\n" + LONG_LINE,
            html="<p>سلام سارا</p>",
            idempotency_key="campaign-7:customer-9",
        ),
    )
    (envelope,) = smtp_server.wait_for(1)
    assert envelope.rcpt_tos == ["sara@xn--r8jz45g.jp"]
    assert envelope.mail_from == "shop@example.com"
    received = message_from_bytes(envelope.original_content, policy=policy.default)
    assert received["Subject"] == "سارا جان، کفش‌های تازه رسیدند"
    assert received["From"].addresses[0].display_name == "فروشگاه امنی"
    assert (
        received["Message-ID"] == result.provider_message_id == "<campaign-7.customer-9@localhost>"
    )
    text, html = (part for part in received.walk() if not part.is_multipart())
    assert text["Content-Transfer-Encoding"] == "quoted-printable"  # the long line
    assert text.get_content().replace("\r\n", "\n").rstrip("\n") == "سلام سارا\n" + LONG_LINE
    assert html["Content-Transfer-Encoding"] == "8bit"
    assert html.get_content().rstrip("\r\n") == "<p>سلام سارا</p>"


@pytest.mark.smtp
def test_a_header_with_a_line_break_is_refused_for_good(smtp_server):
    channel = ChannelFactory(code="email", kind="email", provider="smtp")
    with pytest.raises(ProviderError) as error:
        send_message(
            channel,
            OutboundMessage(
                to="sara@example.com",
                subject="Hello\r\nBcc: everyone@example.com",
                text="Hi",
                idempotency_key="k-1",
            ),
        )
    assert not error.value.retryable
    assert smtp_server.wait_for(1, timeout=0.5) == []
