from django.urls import path

from identity import connection_views

app_name = "identity"

urlpatterns = [
    path("", connection_views.connection_edit, name="connection-edit"),
    path("check/", connection_views.connection_check, name="connection-check"),
]
