"""Settings for mailadmin, read once from the environment (see README, "Settings").

Every knob is an environment variable with a safe default; a secret can also come from
a file named by `<NAME>_FILE`, so it never has to sit in a process's environment listing.
"""

import os
from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _secret(name, default=None):
    """A secret from NAME, or from the file named by NAME_FILE."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    if default is None:
        return env.str(name)
    return env.str(name, default=default)


DEBUG = env.bool("DEBUG", default=False)

# `make run` writes a random key into the git-ignored .secret_key on first run.
_secret_key_file = BASE_DIR / ".secret_key"
if "SECRET_KEY" not in os.environ and "SECRET_KEY_FILE" not in os.environ and _secret_key_file.exists():
    os.environ["SECRET_KEY_FILE"] = str(_secret_key_file)
SECRET_KEY = _secret("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and not env.bool("MAILADMIN_ALLOW_INSECURE_KEY", default=False):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY or SECRET_KEY_FILE (make run creates .secret_key)."
        )
    SECRET_KEY = "insecure-development-key-only-for-debug-and-tests-" + "x" * 20

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Django's admin with the panel's site (mailadmin/admin_site.py).
    "mailadmin.admin_site.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "mailadmin",
    "users",
    "aliases",
    "mailadmin.staff",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below): django-csp's
    # middleware, with the header built once rather than per response.
    "mailadmin.content_policy.KeptPolicyCSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Needs request.user: a logged-in user's pages and every CSV are never stored by a cache.
    "mailadmin.middleware.NoStoreForPrivatePages",
    # After authentication: the audit log needs to know who is asking.
    "mailadmin.audit.AuditActorMiddleware",
    # request.user.is_verified(): has this session passed the second factor?
    "django_otp.middleware.OTPMiddleware",
    # Staff who owe a second factor (or its enrolment) reach nothing else until it is done.
    "mailadmin.staff.middleware.SecondFactorMiddleware",
    # request.user without its lazy wrappers, for everything after (mailadmin/middleware.py).
    "mailadmin.middleware.EvaluatedUser",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a lockout into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mailadmin.urls"

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
                "mailadmin.navigation.topbar",
                "mailadmin.assets.layout_assets",
            ],
        },
    },
    {
        # The rows of the big tables only (mailadmin/row_templates.py); asked for by name.
        "NAME": "rows",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "mailadmin.row_templates.environment", "autoescape": True},
    },
]

# Forms and widgets in the Jinja2 versions of Django's own templates (mailadmin/form_renderer.py).
FORM_RENDERER = "mailadmin.form_renderer.FormRenderer"

WSGI_APPLICATION = "mailadmin.wsgi.application"

# SQLite in the project folder is the embedded default; DATABASE_URL=mysql://user:pass@host/db
# points the panel at the real mail database. TEST_DATABASE_URL overrides it for `make test`.
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'mailadmin.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    from mailadmin.mysql_driver import CONVERSIONS

    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # utf8mb4 for the connection; the guide's tables keep their own utf8mb3 columns.
            "charset": "utf8mb4",
            # Strict mode: an over-long or out-of-range value is an error, never silently cut.
            # The marker tells the kept figures' triggers that the write API counts this
            # connection's writes itself (users/tally_triggers.py).
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES', @mailadmin_keeps_tallies = 1",
            # Moments read by C code rather than MySQLdb's Python (mailadmin/mysql_driver.py).
            "conv": CONVERSIONS,
        }
    )
    DATABASES["default"].setdefault("TEST", {}).update(
        {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_general_ci"}
    )
    # A connection kept per worker for a minute instead of one opened per request (a third of
    # a list page's cost in bench/RESULTS.md); checked before reuse, so a restarted server is no error.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("MAILADMIN_DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False

DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# Django's cache, one for every app server: a table in the panel's own database by default,
# created by `migrate`; CACHE_URL=redis://… works too. The panel's figures are not in it: the
# write API keeps them (users.tallies).
CACHES = {"default": env.cache_url("CACHE_URL", default="dbcache://mailadmin_cache")}

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses throttled attempts before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    # Staff: Django's ModelBackend, with each request's user read by one fixed statement.
    "mailadmin.staff.backends.StaffBackend",
    # Mailbox users: address + mail password, checked against virtual_users (never staff).
    "users.auth_backends.MailboxBackend",
]

# Staff passwords (the auth_user table): Argon2id first. A hash made by a hasher further down
# the list (Django's earlier default, PBKDF2) still verifies and is re-hashed with Argon2id on
# the next successful login. Mailbox passwords are Dovecot's hashes and never pass through here.
# Argon2id's cost (mailadmin/staff/hashers.py): OWASP's 19 MiB, 2 passes, 1 lane by default.
MAILADMIN_ARGON2_MEMORY_KIB = env.int("MAILADMIN_ARGON2_MEMORY_KIB", default=19456)
MAILADMIN_ARGON2_TIME_COST = env.int("MAILADMIN_ARGON2_TIME_COST", default=2)
MAILADMIN_ARGON2_PARALLELISM = env.int("MAILADMIN_ARGON2_PARALLELISM", default=1)
PASSWORD_HASHERS = [
    "mailadmin.staff.hashers.StaffArgon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "users.password_validators.NoControlCharacters"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
# The panel is written in English only, and so is the Django admin it shows: no translation is
# looked up (the admin's pages spent 7-9 % of their instructions looking up their English).
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "mailadmin" / "static"]
# Production (the installer turns it on): the app serves its own static files through WhiteNoise,
# compressed, under hashed names, cached for a year, so the proxy needs no static configuration.
# Off by default: hashed names need `collectstatic` first, which `make run` and the tests skip.
MAILADMIN_SERVE_STATIC = env.bool("MAILADMIN_SERVE_STATIC", default=False)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions and cookies: secure by default outside DEBUG.
# Django's database sessions, read with one fixed statement (mailadmin/sessions.py).
SESSION_ENGINE = "mailadmin.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SECURE = env.bool("MAILADMIN_SECURE", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SECURE)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
# Preload puts the whole domain, every subdomain included, on the browsers' built-in HTTPS-only
# list, and leaving that list takes months: a decision for the domain's owner, so opt-in.
SECURE_HSTS_PRELOAD = env.bool("MAILADMIN_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    # check --deploy suggests preload (security.W021); it is the domain owner's choice, not ours.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The templates have no inline script or style, so nothing but the panel's own files may run.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if env.bool("MAILADMIN_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="mailadmin@localhost")

# --- The mail server -------------------------------------------------------------------

# Scheme for every password the panel writes: BLF-CRYPT (the guide's), ARGON2ID or SHA512-CRYPT.
MAILADMIN_PASSWORD_SCHEME = env.str("MAILADMIN_PASSWORD_SCHEME", default="BLF-CRYPT").upper()
# bcrypt cost for BLF-CRYPT; `doveadm pw` uses 5, which is too cheap for today's hardware.
MAILADMIN_BCRYPT_COST = env.int("MAILADMIN_BCRYPT_COST", default=12)
# How a stored value without a {SCHEME} prefix is read: Dovecot's SQL driver assumes MD5, which
# reads "$1$…" as MD5-CRYPT and hex (or base64) as PLAIN-MD5.
MAILADMIN_DEFAULT_PASS_SCHEME = env.str("MAILADMIN_DEFAULT_PASS_SCHEME", default="MD5").upper()
# After a successful mailbox login, store the password again with the configured scheme when the hash
# is "different" from what the panel writes now, only when "weak" (below a floor), or "off"
# (users/password_policy.py says exactly which). The older switch ..._ON_LOGIN=off still means off.
MAILADMIN_UPGRADE_HASH = env.str("MAILADMIN_UPGRADE_HASH", default="different").lower()
MAILADMIN_UPGRADE_HASH_ON_LOGIN = env.bool("MAILADMIN_UPGRADE_HASH_ON_LOGIN", default=True)
# The most one verification of an imported hash may cost: every login attempt pays it, in the panel and
# in Dovecot. The defaults keep one check under about half a second here (bench/RESULTS.md).
MAILADMIN_MAX_BCRYPT_COST = env.int("MAILADMIN_MAX_BCRYPT_COST", default=13)
MAILADMIN_MAX_SHA_CRYPT_ROUNDS = env.int("MAILADMIN_MAX_SHA_CRYPT_ROUNDS", default=200_000)
MAILADMIN_MAX_ARGON2_MEMORY_KIB = env.int("MAILADMIN_MAX_ARGON2_MEMORY_KIB", default=65536)
MAILADMIN_MAX_ARGON2_TIME = env.int("MAILADMIN_MAX_ARGON2_TIME", default=3)
MAILADMIN_MAX_ARGON2_PARALLELISM = env.int("MAILADMIN_MAX_ARGON2_PARALLELISM", default=4)
MAILADMIN_MAX_PBKDF2_ITERATIONS = env.int("MAILADMIN_MAX_PBKDF2_ITERATIONS", default=500_000)  # PBKDF2 and SCRAM
# Dovecot's auth_username_chars: a mailbox whose address has another character can never log in.
MAILADMIN_AUTH_USERNAME_CHARS = env.str(
    "MAILADMIN_AUTH_USERNAME_CHARS",
    default="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@",
)
# smtpd_sender_login_maps query: "own", "aliases", or the query text itself as in the .cf file.
MAILADMIN_SENDER_LOGIN_QUERY = env.str("MAILADMIN_SENDER_LOGIN_QUERY", default="aliases")
# Postfix's recipient_delimiter ("" when unset on the server).
MAILADMIN_RECIPIENT_DELIMITER = env.str("MAILADMIN_RECIPIENT_DELIMITER", default="+")
# Postfix's mydestination: domains whose bare local part is a sender-login key (rarely any).
MAILADMIN_LOCAL_DOMAINS = env.list("MAILADMIN_LOCAL_DOMAINS", default=[])
# Postfix's myorigin: what a bare sender (`erin`) gets appended, and a domain whose bare local
# part is a sender-login key. Empty = Postfix's default, $myhostname (this machine's name);
# "/etc/mailname" style: the first word of that file.
MAILADMIN_MYORIGIN = env.str("MAILADMIN_MYORIGIN", default="")
# Where the guide keeps mail on disk; shown on the delete confirmation.
MAILADMIN_VMAIL_ROOT = env.str("MAILADMIN_VMAIL_ROOT", default="/var/vmail")
# The panel's address as its users reach it (https://mail.example.org), for links in mail: a
# link must never be built from the request's Host header, which the requester chooses.
MAILADMIN_BASE_URL = env.str("MAILADMIN_BASE_URL", default="")
# Which edition of the ISPmail guide built the mail server: "bookworm" (Debian 12: Postfix 3.7,
# Dovecot 2.3) or "trixie" (Debian 13: Postfix 3.10, Dovecot 2.4). The generated server
# configuration follows it: file names, query placeholders, Dovecot's syntax and quota field.
MAILADMIN_GUIDE = env.str("MAILADMIN_GUIDE", default="bookworm").strip().lower()
# The read-only MariaDB account Postfix and Dovecot read the tables with (the guide's).
MAILADMIN_SERVER_DB_USER = env.str("MAILADMIN_SERVER_DB_USER", default="mailserver")
# Lifetime of a one-time password reset link, in hours.
MAILADMIN_RESET_LINK_HOURS = env.int("MAILADMIN_RESET_LINK_HOURS", default=24)

# --- Staff accounts: second factor and re-authentication (mailadmin/staff) ----------------
# Who must enrol a second factor (TOTP) before using the panel: "superadmins", "staff" or "off".
# Staff who enrolled of their own accord are always asked for it.
MAILADMIN_REQUIRE_2FA = env.str("MAILADMIN_REQUIRE_2FA", default="superadmins").lower()
# How long a password (+ code) confirmation covers the most dangerous actions, in minutes.
MAILADMIN_REAUTH_MINUTES = env.int("MAILADMIN_REAUTH_MINUTES", default=5)
# The name authenticator apps show next to the account.
OTP_TOTP_ISSUER = env.str("MAILADMIN_TOTP_ISSUER", default="mailadmin")
# The one-time link a new staff account sets its password with (Django's token generator).
PASSWORD_RESET_TIMEOUT = MAILADMIN_RESET_LINK_HOURS * 3600

# --- Login throttling (django-axes, stored in the database so app servers share it) ----
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)  # hours
# Lock the (account, client address) pair, and the client address alone — never the account
# alone: then failures from an attacker's addresses cannot lock the real owner out from their
# usual address, and one address cannot guess its way through many accounts (README, "Lockout").
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], ["ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
# "Jane@A.example" and "jane@a.example" are one mailbox: one failure counter.
AXES_USERNAME_CALLABLE = "users.auth_backends.axes_username"
AXES_SENSITIVE_PARAMETERS = ["password"]
# Throttling, the fail2ban line and the audit log all name the client by this function.
AXES_CLIENT_IP_CALLABLE = "mailadmin.client_address.client_address"
# Trusted reverse proxies in front of the panel (MAILADMIN_BEHIND_PROXY=1 means one).
MAILADMIN_PROXY_COUNT = env.int(
    "MAILADMIN_PROXY_COUNT", default=1 if env.bool("MAILADMIN_BEHIND_PROXY", default=False) else 0
)
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# The lockout page in the panel's layout, saying how long the lock lasts.
AXES_LOCKOUT_CALLABLE = "mailadmin.views.lockout"

# Static URLs worked out once per file (mailadmin/static_storage.py).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "mailadmin.static_storage.StaticFilesStorage"},
}

if MAILADMIN_SERVE_STATIC:
    # Right after SecurityMiddleware, as WhiteNoise asks: static files skip the rest of the stack.
    MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                      "whitenoise.middleware.WhiteNoiseMiddleware")
    STORAGES["staticfiles"] = {"BACKEND": "mailadmin.static_storage.CompressedManifestStaticFilesStorage"}

# Every value a request brings (a user name, a path) is escaped before it reaches a line:
# a newline in a user name must not write a line fail2ban would act on (mailadmin/logsafe.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"escape_control_characters": {"()": "mailadmin.logsafe.EscapeControlCharacters"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["escape_control_characters"],
        }
    },
    "loggers": {
        "mailadmin.auth": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # Django's own request lines ("Not Found: /<path>") carry the path a client chose.
        "django": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING"), "propagate": False},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
