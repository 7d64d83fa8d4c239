"""The demo-data registry. Each app registers stages; `seed_demo` runs them in order.

    from core.demo import register_stage

    @register_stage("catalog.products", order=20, label="Products")
    def seed_products(ctx):
        for _ in ctx.progress(range(ctx.scale(300)), "Products"):
            ...
        ctx.created("products", n)

Stages build their rows with the app's factory-boy factories, the same ones the tests use.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import factory.random
import time_machine
from faker import Faker
from tqdm import tqdm

SIZES = {"small": 1, "medium": 5, "large": 25}
# Locales of the market we serve first; right-to-left names show up in the demo.
LOCALES = ["en_US", "fa_IR", "ar_AA", "az_AZ"]


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
    quiet: bool = False
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
        return tqdm(
            iterable, desc=f"{label:<28}", total=total, disable=self.quiet, unit=" rows", leave=True
        )

    def created(self, what, count):
        self.counts[what] = self.counts.get(what, 0) + count

    def note(self, heading, line):
        """A line seed_demo prints under `heading` at the end (demo secrets, addresses)."""
        self.shared.setdefault("notes", {}).setdefault(heading, []).append(line)


def run_stages(ctx: DemoContext, only=None):
    for stage in sorted(STAGES.values(), key=lambda s: (s.order, s.key)):
        if only and not any(stage.key.startswith(prefix) for prefix in only):
            continue
        stage.run(ctx)
    return ctx.counts
