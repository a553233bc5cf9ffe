import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.base")
application = get_wsgi_application()

from hub.db_limits import request_statement_timeout  # noqa: E402

request_statement_timeout()  # hardening: no request's SQL runs longer than DATABASE_STATEMENT_TIMEOUT_MS
