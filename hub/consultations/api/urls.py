from django.urls import path

from hub.consultations.api import views

urlpatterns = [
    path("referrals/<int:referral_id>/room", views.RoomOpenApi.as_view(), name="room-open"),
    path("rooms/<int:room_id>", views.RoomDetailApi.as_view(), name="room-detail"),
    path("rooms/<int:room_id>/events", views.RoomEventsApi.as_view(), name="room-events"),
    path("rooms/<int:room_id>/attachments", views.AttachmentApi.as_view(), name="room-attachments"),
    path("rooms/<int:room_id>/snapshots", views.SnapshotApi.as_view(), name="room-snapshots"),
    path("rooms/<int:room_id>/media/<str:media_id>", views.MediaContentApi.as_view(), name="room-media"),
    path(
        "rooms/<int:room_id>/records/<str:resource_type>/<str:fhir_id>", views.RecordApi.as_view(), name="room-record"
    ),
    path("rooms/<int:room_id>/participants", views.ParticipantsApi.as_view(), name="room-participants"),
    path(
        "rooms/<int:room_id>/participants/<int:user_id>",
        views.ParticipantRemoveApi.as_view(),
        name="room-participant-remove",
    ),
    path("rooms/<int:room_id>/end", views.RoomEndApi.as_view(), name="room-end"),
    path("rooms/<int:room_id>/ice-servers", views.IceServersApi.as_view(), name="room-ice-servers"),
]
