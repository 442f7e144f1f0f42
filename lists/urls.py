from django.urls import path

from lists import views

app_name = "lists"

urlpatterns = [
    path("", views.list_list, name="list-list"),
    path("new/", views.list_new, name="list-new"),
    path("new/upload/", views.list_upload, name="list-upload"),
    path("delete/", views.list_delete, name="list-delete"),
    path("<int:pk>/", views.list_detail, name="list-detail"),
    path("<int:pk>/progress/", views.list_progress, name="list-progress"),
    path("<int:pk>/resume/", views.list_resume, name="list-resume"),
    path("<int:pk>/refresh/", views.list_refresh, name="list-refresh"),
]
