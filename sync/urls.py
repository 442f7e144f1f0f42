from django.urls import path

import contacts.converters  # noqa: F401 (registers <external_id:...>)
from identity import reconcile_views
from sync import views

app_name = "sync"

urlpatterns = [
    path("health/", views.health, name="health"),
    path("contacts/<external_id:external_id>/push/", views.contact_push, name="contact-push"),
    path(
        "contacts/<external_id:external_id>/dismiss/", views.contact_dismiss, name="contact-dismiss"
    ),
    path(
        "contacts/<external_id:external_id>/release/", views.contact_release, name="contact-release"
    ),
    path("runs/", views.run_list, name="run-list"),
    path("runs/start/", views.run_start, name="run-start"),
    path("runs/<int:pk>/", views.run_detail, name="run-detail"),
    path("runs/<int:pk>/progress/", views.run_progress_panel, name="run-progress"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run-cancel"),
    # A reconciliation's findings (identity/reconcile_views.py).
    path("runs/<int:pk>/findings/", reconcile_views.finding_list, name="finding-list"),
    path(
        "runs/<int:pk>/findings/push-missing/",
        reconcile_views.finding_push_missing,
        name="finding-push-missing",
    ),
    path("findings/<int:pk>/fix/", reconcile_views.finding_fix, name="finding-fix"),
]
