"""Apps read each other through their public doors (selectors, services, choices, errors),
never through another app's models: a table's owner is the one place its rules live.

The walk reads every module of every app (ast, no import) and fails on a new
`from <other app>.models import ...` or `from <other app> import models`, at module level
or inside a function. core is the shared kernel (channels, API keys, the audit trail, the
outbox): every app builds on its models as on django.contrib.auth's, so they stay open.
Tests, migrations and bench scripts are not apps' code and are not walked."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("customers", "catalog", "inventory", "orders", "orders.woocommerce", "campaigns", "support")
WALKED = ("core", *APPS)
KERNEL = "core"


def owner_of(module: str) -> str | None:
    """The app a dotted module belongs to (the longest app name that prefixes it)."""
    found = None
    for app in WALKED:
        if module == app or module.startswith(app + "."):
            if found is None or len(app) > len(found):
                found = app
    return found


def models_module_owner(module: str) -> str | None:
    """`orders.models` or `orders.models.lines` -> "orders"; anything else -> None."""
    parts = module.split(".")
    if "models" not in parts:
        return None
    owner = owner_of(".".join(parts[: parts.index("models")]))
    return owner if owner and ".".join(parts[: parts.index("models")]) == owner else None


def imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                if alias.name == "models":  # from orders import models
                    yield node.lineno, f"{node.module}.models"


def crossings(root: Path = ROOT) -> list[str]:
    found = []
    for app in WALKED:
        folder = root.joinpath(*app.split("."))
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(root)
            if "migrations" in relative.parts:
                continue
            module = ".".join(relative.with_suffix("").parts)
            here = owner_of(module)
            tree = ast.parse(path.read_text(), filename=str(relative))
            for line, name in imported_modules(tree):
                owner = models_module_owner(name)
                if owner and owner != here and owner != KERNEL:
                    found.append(f"{relative}:{line} imports {name} ({here} -> {owner})")
    return sorted(set(found))


def test_no_app_imports_another_apps_models():
    assert crossings() == [], (
        "Read another app's tables through its selectors (or write through its services); "
        "enums live in its choices module:\n" + "\n".join(crossings())
    )


def test_the_walk_sees_a_crossing(tmp_path):
    """The walk is not blind: a planted import of another app's models, inside a function,
    and the `from app import models` form are both reported; an app's own models are not."""
    for app in WALKED:
        tmp_path.joinpath(*app.split(".")).mkdir(parents=True, exist_ok=True)
    tmp_path.joinpath("support", "views.py").write_text(
        "from support.models import Conversation\n"
        "def view():\n    from orders.models import Order\n"
    )
    tmp_path.joinpath("campaigns", "segments.py").write_text("from customers import models\n")
    tmp_path.joinpath("orders", "woocommerce", "sync.py").write_text(
        "from orders.models import Order\nfrom core.models import Channel\n"
    )
    assert crossings(tmp_path) == [
        "campaigns/segments.py:1 imports customers.models (campaigns -> customers)",
        "orders/woocommerce/sync.py:1 imports orders.models (orders.woocommerce -> orders)",
        "support/views.py:3 imports orders.models (support -> orders)",
    ]
