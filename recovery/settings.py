"""Settings for Recovery, read from the environment (12-factor).

With nothing configured the project runs on an embedded default: SQLite in WAL mode and a Celery
broker on the local filesystem, both under ``var/``. Production (DEBUG false) refuses to start
without a real SECRET_KEY and FIELD_ENCRYPTION_KEY.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# ---------------------------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)

# Only ever used when DEBUG is on; `check_production_secrets` refuses it otherwise.
DEVELOPMENT_SECRET_KEY = "development-only-insecure-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY") or DEVELOPMENT_SECRET_KEY


def check_production_secrets(*, debug: bool, secret_key: str, field_keys: list[str]) -> None:
    """Refuse to run a production configuration on a default or missing secret."""
    if debug:
        return
    if not secret_key or secret_key == DEVELOPMENT_SECRET_KEY or len(secret_key) < 32:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of at least 32 characters when DEBUG is "
            "false; the built-in development key is refused."
        )
    if not field_keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be set when DEBUG is false: it encrypts PHI at rest."
        )


# Comma-separated; the first key encrypts, every key decrypts (rotation).
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEY")
check_production_secrets(debug=DEBUG, secret_key=SECRET_KEY, field_keys=FIELD_ENCRYPTION_KEYS)
if not FIELD_ENCRYPTION_KEYS:
    FIELD_ENCRYPTION_KEYS = ["development-only-field-key:" + SECRET_KEY]

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if DEBUG:
    ALLOWED_HOSTS += ["testserver"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_celery_beat",
    "django_htmx",
    "axes",
    "recovery.core",
    "cases",
    "liens",
    "settlements",
    "ledger",
    "recovery.portal",
    "recovery.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "recovery.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Holds a session that owes a second factor on the OTP pages (recovery/core/otp.py).
    "recovery.core.otp.RequireOTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes must come last: it turns a lockout signalled by the backend into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "recovery.urls"
WSGI_APPLICATION = "recovery.wsgi.application"

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
                "recovery.core.context_processors.shell",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "recovery.sqlite3",
            "OPTIONS": {
                # WAL lets the web process read while the Celery worker writes.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------------------------
# Users, authentication, sessions
# ---------------------------------------------------------------------------------------------

AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out username/IP before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Comma-separated roles that must pass a TOTP second factor after their password, e.g.
# "supervisor,admin". Anyone with a confirmed device must pass it too. API tokens are unaffected.
OTP_REQUIRED_ROLES = env_list("OTP_REQUIRED_ROLES", "")

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# Idle expiry: every request pushes the expiry forward, so the session ends after this much
# inactivity. The page warns two minutes before (static/js/session.js).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 15)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie.

# ---------------------------------------------------------------------------------------------
# Security headers (strict unless DEBUG)
# ---------------------------------------------------------------------------------------------

SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# No inline script anywhere: every script is a static file.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)

# ---------------------------------------------------------------------------------------------
# Internationalisation
# ---------------------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------------------------
# Static and uploaded files
# ---------------------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on a missing folder.
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# Uploads and generated letters live outside the web root and are served only through views
# that check access.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "/media/"  # never routed: files are served by views that check access
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# ---------------------------------------------------------------------------------------------
# E-mail
# ---------------------------------------------------------------------------------------------

EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 30
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.filebased.EmailBackend"
    if DEBUG and not os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Recovery Unit <recovery@localhost>")

# ---------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------

# Dashboard figures are cached and invalidated when money moves; with several web processes the
# cache must be shared (Redis), or one process keeps showing figures another has invalidated.
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "recovery",
        }
    }
elif CACHE_URL:
    raise ImproperlyConfigured("CACHE_URL must be a redis:// or rediss:// URL (or unset).")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# ---------------------------------------------------------------------------------------------
# Celery
# ---------------------------------------------------------------------------------------------

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or (
    CELERY_BROKER_URL
    if CELERY_BROKER_URL.startswith("redis")
    else f"file://{DATA_DIR}/celery/results"
)
if CELERY_BROKER_URL.startswith("filesystem"):
    _queue_dir = DATA_DIR / "celery" / "queue"
    for _folder in (
        _queue_dir,
        DATA_DIR / "celery" / "processed",
        DATA_DIR / "celery" / "results",
        DATA_DIR / "celery" / "control",
    ):
        _folder.mkdir(parents=True, exist_ok=True)
    # The filesystem transport needs one folder for in and out, or messages are never seen.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(DATA_DIR / "celery" / "processed"),
        # Broadcast (worker control) tables; kombu's default is ./control in the working folder.
        "control_folder": str(DATA_DIR / "celery" / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celery" / "beat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Task modules that autodiscovery (which looks for tasks.py only) would not find.
CELERY_IMPORTS = ["cases.reminder_tasks"]

# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["recovery.core.permissions.IsStaffRole"],
    "DEFAULT_PAGINATION_CLASS": "recovery.core.rest.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "recovery.core.rest.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_RATES": {"auth": "20/min"},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Recovery API",
    "DESCRIPTION": "Third-party liability recovery casework: cases, liens, settlements, ledger.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Error responses (400/401/403/404/409/429) and their bodies, beside the success ones.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "recovery.core.rest.error_responses_hook",
    ],
    # One clear name per choice set in the schema (several models have a "status" or "kind").
    "ENUM_NAME_OVERRIDES": {
        "StateEnum": "cases.models.US_STATES",
        "FormulaEnum": "settlements.models.FORMULA_CHOICES",
        "CaseStatusEnum": "cases.models.Case.Status",
        "PartyKindEnum": "cases.models.Party.Kind",
        "ActivityKindEnum": "cases.models.Activity.Kind",
        "DeadlineKindEnum": "cases.models.Deadline.Kind",
        "DocumentKindEnum": "cases.models.Document.Kind",
        "DocumentStatusEnum": "cases.models.Document.Status",
        "LienStatusEnum": "liens.models.Lien.Status",
        "LienChangeKindEnum": "liens.models.LienChange.Kind",
        "LienChangeStatusEnum": "liens.models.LienChange.Status",
        "SettlementStatusEnum": "settlements.models.Settlement.Status",
        "NegotiationKindEnum": "settlements.models.NegotiationEntry.Kind",
        "AdjustmentKindEnum": "settlements.models.BalanceAdjustment.Kind",
        "AdjustmentStatusEnum": "settlements.models.BalanceAdjustment.Status",
        "InstallmentStatusEnum": "settlements.models.Installment.Status",
        "DisbursementStatusEnum": "ledger.models.Disbursement.Status",
        "TransactionKindEnum": "ledger.models.Transaction.Kind",
    },
}

# ---------------------------------------------------------------------------------------------
# Logging: no PHI in logs — only ids and event names are ever logged.
# ---------------------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"}},
}
if CELERY_BROKER_URL.startswith("filesystem"):
    # The filesystem transport has no host; kombu says so at every connection.
    LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}

# ---------------------------------------------------------------------------------------------
# Product
# ---------------------------------------------------------------------------------------------

DEMO_PASSWORD = env_str("DEMO_PASSWORD", "recovery-demo")
AGENCY_NAME = env_str("AGENCY_NAME", "State Medicaid Agency — Third Party Liability Unit")
# Letterhead and payment instructions on generated letters (address lines separated by ";").
AGENCY_ADDRESS = env_str(
    "AGENCY_ADDRESS", "Third Party Liability Unit; P.O. Box 0000; Capital City, ST 00000"
)
AGENCY_PHONE = env_str("AGENCY_PHONE", "(555) 010-0100")
AGENCY_FAX = env_str("AGENCY_FAX", "(555) 010-0101")
AGENCY_EMAIL = env_str("AGENCY_EMAIL", "tpl-recovery@example.org")
AGENCY_PAYEE = env_str("AGENCY_PAYEE", AGENCY_NAME)
AGENCY_PAYMENT_ADDRESS = env_str("AGENCY_PAYMENT_ADDRESS", "")
# Who signs letters; empty means the specialist who asked for the letter.
LETTER_SIGNATURE_NAME = env_str("LETTER_SIGNATURE_NAME")
LETTER_SIGNATURE_TITLE = env_str("LETTER_SIGNATURE_TITLE")
DORMANT_ACCOUNT_DAYS = env_int("DORMANT_ACCOUNT_DAYS", 90)
# Absolute links in e-mails.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Days before a deadline at which its owner is reminded (overdue deadlines always escalate).
REMINDER_THRESHOLDS = tuple(int(day) for day in env_list("REMINDER_THRESHOLDS", "14,7,1"))
# The user the monthly questionnaire letters to screening leads are sent in the name of.
LEAD_LETTERS_REQUESTED_BY = env_str("LEAD_LETTERS_REQUESTED_BY")
# Business hours a settlement approval may wait before it escalates to the next level.
SETTLEMENT_APPROVAL_HOURS = env_int("SETTLEMENT_APPROVAL_HOURS", 16)
