import os
from pathlib import Path

import dj_database_url

from .env import DATA_DIR, KEY_DIR, REPO_DIR, RULEBOOK, env, env_bool, env_int, secret_key

BASE_DIR = REPO_DIR
GONGSHU_DATA_DIR = DATA_DIR
GONGSHU_KEY_DIR = KEY_DIR
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = [h for h in env("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # the API docs page from its own static files, not a CDN (blank offline otherwise)
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_tasks",  # background work as jobs with records (gongshu.jobs): the library and its database backend
    "django_tasks_db",
    "core",
    "audit",
    "workflow",
    "grading",
    "catalog",
    "warehouse",
    "access",
    "sharing",
    "gongshu.jobrecords",  # job progress and the schedule's bookkeeping
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "foundation.csp.ContentSecurityPolicyMiddleware",  # only when GONGSHU_CSP (production): else not in the chain
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.middleware.ErrorShapeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "core.middleware.ActingOrganisationMiddleware",
    "core.middleware.TwoFactorRequiredMiddleware",
    "foundation.viewkit.GongshuErrorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gongshu.urls"
WSGI_APPLICATION = "gongshu.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [REPO_DIR / "gongshu" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "core.context_processors.acting",
            ],
        },
    },
]

_default_db = f"sqlite:///{DATA_DIR / 'gongshu.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(env("DATABASE_URL", _default_db), conn_max_age=env_int("GONGSHU_DB_CONN_MAX_AGE", 60))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE: every transaction takes the write lock at BEGIN, so the audit chain head
    # is read and extended by one writer at a time; WAL lets readers go on meanwhile.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                         "PRAGMA wal_autocheckpoint=10000; PRAGMA cache_size=-65536;"),  # fewer checkpoints on the audit hot path
    }
    # A file, not memory, for the test database: crash tests run the CLI in a child process against it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-gongshu.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [REPO_DIR / "gongshu" / "locale"]
TIME_ZONE = env("GONGSHU_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [REPO_DIR / "gongshu" / "static"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Gongshu's own settings.
GONGSHU_RULEBOOK = RULEBOOK
GONGSHU_AUDIT_ALGORITHM = env("GONGSHU_AUDIT_ALGORITHM", "sm3")  # SEC3: national algorithm by default
# Signed audit checkpoints are kept and published outside the data directory (beside the keys by default,
# or a witness directory others can poll); one inside the data directory is refused at every use.
GONGSHU_CHECKPOINT_DIR = Path(env("GONGSHU_CHECKPOINT_DIR", str(KEY_DIR / "audit-checkpoints"))).absolute()
GONGSHU_CHECKPOINT_GRACE_MINUTES = env_int("GONGSHU_CHECKPOINT_GRACE_MINUTES", 30)  # past the rulebook interval, verify calls the latest stale
GONGSHU_WAREHOUSE_DIR = DATA_DIR / "warehouse"
GONGSHU_MAX_UPLOAD_BYTES = env_int("GONGSHU_MAX_UPLOAD_BYTES", 512 * 1024 * 1024)
GONGSHU_KEY_WRAP = env("GONGSHU_KEY_WRAP", "sm4-gcm")  # or aes-gcm
GONGSHU_PUSH_WINDOW_SECONDS = env_int("GONGSHU_PUSH_WINDOW_SECONDS", 300)
GONGSHU_LOOKUP_CACHED_GROUPS = env_int("GONGSHU_LOOKUP_CACHED_GROUPS", 1024)  # decoded row groups kept per snapshot
GONGSHU_INGEST_THREADS = env_int("GONGSHU_INGEST_THREADS", min(os.cpu_count() or 2, 8))  # columns checked and typed in parallel
GONGSHU_INSTANCE_NAME = env("GONGSHU_INSTANCE_NAME", "shuangyashan")  # this instance, as its federation peers know it
GONGSHU_EXPORT_MAX_ROWS = env_int("GONGSHU_EXPORT_MAX_ROWS", 1_000_000)  # a file or sync delivery of a granted view
GONGSHU_POLICY_CACHE_SECONDS = env_int("GONGSHU_POLICY_CACHE_SECONDS", 5)
# Limits of one engine run on the query path (platform defaults; warehouse/limits.py). The time limit stays
# well under gunicorn's worker timeout (30 s); the memory counts the decrypted Arrow input too. At most
# GONGSHU_QUERY_CONCURRENCY runs at once on this machine (all processes of this data directory): with the
# default 1 and `gongshu serve --workers 2`, one worker is always free. A run that finds every slot taken
# waits up to GONGSHU_QUERY_QUEUE_SECONDS, then is refused (engine_busy, 503 + Retry-After).
GONGSHU_QUERY_TIMEOUT_SECONDS = float(env("GONGSHU_QUERY_TIMEOUT_SECONDS", "10"))
GONGSHU_QUERY_MEMORY_MB = env_int("GONGSHU_QUERY_MEMORY_MB", 1024)
GONGSHU_QUERY_THREADS = env_int("GONGSHU_QUERY_THREADS", 2)
GONGSHU_QUERY_CONCURRENCY = env_int("GONGSHU_QUERY_CONCURRENCY", 1)
GONGSHU_QUERY_QUEUE_SECONDS = float(env("GONGSHU_QUERY_QUEUE_SECONDS", "2"))
GONGSHU_QUERY_MAX_RELATIONS = env_int("GONGSHU_QUERY_MAX_RELATIONS", 4)  # tables named in one query (data, its CTEs, each use)
GONGSHU_BATCH_STALE_MINUTES = env_int("GONGSHU_BATCH_STALE_MINUTES", 60)
# Database extraction (A1): SQLite source files only under this directory, which must lie outside the data
# and key directories (checked by `manage.py check` and at every use); PostgreSQL sources time-limited.
GONGSHU_IMPORT_DIR = Path(env("GONGSHU_IMPORT_DIR", str(DATA_DIR.parent / (DATA_DIR.name + "-import")))).absolute()
GONGSHU_EXTRACT_CONNECT_TIMEOUT = env_int("GONGSHU_EXTRACT_CONNECT_TIMEOUT", 10)  # seconds
GONGSHU_EXTRACT_STATEMENT_TIMEOUT = env_int("GONGSHU_EXTRACT_STATEMENT_TIMEOUT", 600)  # seconds per read
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
GONGSHU_WORKER_INTERVAL = env_int("GONGSHU_WORKER_INTERVAL", 300)
GONGSHU_WORKER_POLL_SECONDS = env_int("GONGSHU_WORKER_POLL_SECONDS", 1)  # queued uploads are picked up this fast
# Every queued and scheduled job is a record in the metadata database (django-tasks-db), run by `gongshu worker`;
# the catch-up jobs (usage-log copy, refusal counts) run this often (readers catch the usage log up themselves).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
GONGSHU_WORKER_CATCH_UP_SECONDS = env_int("GONGSHU_WORKER_CATCH_UP_SECONDS", 30)
GONGSHU_DEMO = env_bool("GONGSHU_DEMO", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("GONGSHU_LOG_LEVEL", "WARNING")},
}
