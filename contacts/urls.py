from django.urls import path

from contacts import import_views, views

app_name = "contacts"

urlpatterns = [
    path("api-tokens/", views.token_list, name="token-list"),
    path("api-tokens/new/", views.token_create, name="token-create"),
    path("api-tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("contacts/", views.contact_list, name="contact-list"),
    # Before contact-detail, which would take "import" for an external id.
    path("contacts/import/", import_views.import_upload, name="import-upload"),
    path("contacts/import/<int:pk>/", import_views.import_detail, name="import-detail"),
    path("contacts/import/<int:pk>/map/", import_views.import_map, name="import-map"),
    path(
        "contacts/import/<int:pk>/progress/", import_views.import_progress, name="import-progress"
    ),
    path("contacts/import/<int:pk>/errors.csv", import_views.import_errors, name="import-errors"),
    path("contacts/<str:external_id>/", views.contact_detail, name="contact-detail"),
]
