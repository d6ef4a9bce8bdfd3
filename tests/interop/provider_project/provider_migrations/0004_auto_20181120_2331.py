# The package's own migration, unchanged (see __init__.py).
import importlib

Migration = importlib.import_module("centralauth.provider.migrations.0004_auto_20181120_2331").Migration
