"""Settings for spotlersync, read from the environment (and an optional `.env` file).

Every variable is listed, with its meaning, in `.env.example` and in the README.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# The value `make run` and the tests work with; the `production_settings` system check refuses
# to start with it when DEBUG is off.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"  # noqa: S105

# The sandbox's demo credential pair (also in .env.example). Harmless: it only opens the local
# sandbox. The system check refuses it against any Spotler that is not on loopback.
SANDBOX_CONSUMER_KEY = "spotlersync-demo"
SANDBOX_CONSUMER_SECRET = "spotlersync-demo-secret"  # noqa: S105

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Off unless asked for: an operator who forgets it gets the production behaviour (no tracebacks
# in error bodies, the production checks, HTTPS only). `make run` and the test settings
# (tests/settings.py) turn it on.
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "spotlersync.apps.SpotlersyncConfig",
    "spotlersync.apps.SpotlersyncAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "mapping",
    "ninja",
    "contacts",
    "sync",
    "bounces",
    "lists",
    "public",
    "audit",
    "identity",
]

MIDDLEWARE = [
    # First: /healthz and /readyz answer before any redirect, host check or session.
    "spotlersync.probes.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "contacts.api_errors.refuse_large_body",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.trail.remember_request",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if not DEBUG:
    # In production WhiteNoise serves the collected static files; in development `runserver`
    # and the test live server serve them from STATICFILES_DIRS.
    MIDDLEWARE.insert(2, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "spotlersync.urls"
WSGI_APPLICATION = "spotlersync.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "spotlersync.roles.roles_context",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the queue cluster and the sandbox share one SQLite file: wait for a lock
    # instead of failing at once, and let readers work while a writer writes.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # Take the write lock when a transaction starts, not at its first write: a
            # read-then-write transaction (the ledger's) then waits for another writer instead
            # of failing at once with "database is locked".
            "transaction_mode": "IMMEDIATE",
        }
    )
    # Tests use a file, not memory, so that a queue cluster or live server in another process
    # sees the same test database; one file per test run, so that two runs never share one.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"spotlersync-test-{os.getpid()}.sqlite3")
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

# The cache is shared by every process (web, queue workers): django-q2 keeps its cluster
# statistics there, and the dashboard reads them from the web process.
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's, reusing one Redis client per connection pool (spotlersync/redis_cache.py).
            "BACKEND": "spotlersync.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that is down or unreachable costs a request seconds, not minutes: the ingest
            # API then carries on without the cache (spotlersync/cache_outage.py).
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "spotlersync_cache",
        }
    }

Q_CLUSTER = {
    "name": "spotlersync",
    # Worker processes per `manage.py qcluster`; run as many qcluster processes, on as many
    # machines, as the load needs.
    "workers": env.int("Q_WORKERS", default=2),
    # A task running longer than this (seconds) is killed ...
    "timeout": 600,
    # ... and redelivered this long after it was taken; must be larger than `timeout`, or a slow
    # task would be handed to a second worker while the first still runs it.
    "retry": 660,
    # The default (0) redelivers a failing task forever; our jobs record their own failures.
    "max_attempts": 3,
    # After downtime, run a missed schedule once rather than once per missed interval.
    "catch_up": False,
    # Keep this many successful task results; failures are always kept.
    "save_limit": 1000,
    "ack_failures": True,
    "label": "Queue",
    # Backfills run on a queue of their own, worked by `Q_CLUSTER_NAME=backfill manage.py
    # qcluster`, so live changes never wait behind 100,000 contacts.
    "ALT_CLUSTERS": {
        "backfill": {
            "workers": env.int("Q_BACKFILL_WORKERS", default=2),
            # One backfill task works until its run is done; a stopped one resumes from its
            # checkpoint (sync/backfill.py), so a long limit costs nothing.
            "timeout": 6 * 3600,
            "retry": 6 * 3600 + 60,
            "max_attempts": 1,
        },
    },
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.2  # seconds between polls of the database broker

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["spotlersync.roles.RoleBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Amsterdam")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Spotler Mail+ (see README "Connecting to Spotler").
SPOTLER_BASE_URL = env.str(
    "SPOTLER_BASE_URL", default="http://127.0.0.1:8765/integrationservice"
).rstrip("/")
SPOTLER_CONSUMER_KEY = env.str("SPOTLER_CONSUMER_KEY", default=SANDBOX_CONSUMER_KEY)
SPOTLER_CONSUMER_SECRET = env.str("SPOTLER_CONSUMER_SECRET", default=SANDBOX_CONSUMER_SECRET)
SPOTLER_RATE_LIMIT = env.float("SPOTLER_RATE_LIMIT", default=10)
SPOTLER_TEMPLIST_LIMIT = env.int("SPOTLER_TEMPLIST_LIMIT", default=30)
# Temporary lists (lists/): a new list ends after this many days unless given another end date;
# a delete Spotler refuses with "Temporary list in use" is tried again after this many minutes.
LISTS_DEFAULT_EXPIRY_DAYS = env.int("LISTS_DEFAULT_EXPIRY_DAYS", default=30)
LISTS_IN_USE_RETRY_MINUTES = env.int("LISTS_IN_USE_RETRY_MINUTES", default=15)
# A list pushing or sending whose worker gave no sign of life for this many minutes was left
# by a worker that died: the "Expire temporary lists" schedule queues it again (from its
# checkpoint). Contacts of a list not yet in Spotler are pushed first; while Spotler cannot
# take them the list waits at most this many seconds, then fails with Spotler's words.
LISTS_STALE_MINUTES = env.int("LISTS_STALE_MINUTES", default=5)
LISTS_PUSH_WAIT_SECONDS = env.int("LISTS_PUSH_WAIT_SECONDS", default=120)
# Seconds the client waits for Spotler's answer to a call before counting it as failed (and
# retrying it, as any transient failure).
SPOTLER_READ_TIMEOUT = env.float("SPOTLER_READ_TIMEOUT", default=30)

# Recurring jobs (sync/schedules.py; `manage.py setup_schedules` applies a change).
SYNC_REFRESH_PROPERTIES_MINUTES = env.int("SYNC_REFRESH_PROPERTIES_MINUTES", default=60)
SYNC_PULL_UPDATES_MINUTES = env.int("SYNC_PULL_UPDATES_MINUTES", default=15)
SYNC_PULL_BOUNCES_MINUTES = env.int("SYNC_PULL_BOUNCES_MINUTES", default=60)
# The reconciliation of every contact with Spotler's copy (identity/reconcile.py): weekly.
SYNC_RECONCILE_MINUTES = env.int("SYNC_RECONCILE_MINUTES", default=7 * 24 * 60)
# Its calls to Spotler in flight at once: enough to keep every slot of the rate limit used while
# each call waits for Spotler's answer (at 10 calls/s and 0.3 s a round trip, 3 would do).
SYNC_RECONCILE_FETCHERS = env.int("SYNC_RECONCILE_FETCHERS", default=4)
if SYNC_RECONCILE_FETCHERS < 1:
    raise ImproperlyConfigured("SYNC_RECONCILE_FETCHERS must be 1 or more (calls in flight).")
# Bounces per call to `contact/bounces/list`. Spotler documents no maximum (spotler-api.md §2.7,
# §6); at its 10 calls/s, pages of 100 alone would make 50,000 bounces take 50 s. Lower it if
# Spotler ever refuses the size.
SYNC_PULL_BOUNCES_PAGE_SIZE = env.int("SYNC_PULL_BOUNCES_PAGE_SIZE", default=500)
if SYNC_PULL_BOUNCES_PAGE_SIZE < 1:
    raise ImproperlyConfigured("SYNC_PULL_BOUNCES_PAGE_SIZE must be 1 or more (bounces a call).")
# The queue (django-q2 cluster name) that works backfills; see Q_CLUSTER["ALT_CLUSTERS"].
SYNC_BACKFILL_CLUSTER = "backfill"
# A running run whose worker has not reported for this long is taken to have died: the
# watchdog (the "Watch sync runs" schedule) resumes it from its checkpoint. Longer than one
# Spotler call may take with the client's retries (180 s, spotler/retry.py) plus a read timeout.
SYNC_RUN_STALE_SECONDS = env.int("SYNC_RUN_STALE_SECONDS", default=300)
# Waits before a change Spotler could not take for now (even after the client's own retries) is
# pushed again: after the first failure in a row, the second, ...; the last wait repeats.
SYNC_PUSH_BACKOFF_SECONDS = env.list(
    "SYNC_PUSH_BACKOFF_SECONDS", cast=int, default=[30, 120, 600, 1800, 3600]
)
# A contact pushed less than this many seconds ago waits until this long after that push, then
# goes once with its latest state: a burst of edits of one contact makes two calls, not one each.
# A single edit is not delayed. 0 switches the quiet period off.
SYNC_PUSH_QUIET_SECONDS = env.float("SYNC_PUSH_QUIET_SECONDS", default=1.0)
# A claim on contacts being pushed (or a subscription being sent) older than this belonged to a
# worker that died: it is released and the work goes again. Longer than one push may take with
# the client's retries (180 s, spotler/retry.py) and a read timeout, or a slow push would be sent
# twice.
SYNC_PUSH_LEASE_SECONDS = env.int("SYNC_PUSH_LEASE_SECONDS", default=600)
# Each pull starts this long before the previous one ended, so nothing slips between windows.
# How far back the very first pull reads (no watermark yet): far enough to learn every
# unsubscribe Spotler already holds before the first backfill sends anything.
SYNC_FIRST_PULL_DAYS = env.int("SYNC_FIRST_PULL_DAYS", default=365)
SYNC_PULL_OVERLAP_MINUTES = env.int("SYNC_PULL_OVERLAP_MINUTES", default=60)
# Contact timeline events (SyncEvent) older than this many days are deleted every night, except
# each contact's latest event of each kind and every event of a contact that is still failed
# (sync/retention.py); finished runs left without events go too.
SYNC_EVENT_RETENTION_DAYS = env.int("SYNC_EVENT_RETENTION_DAYS", default=90)
# Audit entries (audit/: who changed what) older than this many days go in the same nightly job.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)

# The bounce inbox (bounces/followups.py): a hard bounce opens a follow-up at once, soft bounces
# once BOUNCES_SOFT_THRESHOLD arrive within BOUNCES_SOFT_DAYS. Its owner is the user named by the
# contact's source field BOUNCES_OWNER_FIELD (username, e-mail or full name); unmatched ones go
# to BOUNCES_DEFAULT_OWNER (a username; empty: unassigned). A follow-up is due after
# BOUNCES_SERVICE_LEVEL_DAYS working days (Monday to Friday).
BOUNCES_SOFT_THRESHOLD = env.int("BOUNCES_SOFT_THRESHOLD", default=3)
BOUNCES_SOFT_DAYS = env.int("BOUNCES_SOFT_DAYS", default=30)
BOUNCES_OWNER_FIELD = env.str("BOUNCES_OWNER_FIELD", default="account_manager")
BOUNCES_DEFAULT_OWNER = env.str("BOUNCES_DEFAULT_OWNER", default="")
BOUNCES_SERVICE_LEVEL_DAYS = env.int("BOUNCES_SERVICE_LEVEL_DAYS", default=5)

# Mail (bounce follow-up notifications, bounces/notify.py): EMAIL_URL as django-environ reads
# it, e.g. smtp+tls://user:password@mail.example.com:587; the default prints mail to the console.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="spotlersync <noreply@localhost>")
# Where the dashboard is reached, for links in mail.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# After a mapping change, pushing the contacts it affects to more than this many needs a tick
# in a box first (mapping/push_offer.py): a change that touches every contact re-sends the ledger.
MAPPING_PUSH_CONFIRM_ABOVE = env.int("MAPPING_PUSH_CONFIRM_ABOVE", default=1000)

# Ingest API: calls per minute allowed per API token (0: no limit); a runaway loop in the linked
# system gets 429 with Retry-After instead of filling the outbox.
API_RATE_LIMIT = env.int("API_RATE_LIMIT", default=6000)

# Probes and metrics (README: "Probes and metrics"). /readyz answers 503 when no queue cluster
# of the main queue reported for this many seconds; 0: the cluster is not checked (a site run
# without a cluster on purpose). /metrics opens to an API token of the metrics scope, or to
# this token (a bearer token of at least 32 characters; empty: only API tokens).
READYZ_CLUSTER_MAX_AGE_SECONDS = env.int("READYZ_CLUSTER_MAX_AGE_SECONDS", default=30)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be 32 characters or more (or empty).")

# Production hardening. Each defaults to the safe value when DEBUG is off; the README says
# which `check --deploy` warnings we silence and why.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = [
    # HSTS for subdomains and browser preload lists commit every other host of the operator's
    # domain to HTTPS for a year; that is the operator's call, made with the two variables.
    "security.W005",
    "security.W021",
]

# --- Public pages (README: "Subscribe forms", "Lookup pages") ------------------------------------
# Rate limits ("tries/period": s, m, h, d) of the public subscribe and lookup pages, per client
# address (the address as LOGIN_CLIENT_IP_HEADER says) and per e-mail address; over a limit the
# answer is 429 with Retry-After. Counted in the default cache by django-ratelimit.
PUBLIC_SUBSCRIBE_RATE_PER_ADDRESS = env.str("PUBLIC_SUBSCRIBE_RATE_PER_ADDRESS", default="20/m")
PUBLIC_SUBSCRIBE_RATE_PER_EMAIL = env.str("PUBLIC_SUBSCRIBE_RATE_PER_EMAIL", default="3/h")
PUBLIC_LOOKUP_RATE_PER_ADDRESS = env.str("PUBLIC_LOOKUP_RATE_PER_ADDRESS", default="10/m")
# Origins whose pages may frame the lookup pages (e.g. https://shop.example); empty: none may.
PUBLIC_LOOKUP_FRAME_ANCESTORS = [
    o.strip() for o in env.list("PUBLIC_LOOKUP_FRAME_ANCESTORS", default=[]) if o.strip()
]
RATELIMIT_USE_CACHE = "default"
# A subscription is tried at Spotler within the visitor's request (this many seconds at most,
# one try, only when the shared rate limit has a slot at once); otherwise it is queued and the
# queue sends it. False: always queue (e.g. to take a flood of sign-ups calmly).
PUBLIC_SUBSCRIBE_TRY_AT_ONCE = env.bool("PUBLIC_SUBSCRIBE_TRY_AT_ONCE", default=True)
PUBLIC_SUBSCRIBE_TIMEOUT_SECONDS = env.float("PUBLIC_SUBSCRIBE_TIMEOUT_SECONDS", default=3.0)

# --- Login lockout and security headers (README: "Login lockout", "Security headers") ---------
# django-axes records failed logins in the database (no Redis needed) and refuses a login for a
# user name or from an address that failed too often, right password or not, until the
# cool-off has passed since its latest failure. spotlersync/login_lockout.py holds our hooks.
LOGIN_LOCKOUT_USER_FAILURES = env.int("LOGIN_LOCKOUT_USER_FAILURES", default=5)
LOGIN_LOCKOUT_ADDRESS_FAILURES = env.int("LOGIN_LOCKOUT_ADDRESS_FAILURES", default=20)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
# Empty: the client address is REMOTE_ADDR. Behind a proxy: the header it sets, e.g. X-Real-IP.
LOGIN_CLIENT_IP_HEADER = env.str("LOGIN_CLIENT_IP_HEADER", default="")
for _name in ("LOGIN_LOCKOUT_USER_FAILURES", "LOGIN_LOCKOUT_ADDRESS_FAILURES"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be 1 or more (failed logins before a lockout).")
if LOGIN_LOCKOUT_MINUTES < 1:
    raise ImproperlyConfigured("LOGIN_LOCKOUT_MINUTES must be 1 or more (minutes of lockout).")

INSTALLED_APPS += ["axes", "csp"]
# Axes' backend goes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", *AUTHENTICATION_BACKENDS]
MIDDLEWARE += [
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # Last, as axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]
AXES_HANDLER = "spotlersync.login_lockout.LoginLockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = LOGIN_LOCKOUT_USER_FAILURES  # the address's own limit: LoginLockoutHandler
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_CLIENT_IP_CALLABLE = "spotlersync.login_lockout.client_address"
AXES_LOCKOUT_CALLABLE = "spotlersync.login_lockout.lockout_response"
# A successful login does not wipe the failures: it would wipe its address's failures too, so
# one valid account could reset the address limit between guesses at other users' passwords.
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False  # no banner on every management command

# Content-Security-Policy (django-csp): our own files only, no inline script, style or event
# handler anywhere (htmx's own indicator style is switched off in base.html and kept in
# base.css). Pico and Swagger UI draw icons from data: URIs. The Django admin and django-ninja's
# Swagger UI (served from its static files, no CDN) work under this policy as it is.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Permissions-Policy (django-permissions-policy): browser features the dashboard never uses,
# off for it and for anything it could be made to embed.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}
# --- end of login lockout and security headers -----------------------------------------------

# Log lines (spotlersync/logs.py): "plain" for people, "json" (one object a line) for a log
# collector. Both name the run and the contact (external id) being worked on, and mask e-mail
# addresses.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT is “{LOG_FORMAT}”; use plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "spotlersync.logs.ContextFilter"}},
    "formatters": {
        "plain": {"()": "spotlersync.logs.PlainFormatter"},
        "json": {"()": "spotlersync.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's and django-q2's own lines go through the same handler (same format).
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django-q": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # At DEBUG these log request bodies (e-mail addresses) and signed headers.
        "oauthlib": {"level": "WARNING"},
        "requests_oauthlib": {"level": "WARNING"},
    },
}
