"""The dead-letter page of site administrators: what could not be delivered, why, and a button to send it again."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hub.api_errors import DomainError
from hub.deliveries.services import delivery_list, delivery_resend


@login_required
def dead_letters(request):
    try:
        letters = list(delivery_list(user=request.user)[:200])
    except DomainError as exc:
        return render(request, "access/forbidden.html", {"message": exc.message}, status=exc.status)
    return render(request, "deliveries/dead_letters.html", {"letters": letters})


@login_required
@require_POST
def resend(request, message_id: int):
    try:
        with transaction.atomic():
            delivery_resend(user=request.user, message_id=message_id)
    except DomainError as exc:
        if exc.status == 403:
            return render(request, "access/forbidden.html", {"message": exc.message}, status=exc.status)
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Sent again."))
    return redirect("deliveries-web:dead-letters")
