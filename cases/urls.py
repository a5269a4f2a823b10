from importlib import import_module

from django.urls import path

from . import views

try:
    views_import = import_module("cases.views_import")
except ModuleNotFoundError as exc:  # written alongside; drop this guard once the module lands
    if exc.name != "cases.views_import":
        raise
    views_import = None

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.intake, name="new"),
    path("queue/", views.queue, name="queue"),
    path("workload/", views.workload, name="workload"),
    path("questions/", views.questions, name="questions"),
    path("questions/<int:id>/answer/", views.answer, name="answer"),
    path("tasks/<int:id>/done/", views.deadline_done, name="deadline-done"),
    path("documents/<int:id>/download/", views.document_download, name="document-download"),
    # The case page and its tabs
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/parties/", views.case_parties, name="parties"),
    path("<int:pk>/claims/", views.case_claims, name="claims"),
    path("<int:pk>/activity/", views.case_activity, name="activity"),
    path("<int:pk>/tasks/", views.case_tasks, name="tasks"),
    path("<int:pk>/documents/", views.case_documents, name="documents"),
    path("<int:pk>/history/", views.case_history_tab, name="history"),
    # Actions on a case (POST)
    path("<int:pk>/claims/<int:cc>/decide/", views.decide_claim, name="decide-claim"),
    path("<int:pk>/status/", views.change_status, name="status"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/take/", views.take, name="take"),
    path("<int:pk>/return/", views.give_back, name="return"),
    path("<int:pk>/ask/", views.ask, name="ask"),
    path("<int:pk>/parties/add/", views.add_party, name="party-add"),
    path("<int:pk>/activity/add/", views.add_activity, name="activity-add"),
    path("<int:pk>/tasks/add/", views.add_task, name="task-add"),
    path("<int:pk>/documents/upload/", views.upload, name="upload"),
]

if views_import is not None:
    urlpatterns += [
        path("import/", views_import.import_claims, name="import"),
        path("import/<int:pk>/", views_import.import_detail, name="import-detail"),
        path("import/<int:pk>/progress/", views_import.import_progress, name="import-progress"),
        path("leads/", views_import.leads, name="leads"),
    ]
