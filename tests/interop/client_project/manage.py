#!/usr/bin/env python
"""A Django project that delegates its logins to a provider through django-centralauth's client."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "client_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
