import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_every_admin_changelist_opens_for_an_administrator(client, admin_user):
    client.force_login(admin_user)
    for model in admin.site._registry:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(url).status_code == 200, url


def test_staff_roles_other_than_admin_cannot_open_the_admin(client, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
