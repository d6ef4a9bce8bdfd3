# The package's own migration, unchanged (see __init__.py).
import importlib

Migration = importlib.import_module("centralauth.provider.migrations.0001_initial").Migration
