from django.urls import path

from mapping import views

app_name = "mapping"

urlpatterns = [
    path("", views.mapping_edit, name="mapping-edit"),
    path("rows/", views.mapping_rows, name="mapping-rows"),
    path("preview/", views.mapping_preview, name="mapping-preview"),
    path("preview/contacts/", views.preview_matches, name="preview-matches"),
    path("versions/<int:number>/restore/", views.mapping_restore, name="mapping-restore"),
    path("versions/<int:number>/push/", views.push_affected, name="push-affected"),
    path("properties/refresh/", views.catalogue_refresh, name="catalogue-refresh"),
]
