from django.urls import path

import contacts.converters  # noqa: F401 (registers <external_id:...>)
from contacts import import_views, views

app_name = "contacts"

urlpatterns = [
    path("api-tokens/", views.token_list, name="token-list"),
    path("api-tokens/new/", views.token_create, name="token-create"),
    path("api-tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("contacts/", views.contact_list, name="contact-list"),
    # Outside /contacts/, where "import" would be taken for an external id.
    path("imports/", import_views.import_upload, name="import-upload"),
    path("imports/<int:pk>/", import_views.import_detail, name="import-detail"),
    path("imports/<int:pk>/map/", import_views.import_map, name="import-map"),
    path("imports/<int:pk>/progress/", import_views.import_progress, name="import-progress"),
    path("imports/<int:pk>/errors.csv", import_views.import_errors, name="import-errors"),
    path("contacts/<external_id:external_id>/", views.contact_detail, name="contact-detail"),
]
