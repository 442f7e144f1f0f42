from django.urls import path

from public import lookup_views, search_views, subscribe_admin_views, subscribe_views

app_name = "public"

urlpatterns = [
    # Lookup pages: the public page, and the Admin's pages to configure them.
    path("lookup/<slug:slug>/", lookup_views.lookup_page, name="lookup-page"),
    path("lookup-pages/", lookup_views.lookup_page_list, name="lookup-page-list"),
    path("lookup-pages/new/", lookup_views.lookup_page_create, name="lookup-page-create"),
    path("lookup-pages/<int:pk>/", lookup_views.lookup_page_edit, name="lookup-page-edit"),
    # Staff search of Spotler's contacts by property values.
    path("search/", search_views.search_spotler, name="search-spotler"),
    # Subscribe forms: the public page and JSON endpoint (no login), the Admins' pages.
    path("subscribe/<slug:slug>/", subscribe_views.subscribe_page, name="subscribe-page"),
    path("subscribe/<slug:slug>/json", subscribe_views.subscribe_json, name="subscribe-json"),
    path("subscribe-forms/", subscribe_admin_views.form_list, name="subscribe-form-list"),
    path("subscribe-forms/new/", subscribe_admin_views.form_new, name="subscribe-form-new"),
    path(
        "subscribe-forms/<int:pk>/", subscribe_admin_views.form_detail, name="subscribe-form-detail"
    ),
    path(
        "subscribe-forms/<int:pk>/edit/",
        subscribe_admin_views.form_edit,
        name="subscribe-form-edit",
    ),
    path(
        "subscriptions/<int:pk>/retry/",
        subscribe_admin_views.subscription_retry,
        name="subscription-retry",
    ),
]
