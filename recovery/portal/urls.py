from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("invite/", views.invite, name="invite"),
    path("accept/<str:token>/", views.accept, name="accept"),
    path("cases/<int:id>/", views.case_detail, name="case"),
    path("cases/<int:id>/dispute/", views.dispute_create, name="dispute"),
    path("cases/<int:id>/settlement/", views.settlement_report, name="settlement"),
    path("cases/<int:id>/lien-amount/", views.lien_amount_request, name="lien-amount"),
    path("cases/<int:id>/upload/", views.upload, name="upload"),
    path("disputes/", views.disputes, name="disputes"),
    path("disputes/<int:id>/decide/", views.dispute_decide, name="dispute-decide"),
    path("documents/<int:id>/", views.document_download, name="document"),
    path("refer/", views.referral_create, name="refer"),
    path("referrals/", views.referrals, name="referrals"),
    path("referrals/<int:id>/", views.referral_detail, name="referral"),
    path("referrals/<int:id>/files/<str:which>/", views.referral_file, name="referral-file"),
    path("referrals/<int:id>/open-case/", views.referral_open_case, name="referral-open-case"),
    path("referrals/<int:id>/convert/", views.referral_convert, name="referral-convert"),
    path("referrals/<int:id>/decline/", views.referral_decline, name="referral-decline"),
]
