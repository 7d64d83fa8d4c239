"""Core's demo stages: channels and one staff login per role; and the demo's logins and
channel secrets read back from the database, which `seed_demo` prints at its end and
`demo_logins` prints again later."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.urls import reverse

from core.demo import DEMO_SECRET_PREFIX, register_stage
from core.factories import StaffUserFactory, demo_channels
from core.models import Channel
from core.providers.catalogue import INBOUND, META_KINDS
from core.roles import ROLES

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 (printed demo login)
DEMO_ADMIN = ("admin", "admin-pass-123")  # noqa: S105
CHANGED = "(changed)"  # shown instead of a demo password someone has changed since


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
        token = f"{DEMO_SECRET_PREFIX}{channel.code}-verify-token"
        channel.provider_settings = {**(channel.provider_settings or {}), "verify_token": token}
        channel.save(update_fields=["provider_settings"])
        ctx.note("Meta webhook verify tokens (demo only, change them):", f"{channel.code}: {token}")


@register_stage("core.staff", order=1, label="Staff logins")
def seed_staff(ctx):
    User = get_user_model()
    username, password = DEMO_ADMIN
    if not User.objects.filter(username=username).exists():
        User.objects.create_superuser(username, f"{username}@example.com", password)
    locales = ["fa_IR", "en_US", "ar_AA", "az_AZ"]
    for index, role in enumerate(ctx.progress(ROLES, "Staff logins")):
        # Staff named in the market's languages, so right-to-left names show in the shell.
        faker = ctx.faker(locales[index % len(locales)])
        StaffUserFactory(
            username=login_for(role),
            roles=[role],
            password=DEMO_PASSWORD,
            first_name=faker.first_name(),
            last_name=faker.last_name(),
        )
    # The logins are printed from the database afterwards: demo_logins() below.
    ctx.created("staff users", 1 + len(ROLES))


def login_for(role: str) -> str:
    """The demo's login for a role: "Support agent" -> support_agent."""
    return role.lower().replace(" ", "_")


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, password, role) of the demo's staff logins still in the database and
    active, the superuser first, then one per role. The role is read from the user (superuser
    or their groups); a password changed since the seed shows as CHANGED, never the old one.
    Checked without upgrading the stored hash: reading writes nothing."""
    planned = {DEMO_ADMIN[0]: DEMO_ADMIN[1]} | {login_for(role): DEMO_PASSWORD for role in ROLES}
    users = get_user_model().objects.filter(username__in=planned, is_active=True)
    by_name = {user.username: user for user in users.prefetch_related("groups")}
    logins = []
    for username, password in planned.items():
        user = by_name.get(username)
        if user is None:
            continue
        groups = ", ".join(sorted(group.name for group in user.groups.all()))
        role = "superuser" if user.is_superuser else groups or "staff"
        shown = password if check_password(password, user.password) else CHANGED
        logins.append((username, shown, role))
    return logins


def demo_secrets() -> list[tuple[Channel, str, list[tuple[str, str]]]]:
    """(channel, its inbound webhook path or "", [(setting, value)]) for each channel holding
    secrets the demo stored (values starting with DEMO_SECRET_PREFIX; a real secret is never
    shown), by channel code; the inbound secret first."""
    found = []
    for channel in Channel.objects.order_by("code"):
        secrets = [
            (name, value)
            for name, value in (channel.provider_settings or {}).items()
            if isinstance(value, str) and value.startswith(DEMO_SECRET_PREFIX)
        ]
        if not secrets:
            continue
        secrets.sort(key=lambda item: item[0] != "inbound_secret")
        path = ""
        if channel.kind in INBOUND:
            inbound = reverse("api-support-inbound", kwargs={"kind": INBOUND[channel.kind][0]})
            path = f"{inbound}?channel={channel.code}"
        found.append((channel, path, secrets))
    return found


def write_credentials(stdout, style) -> bool:
    """Print the channels' demo secrets, then the staff logins (last, where a new user looks
    for them); False when the database holds neither."""
    secrets, logins = demo_secrets(), demo_logins()
    if secrets:
        stdout.write(style.SUCCESS("Webhook secrets (demo only, change them):"))
    for channel, path, values in secrets:
        line = f"{channel.code}:"
        if path and values[0][0] == "inbound_secret":
            # Who sends to the inbound path signs with this one (support.adapters verifies).
            line, values = f"POST {path:<44} secret {values[0][1]}", values[1:]
        extras = "  ".join(f"{name.replace('_', ' ')} {value}" for name, value in values)
        stdout.write(f"  {line}  {extras}".rstrip())
    if logins:
        stdout.write(style.SUCCESS("Staff logins (demo only, change them):"))
    for username, password, role in logins:
        stdout.write(f"  {username:<20} {password:<18} {role}")
    return bool(secrets or logins)
