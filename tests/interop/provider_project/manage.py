#!/usr/bin/env python
"""The real django-centralauth 2.0.0 provider, configured as its documentation says."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "provider_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
