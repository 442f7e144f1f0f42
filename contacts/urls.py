from django.urls import path

from contacts import views

app_name = "contacts"

urlpatterns = [
    path("", views.token_list, name="token-list"),
    path("new/", views.token_create, name="token-create"),
    path("<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
]
