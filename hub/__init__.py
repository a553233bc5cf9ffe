"""The Django project of the Alliance Hub, and its workflow apps."""

from hub.celery import app as celery_app

__all__ = ["celery_app"]
