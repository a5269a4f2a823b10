from django.urls import path

from . import letters_api

urlpatterns = [
    path(
        "cases/<int:case_id>/letters/",
        letters_api.CaseLettersApi.as_view(),
        name="api-case-letters",
    ),
    path(
        "documents/<int:pk>/", letters_api.DocumentDetailApi.as_view(), name="api-document-detail"
    ),
    path(
        "documents/<int:pk>/download/",
        letters_api.DocumentDownloadApi.as_view(),
        name="api-document-download",
    ),
    path(
        "documents/<int:pk>/send/", letters_api.DocumentSendApi.as_view(), name="api-document-send"
    ),
]
