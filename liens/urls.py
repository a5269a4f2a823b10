from django.urls import path

from . import lien_views, views

app_name = "liens"

urlpatterns = [
    # The case page's Lien tab (liens/lien_views.py)
    path("cases/<int:pk>/lien/", lien_views.case_lien, name="case-lien"),
    path("cases/<int:pk>/lien/create/", lien_views.create, name="create"),
    path("cases/<int:pk>/lien/<int:lien_id>/file/", lien_views.file, name="file"),
    path("cases/<int:pk>/lien/<int:lien_id>/amend/", lien_views.amend, name="amend"),
    path("cases/<int:pk>/lien/<int:lien_id>/release/", lien_views.release, name="release"),
    path("cases/<int:pk>/lien/<int:lien_id>/withdraw/", lien_views.withdraw, name="withdraw"),
    path("cases/<int:pk>/lien/<int:lien_id>/receipt/", lien_views.receipt, name="receipt"),
    path(
        "cases/<int:pk>/lien/<int:lien_id>/release-sent/",
        lien_views.release_sent,
        name="release-sent",
    ),
    path("cases/<int:pk>/lien/changes/<int:change_id>/decide/", lien_views.decide, name="decide"),
    path("cases/<int:pk>/lien/changes/<int:change_id>/cancel/", lien_views.cancel, name="cancel"),
    # The case page's Letters tab and letter batches (liens/views.py)
    path("cases/<int:pk>/letters/", views.case_letters, name="case-letters"),
    path("cases/<int:pk>/letters/preview/", views.letter_preview, name="letter-preview"),
    path("letters/<int:id>/row/", views.letter_row, name="letter-row"),
    path("letters/<int:id>/email/", views.letter_email, name="letter-email"),
    path("letters/<int:id>/download/", views.letter_download, name="letter-download"),
    path("letters/batches/", views.batches, name="batches"),
    path("letters/batches/<int:id>/progress/", views.batch_progress, name="batch-progress"),
    path("letters/batches/<int:id>/cancel/", views.batch_cancel, name="batch-cancel"),
]
