"""Settings of the reference provider: django-centralauth 2.0.0 on django-oauth-toolkit 1.5.0.

Set up as the package's installation guide and provider example say (admin login as LOGIN_URL,
CentralauthOAuthBackend, swapped Application model). Read from the environment:

  PROVIDER_DATABASE_PATH                 SQLite file (required)
  PROVIDER_ACCESS_TOKEN_EXPIRE_SECONDS   DOT's global access-token lifetime (default 300)
"""
import os

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SECRET_KEY = "interop-provider-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oauth2_provider",
    "centralauth.provider",
    "seeding",
]

MIDDLEWARE = [
    "oauth2_provider.middleware.OAuth2TokenMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "provider_site.urls"
WSGI_APPLICATION = "provider_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["PROVIDER_DATABASE_PATH"],
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_L10N = True
USE_TZ = True
STATIC_URL = "/static/"

# django-centralauth provider settings (docs/installation.rst).
LOGIN_URL = "/admin/login/"
AUTHENTICATION_BACKENDS = (
    "oauth2_provider.backends.OAuth2Backend",
    "django.contrib.auth.backends.ModelBackend",
)
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_APPLICATION_MODEL = "provider.Application"
OAUTH2_PROVIDER = {
    "OAUTH2_BACKEND_CLASS": "centralauth.provider.oauth2_backends.CentralauthOAuthBackend",
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("PROVIDER_ACCESS_TOKEN_EXPIRE_SECONDS", "300")),
}
# Client and provider share the host 127.0.0.1, and cookies ignore the port.
SESSION_COOKIE_NAME = "provider"

# DEBUG is off, so a 500 would otherwise leave no trace: log tracebacks to stderr (the server log).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
}

# See provider_migrations/__init__.py: the package's migrations miss a column of DOT 1.5.0.
MIGRATION_MODULES = {"provider": "provider_migrations"}
