from django.urls import path

from sync import views

app_name = "sync"

urlpatterns = [
    path("health/", views.health, name="health"),
    path("contacts/<str:external_id>/push/", views.contact_push, name="contact-push"),
    path("contacts/<str:external_id>/dismiss/", views.contact_dismiss, name="contact-dismiss"),
]
