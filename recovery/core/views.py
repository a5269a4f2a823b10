from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from .models import SUPERVISING_ROLES, PhiAccess, Role, User
from .permissions import role_required


@require_GET
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


@login_required
def home(request):
    """'My work': each role's starting page. Attorneys belong in the portal."""
    if request.user.is_attorney:
        return redirect("portal:home")
    from cases.views import my_work_context

    notifications = list(request.user.notifications.filter(read_at__isnull=True)[:10])
    return render(
        request,
        "core/home.html",
        {"notifications": notifications, **my_work_context(request.user)},
    )


@require_POST
@login_required
def keepalive(request):
    """Called by the idle-timeout warning's 'Stay signed in': the request itself renews the
    session (SESSION_SAVE_EVERY_REQUEST)."""
    return HttpResponse(status=204)


@login_required
def notifications(request):
    items = request.user.notifications.all()
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {"page": page})


@require_POST
@login_required
def notifications_mark_read(request):
    request.user.notifications.filter(read_at__isnull=True).update(read_at=timezone.now())
    return redirect(request.POST.get("next") or "notifications")


@role_required(*SUPERVISING_ROLES, Role.AUDITOR)
def team(request):
    users = (
        User.objects.filter(is_active=True)
        .exclude(role=Role.ATTORNEY)
        .select_related("team")
        .order_by("team__name", "role", "username")
    )
    if request.user.role == Role.SUPERVISOR and request.user.team_id:
        users = users.filter(team_id=request.user.team_id)
    return render(request, "core/team.html", {"users": users})


@role_required(Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN)
def access_log(request):
    """Who looked at whose PHI, newest first; filter by user or subject."""
    entries = PhiAccess.objects.select_related("user").order_by("-at", "-id")
    username = request.GET.get("user", "").strip()
    if username:
        entries = entries.filter(user__username=username)
    subject = request.GET.get("subject", "").strip()
    if subject.isdigit():
        entries = entries.filter(subject_id=int(subject))
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    summary = (
        PhiAccess.objects.filter(at__gte=timezone.now() - timezone.timedelta(days=1))
        .values("user__username")
        .annotate(reads=Count("id"), members=Count("subject_id", distinct=True))
        .order_by("-reads")[:10]
    )
    return render(
        request,
        "core/access_log.html",
        {"page": page, "summary": summary, "filter_user": username, "filter_subject": subject},
    )
