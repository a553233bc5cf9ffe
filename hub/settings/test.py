"""Test settings: the same PostgreSQL engine, a fast hasher, inline Celery."""

import tempfile

from hub.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LANGUAGE_CODE = "en"
# Audit rows are written in the test's own transaction, so each test sees exactly its own.
AUDIT_DEFER_READS = False
# Audit rows the database refuses wait in a spool of the test run's own.
AUDIT_SPOOL_DIR = Path(tempfile.mkdtemp(prefix="hub-test-audit-spool-"))  # noqa: F405
