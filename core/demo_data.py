"""Core's demo stages: channels and one staff login per role."""

from django.contrib.auth import get_user_model

from core.demo import register_stage
from core.factories import StaffUserFactory, demo_channels
from core.providers.catalogue import META_KINDS
from core.roles import ROLES

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 (printed demo login)
DEMO_ADMIN = ("admin", "admin-pass-123")  # noqa: S105


@register_stage("core.channels", order=0, label="Channels")
def seed_channels(ctx):
    channels = list(ctx.progress(demo_channels(), "Channels"))
    _meta_verify_tokens(ctx, channels)
    ctx.shared["channels"] = {channel.code: channel for channel in channels}
    ctx.created("channels", len(channels))


def _meta_verify_tokens(ctx, channels):
    """Meta's webhook subscription check answers with the channel's verify token: the demo's
    WhatsApp, Messenger and Instagram channels have one, so their set-up page shows a stored
    (masked) secret. Nothing is sent: the demo channels send through the console."""
    for channel in channels:
        if channel.kind not in META_KINDS or (channel.provider_settings or {}).get("verify_token"):
            continue
        token = f"demo-{channel.code}-verify-token"
        channel.provider_settings = {**(channel.provider_settings or {}), "verify_token": token}
        channel.save(update_fields=["provider_settings"])
        ctx.note("Meta webhook verify tokens (demo only, change them):", f"{channel.code}: {token}")


@register_stage("core.staff", order=1, label="Staff logins")
def seed_staff(ctx):
    User = get_user_model()
    username, password = DEMO_ADMIN
    if not User.objects.filter(username=username).exists():
        User.objects.create_superuser(username, f"{username}@example.com", password)
    logins = [(username, password, "superuser")]
    locales = ["fa_IR", "en_US", "ar_AA", "az_AZ"]
    for index, role in enumerate(ctx.progress(ROLES, "Staff logins")):
        login = role.lower().replace(" ", "_")
        # Staff named in the market's languages, so right-to-left names show in the shell.
        faker = ctx.faker(locales[index % len(locales)])
        StaffUserFactory(
            username=login,
            roles=[role],
            password=DEMO_PASSWORD,
            first_name=faker.first_name(),
            last_name=faker.last_name(),
        )
        logins.append((login, DEMO_PASSWORD, role))
    ctx.shared["logins"] = logins
    ctx.created("staff users", len(logins))
