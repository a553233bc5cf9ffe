"""Background work of the device path: offline devices, escalation of unacknowledged alarms, retention."""

from celery import shared_task


@shared_task(name="devices.housekeeping")
def housekeeping_task() -> None:
    from hub.devices.alarms import housekeeping

    housekeeping()
