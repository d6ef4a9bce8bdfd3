"""Settings of a client project using django-centralauth 2.0.0's client app, unchanged.

Configured as the package's installation guide and client example say. Read from the environment:

  CLIENT_DATABASE_PATH        SQLite file (required)
  CENTRALAUTH_PROVIDER_URL    e.g. http://127.0.0.1:8000/provider; or else
  CENTRALAUTH_PROVIDER_PORT   builds http://127.0.0.1:<port>/provider
  CENTRALAUTH_CLIENT_ID, CENTRALAUTH_CLIENT_SECRET   the application's credentials at the provider
"""
import os

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SECRET_KEY = "interop-client-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "centralauth.client",
    "notes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "centralauth.client.middleware.CentralAuthSyncMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "client_site.urls"
WSGI_APPLICATION = "client_site.wsgi.application"

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
        "NAME": os.environ["CLIENT_DATABASE_PATH"],
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

# django-centralauth client settings (docs/installation.rst).
CENTRALAUTH_PROVIDER_URL = os.environ.get("CENTRALAUTH_PROVIDER_URL") or "http://127.0.0.1:{}/provider".format(
    os.environ.get("CENTRALAUTH_PROVIDER_PORT", "8000")
)
CENTRALAUTH_CLIENT_ID = os.environ.get("CENTRALAUTH_CLIENT_ID", "")
CENTRALAUTH_CLIENT_SECRET = os.environ.get("CENTRALAUTH_CLIENT_SECRET", "")
AUTHENTICATION_BACKENDS = ["centralauth.client.backends.OAuthBackend"]
# oauthlib refuses http:// endpoints unless told otherwise; the providers here listen on plain
# http on 127.0.0.1.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
# The sync middleware sends a logged-out user to LOGIN_URL?next=<path>.
LOGIN_URL = "/centralauth/login/"
# Client and provider share the host 127.0.0.1, and cookies ignore the port.
SESSION_COOKIE_NAME = "client"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR"},
        "centralauth": {"handlers": ["stderr"], "level": "ERROR"},
    },
}
