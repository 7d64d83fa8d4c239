"""Settings, read from the environment (and an optional `.env`) with django-environ.

With no environment at all the project runs embedded: SQLite in the project folder, Celery
tasks executed eagerly, DEBUG on. Production sets DATABASE_URL, CELERY_BROKER_URL,
SECRET_KEY, ALLOWED_HOSTS and DEBUG=False; see the settings table in README.md.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdef"  # noqa: S105 (development only)
SECRET_KEY = env("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# A deploy that forgets DEBUG=False or SECRET_KEY must not serve the public: the development
# key (which anyone can read here) and DEBUG's tracebacks are for this machine only.
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1", "testserver"}
_public_hosts = sorted(set(ALLOWED_HOSTS) - LOOPBACK_HOSTS)
if _public_hosts and (DEBUG or SECRET_KEY == _DEV_SECRET_KEY):
    raise ImproperlyConfigured(
        f"ALLOWED_HOSTS names {', '.join(_public_hosts)}: set DEBUG=False and a SECRET_KEY of "
        "your own before serving any host other than this machine."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "djmoney",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "core",
    "customers",
    "catalog",
    "inventory",
    "orders",
    "campaigns",
    "support",
    "orders.woocommerce",
]

MIDDLEWARE = [
    # First: it times the whole answer, whatever a later middleware decides.
    "core.metrics.MetricsMiddleware",
    "core.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "core.middleware.RefuseNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "core.account_security.StaffSessionMiddleware",
    "core.l10n.DisplayPreferencesMiddleware",
    "core.middleware.ApiRequestMiddleware",
    # After the idempotency record (bookkeeping): notes the request's own commits.
    "core.middleware.ServiceFailureMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.staff_ui",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# --- Database ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions and WAL let the embedded mode take concurrent writes from
    # runserver threads and an eager Celery task without "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True


def behind_transaction_pooler(database: dict) -> dict:
    """What a PostgreSQL database entry needs behind a transaction-mode pooler (PgBouncer's
    pool_mode=transaction), where each transaction may run on another server connection, so
    nothing may outlive one: no server-side cursors (`.iterator()` reads through a client-side
    cursor instead of a named cursor the next statement could not find), no prepared statements
    (psycopg 3 prepares none with prepare_threshold None, Django's default, kept even if
    OPTIONS elsewhere asked otherwise). Client connections to the pooler stay persistent
    (CONN_MAX_AGE): they hold no server connection between transactions. Also used by the
    test plugin (tests/pooler.py), which points the tests at a PgBouncer of its own."""
    database["DISABLE_SERVER_SIDE_CURSORS"] = True
    database.setdefault("OPTIONS", {})["prepare_threshold"] = None
    return database


# DATABASE_POOLER=transaction when DATABASE_URL (and DATABASE_REPLICA_URL) lead to a
# transaction-mode pooler; "" (the default) when they lead to PostgreSQL or a session pooler.
# The embedded SQLite mode has no pooler and ignores it.
DATABASE_POOLER = env("DATABASE_POOLER", default="")
if DATABASE_POOLER not in ("", "transaction"):
    raise ImproperlyConfigured("DATABASE_POOLER must be empty or 'transaction'.")
if DATABASE_POOLER and DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    behind_transaction_pooler(DATABASES["default"])
# A read replica of `default` (optional): the reports and dashboards read from it, inside
# core.replica.reading_replica(); every other read, and every write, goes to `default`.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    if DATABASE_POOLER:
        behind_transaction_pooler(DATABASES["replica"])
    # Tests use the test copy of `default` through this alias; none is created for it.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://omni")}
# The shared cache speeds things up but is never a dependency (core.services.shared_cache):
# rate limits fail open and debounces fall back to the database when it is down, and a Redis
# that does not answer is given up on quickly, not after the operating system's timeouts.
CACHE_TIMEOUT_SECONDS = env.float("CACHE_TIMEOUT_SECONDS", default=0.5)
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["OPTIONS"] = {
        "socket_connect_timeout": CACHE_TIMEOUT_SECONDS,
        "socket_timeout": CACHE_TIMEOUT_SECONDS,
        **CACHES["default"].get("OPTIONS", {}),
    }

# --- Auth -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sessions live in the database, never in the cache: a cache outage logs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Failed sign-ins are counted per username and per address by django-axes: after
# AXES_FAILURE_LIMIT wrong passwords the account (or the address) is locked for
# AXES_COOLOFF_MINUTES; an administrator unlocks it sooner with
# `manage.py axes_reset_username <name>` or in the admin's access attempts.
AUTHENTICATION_BACKENDS = [
    "core.account_security.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "core/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False  # core.admin registers the locked accounts page instead
# A second factor (TOTP, core.account_security) for Administrators, Support leads and whoever
# may erase customers; on by default outside DEBUG (the embedded demo logs in without one).
STAFF_SECOND_FACTOR = env.bool("STAFF_SECOND_FACTOR", default=not DEBUG)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Omni back-office")
# A staff session unused this long ends (0: never); the API's keys are not sessions.
STAFF_IDLE_TIMEOUT_SECONDS = env.int("STAFF_IDLE_TIMEOUT_SECONDS", default=30 * 60)
# What an open page asks for by itself (the live inbox's event stream and "is replying"
# heartbeats) is not the staff member's activity: it does not keep an idle session alive.
STAFF_IDLE_IGNORED_PATHS = r"^/support/(events|c/\d+/typing)"

# --- Languages and time -----------------------------------------------------------------
LANGUAGE_CODE = env("LANGUAGE_CODE", default="en")
LANGUAGES = [
    ("en", _("English")),
    ("fa", _("Persian")),
    ("ar", _("Arabic")),
    ("az", _("Azerbaijani")),
    ("be", _("Belarusian")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# Region used to read phone numbers written without a country code (09121234567).
PHONE_DEFAULT_REGION = env("PHONE_DEFAULT_REGION", default="IR")
DEFAULT_CURRENCY = env("DEFAULT_CURRENCY", default="USD")
CURRENCIES = ("IRR", "AZN", "BYN", "AED", "USD", "EUR")

# --- Loyalty and referrals (campaigns.services.loyalty) ---------------------------------------
# What one point takes off an order, per currency: `POINTS-<n>` as an order's coupon code
# spends n points. A currency left out cannot be paid with points.
LOYALTY_POINT_VALUE = env.dict(
    "LOYALTY_POINT_VALUE",
    default={
        "USD": "0.01",
        "EUR": "0.01",
        "AED": "0.05",
        "AZN": "0.02",
        "BYN": "0.03",
        "IRR": "5000",
    },
)
# Points expire this many days after the order that earned them (0: never).
LOYALTY_POINTS_EXPIRE_DAYS = env.int("LOYALTY_POINTS_EXPIRE_DAYS", default=365)
# What a credited referral gives the customer who brought her and the new customer.
REFERRAL_REFERRER_POINTS = env.int("REFERRAL_REFERRER_POINTS", default=500)
REFERRAL_REFEREE_POINTS = env.int("REFERRAL_REFEREE_POINTS", default=250)

# --- Store-local marketing (campaigns.services.store_local) ---------------------------------
# "Your size is back in your store": a customer hears about one variant at most once in this
# many days, and a product she only viewed counts when viewed within the last N days.
STORE_RESTOCK_WINDOW_DAYS = env.int("STORE_RESTOCK_WINDOW_DAYS", default=14)
STORE_RESTOCK_VIEW_DAYS = env.int("STORE_RESTOCK_VIEW_DAYS", default=90)

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Files every machine must see go through Django's storage API, never the local disk: with
# more than one web or worker machine, point these at a shared store (django-storages and
# S3, see the README). `default` holds uploaded media (public: feeds link product images),
# `feeds` the channel feeds (private: served only through /api/v1/feeds/ with a key or
# token), `imports` the uploaded catalog imports (private: read by the import job only,
# under unguessable names). The embedded default of each is a folder under MEDIA_ROOT.
STORAGES = {
    "default": {
        "BACKEND": env(
            "MEDIA_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": env.json("MEDIA_STORAGE_OPTIONS", default={}),
    },
    "feeds": {
        "BACKEND": env(
            "FEEDS_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": env.json("FEEDS_STORAGE_OPTIONS", default={}),
    },
    # Uploaded catalog imports (catalog.CatalogImport): private, read only by the import job.
    "imports": {
        "BACKEND": env(
            "IMPORTS_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": env.json("IMPORTS_STORAGE_OPTIONS", default={}),
    },
    # Files visitors send through the chat widget (support.widget): private, read by staff
    # through a view that checks their permission, never served as media.
    "attachments": {
        "BACKEND": env(
            "ATTACHMENTS_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": env.json(
            "ATTACHMENTS_STORAGE_OPTIONS",
            default={"location": str(env.path("PRIVATE_MEDIA_ROOT", default=BASE_DIR / "private"))},
        ),
    },
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

# --- Security (production shape) ---------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Content-Security-Policy on every response (django-csp): scripts and styles only from our
# own static files, never inline, so a customer's words that slip into a page cannot run.
# Images may come from partners' http(s) CDNs (product media, attachments); nothing else
# leaves the origin. One page loosens it: the campaign template editor (campaigns/views.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:", "https:", "http:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.NONE],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    },
}
X_FRAME_OPTIONS = "DENY"
# Partner API bodies above this size are refused with 413 before they are read.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=5 * 1024 * 1024)
# Catalog imports (POST /api/v1/catalog/imports, the staff page): the largest file and the
# most rows one import may hold; an upload past either is refused naming the limit.
CATALOG_IMPORT_MAX_BYTES = env.int("CATALOG_IMPORT_MAX_BYTES", default=5 * 1024 * 1024)
CATALOG_IMPORT_MAX_ROWS = env.int("CATALOG_IMPORT_MAX_ROWS", default=20_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, 2_621_440)

# Absolute base of links in messages (tracking, unsubscribe, receipts).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# A cart with no activity for this long is abandoned (cart_abandoned on the timeline).
CART_ABANDON_AFTER_MINUTES = env.int("CART_ABANDON_AFTER_MINUTES", default=60)
# Audiences and offline conversions sent to ad platforms (campaigns.services.ad_audiences).
# The API bases are overridable (tests, proxies); empty credentials: nothing is sent.
GOOGLE_ADS_API_BASE = env("GOOGLE_ADS_API_BASE", default="https://googleads.googleapis.com")
GOOGLE_ADS_API_VERSION = env("GOOGLE_ADS_API_VERSION", default="v22")
GOOGLE_ADS_DEVELOPER_TOKEN = env("GOOGLE_ADS_DEVELOPER_TOKEN", default="")
# A fixed access token, or (better: they last an hour) the OAuth refresh flow's three.
GOOGLE_ADS_ACCESS_TOKEN = env("GOOGLE_ADS_ACCESS_TOKEN", default="")
GOOGLE_ADS_CLIENT_ID = env("GOOGLE_ADS_CLIENT_ID", default="")
GOOGLE_ADS_CLIENT_SECRET = env("GOOGLE_ADS_CLIENT_SECRET", default="")
GOOGLE_ADS_REFRESH_TOKEN = env("GOOGLE_ADS_REFRESH_TOKEN", default="")
GOOGLE_ADS_OAUTH_TOKEN_URL = env(
    "GOOGLE_ADS_OAUTH_TOKEN_URL", default="https://oauth2.googleapis.com/token"
)
GOOGLE_ADS_CUSTOMER_ID = env("GOOGLE_ADS_CUSTOMER_ID", default="")
GOOGLE_ADS_LOGIN_CUSTOMER_ID = env("GOOGLE_ADS_LOGIN_CUSTOMER_ID", default="")
GOOGLE_ADS_CONVERSION_ACTION_ID = env("GOOGLE_ADS_CONVERSION_ACTION_ID", default="")
META_GRAPH_API_BASE = env("META_GRAPH_API_BASE", default="https://graph.facebook.com")
META_GRAPH_API_VERSION = env("META_GRAPH_API_VERSION", default="v21.0")
META_ACCESS_TOKEN = env("META_ACCESS_TOKEN", default="")
META_AD_ACCOUNT_ID = env("META_AD_ACCOUNT_ID", default="")
META_DATASET_ID = env("META_DATASET_ID", default="")
AD_PLATFORM_TIMEOUT_SECONDS = env.float("AD_PLATFORM_TIMEOUT_SECONDS", default=30.0)
AD_CONVERSION_WINDOW_DAYS = env.int("AD_CONVERSION_WINDOW_DAYS", default=30)
AD_AUDIENCE_SYNC_SECONDS = env.float("AD_AUDIENCE_SYNC_SECONDS", default=6 * 3600.0)

# --- Email ------------------------------------------------------------------------------
EMAIL_CONFIG = env.email("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Omni Back-office <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
# No broker configured: run every task in-process, so the embedded mode needs no services.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_RESULT_BACKEND = env(
    "CELERY_RESULT_BACKEND",
    default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else None,
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# One queue per workload, so a campaign in flight never holds a stock push or a rollup: a
# worker per queue (`celery -A config worker -Q sending`), or one worker consuming them all
# (`make worker`). CELERY_QUEUE_PREFIX namespaces the names, so several installs (or test runs)
# can share one Redis without taking each other's tasks.
TASK_QUEUE_PREFIX = env("CELERY_QUEUE_PREFIX", default="")
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default=f"{TASK_QUEUE_PREFIX}default")
TASK_QUEUES = {
    "default": CELERY_TASK_DEFAULT_QUEUE,
    # Messages to people through a provider: campaign chunks, the inbox's replies.
    "sending": f"{TASK_QUEUE_PREFIX}sending",
    # Stock figures to the sales channels, due within their debounce (inventory.services.sync).
    "stock": f"{TASK_QUEUE_PREFIX}stock",
    # Bulk data in and the figures computed from it: catalog imports, the reports' rollups.
    "ingest": f"{TASK_QUEUE_PREFIX}ingest",
}
# Every task by its registered name; tests/core/test_queues.py fails on a task left out.
TASK_WORKLOADS = {
    "sending": ["campaigns.send_chunk", "support.send_outbound_message"],
    "stock": ["inventory.push_stock", "inventory.push_stock_changes"],
    "ingest": [
        "customers.refresh_rollups",
        "catalog.run_import",
        "campaigns.refresh_product_pairs",
        "campaigns.refresh_recommendations_after_purchases",
        "campaigns.refresh_home_stores",
        "campaigns.refresh_recent_home_stores",
    ],
    "default": [
        "campaigns.advance_journeys",
        "campaigns.apply_loyalty",
        "campaigns.dispatch",
        "campaigns.expire_loyalty_points",
        "campaigns.sync_ad_audience",
        "campaigns.sync_ad_audiences",
        "campaigns.tell_size_back_in_store",
        "campaigns.track_conversions",
        "campaigns.upload_ad_conversions",
        "catalog.build_feed",
        "catalog.regenerate_feeds",
        "catalog.start_waiting_imports",
        "core.beat_heartbeat",
        "core.deliver_outbox",
        "core.ensure_partitions",
        "core.ping",
        "core.poll_sms_receipts",
        "core.purge_audit_trail",
        "core.purge_idempotency_records",
        "inventory.expire_reservations",
        "inventory.notice_late_transfers",
        "orders.detect_abandoned_carts",
        "support.detect_sla_breaches",
        "support.poll_imap",
        "support.send_unsent_replies",
    ],
}
CELERY_TASK_ROUTES = {
    task: {"queue": TASK_QUEUES[workload]}
    for workload, tasks in TASK_WORKLOADS.items()
    for task in tasks
}
# Declared, so a worker started without -Q consumes every workload's queue.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name) for name in TASK_QUEUES.values()
]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish that cannot reach the broker gives up within a fraction of a second: three
# connection attempts of at most BROKER_TIMEOUT_SECONDS, 50 ms apart. The work it carried is
# already in the database (core.services.enqueue), and the beat sweeps below send it once the
# broker is back. Side work is published without a result, so a dead result backend cannot
# hold a request either; its own reconnects are kept as short for the tasks that keep one.
BROKER_TIMEOUT_SECONDS = env.float("BROKER_TIMEOUT_SECONDS", default=0.25)
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.05,
    "interval_max": 0.05,
}
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT_SECONDS
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": BROKER_TIMEOUT_SECONDS}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = BROKER_TIMEOUT_SECONDS
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": CELERY_TASK_PUBLISH_RETRY_POLICY}
CELERY_BEAT_SCHEDULE_FILENAME = env(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / "celerybeat-schedule")
)
BEAT_HEARTBEAT_SECONDS = env.float("BEAT_HEARTBEAT_SECONDS", default=60.0)

# Live updates of the inbox (core.live): every commit that changes a conversation is announced
# on this Redis (default: the Redis broker or cache, if either is Redis), so each web process
# wakes its open pages at once; empty: one process, woken in memory (the embedded mode). A
# page's event stream ends after LIVE_EVENTS_STREAM_SECONDS and the browser resumes it; while
# Redis is unreachable, streams read the table every LIVE_EVENTS_POLL_SECONDS.
LIVE_EVENTS_REDIS_URL = env(
    "LIVE_EVENTS_REDIS_URL",
    default=CACHES["default"]["LOCATION"]
    if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    else (CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""),
)
LIVE_EVENTS_STREAM_SECONDS = env.float("LIVE_EVENTS_STREAM_SECONDS", default=55.0)
LIVE_EVENTS_HEARTBEAT_SECONDS = env.float("LIVE_EVENTS_HEARTBEAT_SECONDS", default=15.0)
LIVE_EVENTS_POLL_SECONDS = env.float("LIVE_EVENTS_POLL_SECONDS", default=1.0)
# The shop's chat widget (support.widget): per-visitor rate limits, and the largest photo or
# PDF a visitor may send.
WEBCHAT_SEND_RATE = env("WEBCHAT_SEND_RATE", default="20/min")
WEBCHAT_POLL_RATE = env("WEBCHAT_POLL_RATE", default="120/min")
WEBCHAT_ATTACHMENT_MAX_BYTES = env.int("WEBCHAT_ATTACHMENT_MAX_BYTES", default=5 * 1024 * 1024)
# Product reviews (support.services.reviews): how long the signed review link in the review
# request opens the page, the largest photo, and the rating at or below which a review opens
# a support conversation.
REVIEW_LINK_MAX_AGE_DAYS = env.int("REVIEW_LINK_MAX_AGE_DAYS", default=60)
REVIEW_PHOTO_MAX_BYTES = env.int("REVIEW_PHOTO_MAX_BYTES", default=5 * 1024 * 1024)
REVIEW_LOW_RATING_THRESHOLD = env.int("REVIEW_LOW_RATING_THRESHOLD", default=2)
# Periodic work. Each app adds its entries here, keyed "<app>.<what>". The sweeps also send
# the side work whose publish failed while the broker was down: core.deliver_outbox the
# webhook events, inventory.push_stock_changes the pending stock marks, campaigns.dispatch the
# campaign rows (after their lease), support.send_unsent_replies the replies,
# catalog.regenerate_feeds the feeds.
CELERY_BEAT_SCHEDULE = {
    # The audit trail past AUDIT_RETENTION_DAYS (core.services.audit).
    "core.purge_audit_trail": {"task": "core.purge_audit_trail", "schedule": 86400.0},
    # Hourly, so listings whose publication window opens or closes reach the feeds.
    "catalog.regenerate_feeds": {"task": "catalog.regenerate_feeds", "schedule": 3600.0},
    "core.beat_heartbeat": {"task": "core.beat_heartbeat", "schedule": BEAT_HEARTBEAT_SECONDS},
    "core.deliver_outbox": {"task": "core.deliver_outbox", "schedule": 30.0},
    # Points earned, taken back and referrals credited from new order events (any channel).
    "campaigns.apply_loyalty": {"task": "campaigns.apply_loyalty", "schedule": 30.0},
    "campaigns.expire_loyalty_points": {
        "task": "campaigns.expire_loyalty_points",
        "schedule": 86400.0,
    },
    # Next months' partitions, well before they are needed (core.partitioning).
    "core.ensure_partitions": {"task": "core.ensure_partitions", "schedule": 86400.0},
    "core.purge_idempotency_records": {
        "task": "core.purge_idempotency_records",
        "schedule": 3600.0,
    },
    "inventory.expire_reservations": {"task": "inventory.expire_reservations", "schedule": 60.0},
    # Transfers past their expected date: a pickup hold re-planned, the staff told.
    "inventory.notice_late_transfers": {
        "task": "inventory.notice_late_transfers",
        "schedule": 900.0,
    },
    "inventory.push_stock_changes": {"task": "inventory.push_stock_changes", "schedule": 60.0},
    "orders.detect_abandoned_carts": {"task": "orders.detect_abandoned_carts", "schedule": 300.0},
    "support.detect_sla_breaches": {"task": "support.detect_sla_breaches", "schedule": 60.0},
    # Replies whose send task was lost (broker down when enqueued, worker died).
    "support.send_unsent_replies": {"task": "support.send_unsent_replies", "schedule": 60.0},
    "support.poll_imap": {"task": "support.poll_imap", "schedule": 60.0},
    "campaigns.dispatch": {"task": "campaigns.dispatch", "schedule": 60.0},
    # The dashboards' and reports' daily rollups: the last days again (customers.rollups).
    "customers.refresh_rollups": {"task": "customers.refresh_rollups", "schedule": 300.0},
    "campaigns.advance_journeys": {"task": "campaigns.advance_journeys", "schedule": 60.0},
    "campaigns.track_conversions": {"task": "campaigns.track_conversions", "schedule": 300.0},
    # The product pairs behind recommendations: hourly, and after new orders (their cursor).
    "campaigns.refresh_product_pairs": {
        "task": "campaigns.refresh_product_pairs",
        "schedule": 3600.0,
    },
    "campaigns.refresh_recommendations_after_purchases": {
        "task": "campaigns.refresh_recommendations_after_purchases",
        "schedule": 300.0,
    },
    # Home stores: all of them nightly (a pass over the store visits on the timeline), and
    # those of customers with new orders or visits each minute (an id cursor).
    "campaigns.refresh_home_stores": {"task": "campaigns.refresh_home_stores", "schedule": 86400.0},
    "campaigns.refresh_recent_home_stores": {
        "task": "campaigns.refresh_recent_home_stores",
        "schedule": 60.0,
    },
    # Restocks remembered in their movement's transaction whose task a broker that was down
    # lost: the waiting customers are told within the minute it is back.
    "campaigns.tell_size_back_in_store": {
        "task": "campaigns.tell_size_back_in_store",
        "schedule": 60.0,
    },
    # Delivery receipts of SMS gateways that only answer when asked (Kavenegar).
    "core.poll_sms_receipts": {"task": "core.poll_sms_receipts", "schedule": 300.0},
    # Imports whose publish was lost (broker down) or whose worker died.
    "catalog.start_waiting_imports": {"task": "catalog.start_waiting_imports", "schedule": 60.0},
    # Segments to the ad platforms' audiences, and store purchases after an ad click.
    "campaigns.sync_ad_audiences": {
        "task": "campaigns.sync_ad_audiences",
        "schedule": AD_AUDIENCE_SYNC_SECONDS,
    },
    "campaigns.upload_ad_conversions": {
        "task": "campaigns.upload_ad_conversions",
        "schedule": 3600.0,
    },
}
# A periodic run that waited in the queue longer than its interval is dropped: the next one
# is already due, so a stalled worker never faces a pile of stale copies.
for _entry in CELERY_BEAT_SCHEDULE.values():
    _entry.setdefault("options", {}).setdefault("expires", _entry["schedule"])
# No task can hang a worker: a soft limit raises SoftTimeLimitExceeded in the task (it
# rolls back and is retried or fails visibly), the hard limit kills the child process.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)

# --- Metrics (core.metrics) ---------------------------------------------------------------
# /metrics answers to `Authorization: Bearer <METRICS_TOKEN>`; without a token, only to this
# machine. Several processes: PROMETHEUS_MULTIPROC_DIR (environment) shared by all of them.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# The broker queues whose depth is reported, and the port a Celery worker serves its own
# metrics on (0: none; use it when workers run on another host than the web).
METRICS_CELERY_QUEUES = env.list("METRICS_CELERY_QUEUES", default=list(TASK_QUEUES.values()))
METRICS_WORKER_PORT = env.int("METRICS_WORKER_PORT", default=0)

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.HasScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.ApiClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_client": env("API_DEFAULT_RATE", default="6000/min")},
    "EXCEPTION_HANDLER": "core.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.ApiSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_VERSIONING_CLASS": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Omni back-office partner API",
    "DESCRIPTION": (
        "One customer, one stock, one conversation across every channel. Authenticate with "
        "`Authorization: Bearer <api key>`; every POST honours an `Idempotency-Key` header; "
        'every 4xx answers `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Two choice sets named `reason`: a stock movement's keeps the name partners' generated
    # clients know (ReasonEnum); why a product is recommended gets its own.
    "ENUM_NAME_OVERRIDES": {
        "ReasonEnum": "inventory.choices.MovementReason",
        "RecommendationReasonEnum": ["bought_together", "viewed_together"],
    },
    # Swagger UI assets are served from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Segment's SDKs authenticate with the write key (one of our API keys) as the Basic user.
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "segmentWriteKey": {
                "type": "http",
                "scheme": "basic",
                "description": "An API key with customers:write as the user, no password.",
            }
        }
    },
}

# One line per event; LOG_FORMAT=json (the default when DEBUG is off) writes each as a JSON
# object carrying the request id (core.observability), for a log pipeline to index.
LOG_FORMAT = env("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},  # one INFO line per sign-in otherwise
    },
}
# How long the audit trail of who touched customers' data is kept (core.services.audit); 0
# keeps it for ever.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=730)
# Monthly partitions of the tables that grow without bound (core.partitioning, PostgreSQL
# only): the beat creates this month's and PARTITION_MONTHS_AHEAD more; `manage.py partitions
# archive` copies each month older than its table's retention to PARTITION_ARCHIVE_DIR (a
# gzipped CSV per month) and drops it. None keeps a table for ever (the stock ledger: levels
# stand without it, but its history is the audit of every unit). Archiving events refuses a
# cutoff closer than 14 months (the rollups rebuild 400 days).
PARTITION_MONTHS_AHEAD = env.int("PARTITION_MONTHS_AHEAD", default=3)
PARTITION_RETENTION_MONTHS = {
    "customers_event": env.int("EVENT_RETENTION_MONTHS", default=25),
    "campaigns_trackingevent": env.int("TRACKING_RETENTION_MONTHS", default=25),
    "inventory_stockmovement": env.int("STOCK_MOVEMENT_RETENTION_MONTHS", default=None),
    "core_outboxevent": env.int("OUTBOX_RETENTION_MONTHS", default=3),
}
PARTITION_ARCHIVE_DIR = env("PARTITION_ARCHIVE_DIR", default=str(BASE_DIR / "archive"))
# Traces of requests and tasks to an OpenTelemetry collector (OTLP over HTTP), when enabled
# (`pip install -e '.[otel]'`).
OTEL_ENABLED = env.bool("OTEL_ENABLED", default=False)
OTEL_EXPORTER_OTLP_ENDPOINT = env("OTEL_EXPORTER_OTLP_ENDPOINT", default="http://127.0.0.1:4318")
OTEL_SERVICE_NAME = env("OTEL_SERVICE_NAME", default="omni-backoffice")
# Error tracking (core.observability): personal data is scrubbed before an event is sent.
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
