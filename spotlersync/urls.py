from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from contacts.api import api
from spotlersync import metrics, probes, views

urlpatterns = [
    path("", views.home, name="home"),
    path("queue/", views.queue_detail, name="queue-detail"),
    path("queue/summary/", views.queue_summary, name="queue-summary"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("api/v1/", api.urls),
    # The contacts app's dashboard pages: /contacts/... and /api-tokens/...
    path("", include("contacts.urls")),
    path("mapping/", include("mapping.urls")),
    path("sync/", include("sync.urls")),
    path("bounces/", include("bounces.urls")),
    path("lists/", include("lists.urls")),
    path("audit/", include("audit.urls")),
    # Identity and data quality: /connection/, /duplicates/...
    path("", include("identity.urls")),
    # Subscribe forms and lookup pages (public, and the Admins' pages that configure them);
    # the staff search of Spotler.
    path("", include("public.urls")),
    path("admin/", admin.site.urls),
    # Answered by spotlersync.probes.ProbeMiddleware before any other middleware; listed here
    # too so that they have names and reverse() finds them.
    path("healthz", probes.healthz, name="healthz"),
    path("readyz", probes.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
]

handler403 = "spotlersync.views.permission_denied"
handler404 = "spotlersync.views.page_not_found"
