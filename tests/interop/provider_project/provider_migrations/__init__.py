"""Migrations of `centralauth.provider` for django-centralauth 2.0.0 on django-oauth-toolkit 1.5.0.

The package's migrations (0001-0004) predate the `algorithm` field that DOT 1.5.0 added to
AbstractApplication, so its Application table lacks that column. 0001-0004 re-export the package's
own migrations unchanged; 0005 is what `makemigrations provider` generates for the missing field.
Selected by MIGRATION_MODULES in provider_site/settings.py.
"""
