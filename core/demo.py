"""The demo-data registry. Each app registers stages; `seed_demo` runs them in order.

    from core.demo import register_stage

    @register_stage("catalog.products", order=20, label="Products")
    def seed_products(ctx):
        for _ in ctx.progress(range(ctx.scale(300)), "Products"):
            ...
        ctx.created("products", n)

Stages build their rows with the app's factory-boy factories, the same ones the tests use.
A secret a stage stores for the demo (a webhook secret, a verify token) starts with
`DEMO_SECRET_PREFIX`: `seed_demo` and `demo_logins` print those, and only those, from the
database (`core.demo_data.write_credentials`).
"""

import logging
import random
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import factory.random
import time_machine
from django.core import mail
from django.test.utils import override_settings
from faker import Faker
from tqdm import tqdm

SIZES = {"small": 1, "medium": 5, "large": 25}
# Locales of the market we serve first; right-to-left names show up in the demo.
LOCALES = ["en_US", "fa_IR", "ar_AA", "az_AZ"]
DEMO_SECRET_PREFIX = "demo-"  # noqa: S105 (how a demo secret starts, not a secret)
# What a seed at the default verbosity hides: INFO lines (every eager Celery task's
# "succeeded", the console provider's copy of each message sent) and kombu's warning that the
# in-memory broker of the embedded mode has no host name. Other warnings and errors show.
QUIET_LEVELS = {"": logging.WARNING, "kombu": logging.ERROR}
THROWAWAY_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def story_clock(at):
    """Run a step of a demo story at its own date (`with story_clock(day_3): ...`), so the
    timelines, orders, messages and ledgers it writes read in the story's true order over
    weeks, not all in the second the demo was seeded. The clock keeps ticking inside."""
    return time_machine.travel(at, tick=True)


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    run: Callable
    order: int


STAGES: dict[str, Stage] = {}


def register_stage(key, *, order=50, label=None):
    def decorator(func):
        STAGES[key] = Stage(key, label or key, func, order)
        return func

    return decorator


@dataclass
class DemoContext:
    size: str = "small"
    seed: int = 1
    quiet: bool = False  # no progress bars at all
    # Bars on a terminal only, erased when done (seed_demo's default verbosity prints one
    # line per stage instead); False keeps every bar on screen.
    transient_bars: bool = False
    counts: dict = field(default_factory=dict)
    shared: dict = field(default_factory=dict)  # stages hand each other what they made

    def __post_init__(self):
        self.random = random.Random(self.seed)
        self.fakers = {locale: Faker(locale) for locale in LOCALES}
        for index, faker in enumerate(self.fakers.values()):
            faker.seed_instance(self.seed + index)
        factory.random.reseed_random(self.seed)
        Faker.seed(self.seed)

    def scale(self, small_count: int) -> int:
        return small_count * SIZES[self.size]

    def faker(self, locale=None):
        return self.fakers[locale or self.random.choice(LOCALES)]

    def progress(self, iterable, label, total=None):
        # tqdm's disable=None: shown on a terminal, not in a pipe or a log file.
        disable = True if self.quiet else None if self.transient_bars else False
        return tqdm(
            iterable,
            desc=f"{label:<28}",
            total=total,
            disable=disable,
            unit=" rows",
            leave=not self.transient_bars,
        )

    def created(self, what, count):
        self.counts[what] = self.counts.get(what, 0) + count

    def note(self, heading, line):
        """A line seed_demo prints under `heading` at --verbosity 2 (demo secrets, addresses).
        At every verbosity it ends with the logins and the channels' secrets read back from the
        database, so store a secret with DEMO_SECRET_PREFIX for `demo_logins` to find it."""
        self.shared.setdefault("notes", {}).setdefault(heading, []).append(line)


def run_stages(ctx: DemoContext, only=None, announce=None):
    """Run the registered stages in order, or those whose key starts with one of `only`;
    `announce(number, total, stage)` is called before each (seed_demo's progress lines)."""
    stages = [
        stage
        for stage in sorted(STAGES.values(), key=lambda s: (s.order, s.key))
        if not only or any(stage.key.startswith(prefix) for prefix in only)
    ]
    for number, stage in enumerate(stages, start=1):
        if announce is not None:
            announce(number, len(stages), stage)
        stage.run(ctx)
    return ctx.counts


@contextmanager
def quiet_seeding():
    """Seed without the running system's chatter, for this run only: INFO logs are dropped
    (QUIET_LEVELS; a level already higher stays) and the emails the stages send (receipts,
    journeys) go to an in-memory outbox that is thrown away, not to the console. Wrap the
    transaction too: eager tasks run when it commits. The server and the tests keep their own
    levels and email backend."""
    loggers = [(logging.getLogger(name), level) for name, level in QUIET_LEVELS.items()]
    levels_before = [(logger, logger.level) for logger, _level in loggers]
    had_outbox = hasattr(mail, "outbox")  # the tests' outbox stays as it is
    for logger, level in loggers:
        logger.setLevel(max(level, logger.getEffectiveLevel()))
    try:
        with override_settings(EMAIL_BACKEND=THROWAWAY_EMAIL_BACKEND):
            yield
    finally:
        for logger, level in levels_before:
            logger.setLevel(level)
        if not had_outbox and hasattr(mail, "outbox"):
            del mail.outbox
