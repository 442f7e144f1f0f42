from django.urls import path

from identity import connection_views, duplicates_views

app_name = "identity"

urlpatterns = [
    path("connection/", connection_views.connection_edit, name="connection-edit"),
    path("connection/check/", connection_views.connection_check, name="connection-check"),
    path("duplicates/", duplicates_views.duplicate_list, name="duplicate-list"),
    path("duplicates/export.csv", duplicates_views.duplicate_export, name="duplicate-export"),
    path(
        "duplicates/households/list/",
        duplicates_views.households_to_list,
        name="duplicate-households-list",
    ),
]
