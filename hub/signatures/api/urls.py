from django.urls import path

from hub.signatures.api.views import OpinionVerificationApi, SigningKeyApi, SigningKeyListApi

urlpatterns = [
    path("keys", SigningKeyListApi.as_view(), name="signing-keys"),
    path("keys/<str:key_id>", SigningKeyApi.as_view(), name="signing-key"),
    path("opinions/<uuid:uid>", OpinionVerificationApi.as_view(), name="opinion-verify"),
]
