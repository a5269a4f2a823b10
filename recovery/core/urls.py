from django.contrib.auth import views as auth_views
from django.urls import include, path

from recovery.portal.urls import urlpatterns as portal_patterns

from . import otp_views, views
from .forms import BoundedPasswordChangeForm, LoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=LoginForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/otp/setup/", otp_views.otp_setup, name="otp-setup"),
    path("account/otp/verify/", otp_views.otp_verify, name="otp-verify"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(
            success_url="/", form_class=BoundedPasswordChangeForm
        ),
        name="password_change",
    ),
    path("session/keepalive/", views.keepalive, name="keepalive"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_mark_read, name="notifications-read"),
    path("team/", views.team, name="team"),
    path("access-log/", views.access_log, name="access-log"),
    path("portal/", include((portal_patterns, "portal"))),
]
