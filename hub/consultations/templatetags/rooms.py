"""``{% room_button referral %}``: the request page's way into its consultation room."""

from django import template

from hub.consultations.constants import RoomStatus
from hub.consultations.models import Room
from hub.referrals.constants import OPEN_STATUSES

register = template.Library()


@register.inclusion_tag("consultations/_room_button.html", takes_context=True)
def room_button(context, referral):
    rooms = list(Room.objects.filter(referral=referral).order_by("-opened_at")[:5])
    open_room = next((r for r in rooms if r.status == RoomStatus.OPEN), None)
    return {
        "referral": referral,
        "open_room": open_room,
        "past_rooms": [r for r in rooms if r.status == RoomStatus.ENDED],
        "can_open": open_room is None and referral.status in OPEN_STATUSES,
        "csrf_token": context.get("csrf_token"),
    }
