"""Test settings: the same PostgreSQL engine, a fast hasher, inline Celery."""

import os
import tempfile

# The settings refuse to start without a secret key outside debug; tests (and the servers they start) use this.
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production")

from hub.settings.base import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LANGUAGE_CODE = "en"
# Audit rows are written in the test's own transaction, so each test sees exactly its own.
AUDIT_DEFER_READS = False
# Two-factor sign-in for administrators is on in production; the tests of it turn it on (tests/hub/test_hardening*),
# the rest sign administrators in with one step.
HUB_TWO_FACTOR_REQUIRED_FOR_ADMINS = False
# Audit rows the database refuses wait in a spool of the test run's own.
AUDIT_SPOOL_DIR = Path(tempfile.mkdtemp(prefix="hub-test-audit-spool-"))  # noqa: F405
# devices: tests write the per-minute summaries themselves (a background writer would see no committed devices)
DEVICES_SUMMARY_FLUSH_THREAD = False
