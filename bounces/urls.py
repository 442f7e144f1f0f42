from django.urls import path

from bounces import views

app_name = "bounces"

urlpatterns = [
    path("", views.followup_list, name="followup-list"),
    path("bulk/", views.followup_bulk, name="followup-bulk"),
    path("notifications/", views.notification_settings, name="notifications"),
    path("<int:pk>/", views.followup_detail, name="followup-detail"),
    path("<int:pk>/<slug:action>/", views.followup_act, name="followup-act"),
]
