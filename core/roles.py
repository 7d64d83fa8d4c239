"""Staff roles: Django groups and the permissions each one's job needs.

A role is described by app labels and models with the actions it may take. `sync_roles`
turns that into group permissions; it runs from a migration (creating the groups) and after
every `migrate`, so models added later by any app join the right groups.
"""

from django.apps import apps as global_apps
from django.utils.translation import gettext_noop

ALL = ("view", "add", "change", "delete")
VIEW = ("view",)
WORK = ("view", "add", "change")

ADMINISTRATOR = gettext_noop("Administrator")
MERCHANDISER = gettext_noop("Merchandiser")
INVENTORY_MANAGER = gettext_noop("Inventory manager")
MARKETER = gettext_noop("Marketer")
SUPPORT_AGENT = gettext_noop("Support agent")
SUPPORT_LEAD = gettext_noop("Support lead")

# role -> {"app_label" or "app_label.model": actions}. A model entry overrides its app entry.
ROLES = {
    ADMINISTRATOR: {
        "auth": ALL,
        "core": ALL,
        "customers": ALL,
        "catalog": ALL,
        "inventory": ALL,
        "orders": ALL,
        "campaigns": ALL,
        "support": ALL,
        "woocommerce": ALL,
        # Removing a colleague's lost second factor (core.admin.SecondFactorAdmin).
        "otp_totp": ("view", "delete"),
        "otp_static": ("view", "delete"),
        # Unlocking an account locked after wrong passwords (core.admin.LockedSignInAdmin).
        "axes.accessattempt": ("view", "delete"),
    },
    MERCHANDISER: {
        "catalog": ALL,
        "core.channel": VIEW,
        "inventory": VIEW,
        "orders": VIEW,
    },
    INVENTORY_MANAGER: {
        "inventory": ALL,
        "catalog": VIEW,
        "core.channel": VIEW,
        "orders": VIEW,
    },
    MARKETER: {
        "campaigns": ALL,
        "customers": VIEW,
        "catalog": VIEW,
        "core.channel": VIEW,
        "orders": VIEW,
    },
    SUPPORT_AGENT: {
        "support": WORK,
        "customers": VIEW,
        "orders": VIEW,
        # Agents start returns, exchanges and replacements from a conversation.
        "orders.return": WORK,
        "orders.returnline": WORK,
        "orders.exchange": WORK,
        "orders.replacement": WORK,
        "orders.courierpickup": WORK,
        "catalog": VIEW,
        "core.channel": VIEW,
    },
    SUPPORT_LEAD: {
        "support": ALL,
        "customers": WORK,
        "orders": WORK,
        "catalog": VIEW,
        "core.channel": VIEW,
    },
}

# Rows that only an Administrator handles, whatever an app-wide entry says.
ADMIN_ONLY_MODELS = {
    "core.apikey",
    "core.webhookendpoint",
    "core.idempotencyrecord",
    "core.auditentry",
}


def _actions_for(role_rules, app_label, model):
    return role_rules.get(f"{app_label}.{model}", role_rules.get(app_label, ()))


def sync_roles(apps=None):
    """Create the role groups and set exactly the permissions their rules give."""
    if apps is None:
        apps = global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(Permission.objects.select_related("content_type"))
    for role, rules in ROLES.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = []
        for permission in permissions:
            app_label = permission.content_type.app_label
            model = permission.content_type.model
            if f"{app_label}.{model}" in ADMIN_ONLY_MODELS and role != ADMINISTRATOR:
                continue
            action = permission.codename.split("_", 1)[0]
            if action in _actions_for(rules, app_label, model):
                wanted.append(permission)
        group.permissions.set(wanted)


def sync_roles_after_migrate(sender, using="default", apps=None, **kwargs):
    # post_migrate fires once per app, after auth has created that app's permissions; the
    # last app's signal sees every permission, so syncing then is enough.
    if sender is list(global_apps.get_app_configs())[-1]:
        sync_roles(global_apps)
