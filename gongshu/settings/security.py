"""Accounts at MLPS level 3 (P3, QQHR Art. 8(4)): hashing, password rules, lockout, timeouts."""

from datetime import timedelta

from .env import env_bool, env_int

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "core.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Lockout after repeated failures, per user name and per address.
AXES_FAILURE_LIMIT = env_int("GONGSHU_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("GONGSHU_LOGIN_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "core/locked_out.html"
AXES_VERBOSE = False

# Idle timeout: the session ends after this many idle seconds; every request renews it.
SESSION_COOKIE_AGE = env_int("GONGSHU_SESSION_IDLE_SECONDS", 15 * 60)
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
# Roles whose users must pass a TOTP check before they act (P3: 2FA for administrators).
GONGSHU_2FA_ROLES = ["bureau_admin", "service_centre_staff"]

# API tokens: default and longest lifetime in days.
GONGSHU_TOKEN_DEFAULT_DAYS = env_int("GONGSHU_TOKEN_DEFAULT_DAYS", 90)
GONGSHU_TOKEN_MAX_DAYS = env_int("GONGSHU_TOKEN_MAX_DAYS", 365)
