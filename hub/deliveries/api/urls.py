from django.urls import path

from hub.deliveries.api.views import DeliveryListApi, DeliveryResendApi

urlpatterns = [
    path("deliveries/", DeliveryListApi.as_view(), name="api-outbox-deliveries"),
    path("deliveries/<int:message_id>/resend", DeliveryResendApi.as_view(), name="api-outbox-delivery-resend"),
]
