"""Test settings: the same PostgreSQL engine, a fast hasher, inline Celery."""

from hub.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LANGUAGE_CODE = "en"
# Audit rows are written in the test's own transaction, so each test sees exactly its own.
AUDIT_DEFER_READS = False
# devices: tests write the per-minute summaries themselves (a background writer would see no committed devices)
DEVICES_SUMMARY_FLUSH_THREAD = False
