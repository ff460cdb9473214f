"""Accounts at MLPS level 3 (P3, QQHR Art. 8(4)): hashing, password rules, lockout, timeouts; rate limits;
and with GONGSHU_ENV=production the transport and browser protections (SYS Art. 60: the platform's
security measures) and a refusal to start on a default secret key. The demo and the tests run on plain
http (GONGSHU_ENV unset: development)."""

import os
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from foundation import rulebook

from .env import RULEBOOK, env, env_bool, env_int


def account_settings(book: rulebook.Rulebook) -> dict:
    """The account settings of P3 from a rulebook's ``account.*`` rules (their articles: GB/T 22239-2019
    8.1.4.1, SYS Art. 60): password rules, lockout, idle timeout, the roles that need two factors, token lifetime."""
    return {
        "AUTH_PASSWORD_VALIDATORS": [
            {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
            {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
             "OPTIONS": {"min_length": int(book.value("account.password_min_length"))}},
            {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
            {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
            {"NAME": "foundation.passwords.CharacterClassValidator",
             "OPTIONS": {"min_classes": int(book.value("account.password_min_classes"))}},
        ],
        "AXES_FAILURE_LIMIT": int(book.value("account.login_failure_limit")),
        "AXES_COOLOFF_TIME": timedelta(minutes=int(book.value("account.lockout_minutes"))),
        "SESSION_COOKIE_AGE": int(book.value("account.idle_timeout_minutes")) * 60,
        "GONGSHU_2FA_ROLES": list(book.names("account.two_factor_roles")),
        "GONGSHU_TOKEN_DEFAULT_DAYS": int(book.value("account.token_default_days")),
        "GONGSHU_TOKEN_MAX_DAYS": int(book.value("account.token_max_days")),
    }


# Read before Django is configured: rulebook.load, not rulebook.current.
_account = account_settings(rulebook.load(RULEBOOK))

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# Password rules: length and character classes (account.password_min_length, account.password_min_classes).
AUTH_PASSWORD_VALIDATORS = _account["AUTH_PASSWORD_VALIDATORS"]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Lockout after repeated failures, per user name and per address (account.login_failure_limit, account.lockout_minutes).
AXES_FAILURE_LIMIT = _account["AXES_FAILURE_LIMIT"]
AXES_COOLOFF_TIME = _account["AXES_COOLOFF_TIME"]
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "core/locked_out.html"
AXES_VERBOSE = False

# Idle timeout: the session ends after this many idle seconds (account.idle_timeout_minutes); every request renews it.
SESSION_COOKIE_AGE = _account["SESSION_COOKIE_AGE"]
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("GONGSHU_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

OTP_TOTP_ISSUER = "公数 Gongshu"
# Roles whose users must pass a TOTP check before they act (P3: 2FA for administrators; account.two_factor_roles).
GONGSHU_2FA_ROLES = _account["GONGSHU_2FA_ROLES"]

# API tokens: default and longest lifetime in days (account.token_default_days, account.token_max_days).
GONGSHU_TOKEN_DEFAULT_DAYS = _account["GONGSHU_TOKEN_DEFAULT_DAYS"]
GONGSHU_TOKEN_MAX_DAYS = _account["GONGSHU_TOKEN_MAX_DAYS"]

# One rate limiter (core.ratelimit), platform defaults (SYS sets no rates): calls per API token and minute,
# and refused requests without a known sender (a missing or bad token, a bad peer signature) per client
# address and minute, after which the address is answered 429 for the rest of the minute. 0: no limit.
GONGSHU_RATE_TOKEN_PER_MINUTE = env_int("GONGSHU_RATE_TOKEN_PER_MINUTE", 6000)
GONGSHU_RATE_UNAUTHENTICATED_PER_MINUTE = env_int("GONGSHU_RATE_UNAUTHENTICATED_PER_MINUTE", 60)
# The client address is REMOTE_ADDR. Behind a reverse proxy list its address(es) here, and the proxy must set
# X-Forwarded-For: otherwise every client seems to be the proxy and all share one limit.
GONGSHU_TRUSTED_PROXIES = frozenset(a.strip() for a in env("GONGSHU_TRUSTED_PROXIES", "").split(",") if a.strip())

# --- production (GONGSHU_ENV=production) ---------------------------------------------------------------
GONGSHU_ENV = env("GONGSHU_ENV", "development")
if GONGSHU_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"GONGSHU_ENV must be development or production, not {GONGSHU_ENV!r}")
PRODUCTION = GONGSHU_ENV == "production"

# Secret keys that must never sign a production session: placeholders from examples and documentation.
KNOWN_DEFAULT_SECRET_KEYS = frozenset({"changeme", "change-me", "secret", "secret-key", "secretkey", "gongshu", "demo", "test",
                                       "development", "insecure", "please-change-me", "your-secret-key", "django-secret-key"})


def secret_key_problem(value: str) -> str:
    """Why ``value`` may not be a production secret key ('' if it may): Django's own rule for a strong key
    (50 characters, 5 different ones, not a generated 'django-insecure-' key) and no known placeholder."""
    if not value:
        return "DJANGO_SECRET_KEY is not set (production does not use a key generated on the machine)"
    if value.strip().lower() in KNOWN_DEFAULT_SECRET_KEYS or value.startswith("django-insecure-"):
        return "DJANGO_SECRET_KEY is a known default"
    if len(value) < 50 or len(set(value)) < 5:
        return "DJANGO_SECRET_KEY is too weak (at least 50 characters, 5 of them different)"
    return ""


if PRODUCTION:
    _problem = secret_key_problem(os.environ.get("DJANGO_SECRET_KEY", ""))
    if _problem:
        raise ImproperlyConfigured(f"GONGSHU_ENV=production: {_problem}; refusing to start")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("GONGSHU_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("GONGSHU_HSTS_SUBDOMAINS", False)
    SECURE_SSL_REDIRECT = env_bool("GONGSHU_SSL_REDIRECT", False)  # usually the TLS proxy redirects
    if env_bool("GONGSHU_BEHIND_TLS_PROXY", False):  # only if the proxy sets (and strips) X-Forwarded-Proto
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content-Security-Policy (foundation.csp): scripts and styles from this site only (the inline ones the templates
# carry are allowed by their hashes); on in production, and wherever GONGSHU_CSP=1.
GONGSHU_CSP = env_bool("GONGSHU_CSP", PRODUCTION)
