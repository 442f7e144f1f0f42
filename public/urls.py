from django.urls import path

from public import lookup_views, search_views

app_name = "public"

urlpatterns = [
    # Lookup pages: the public page, and the Admin's pages to configure them.
    path("lookup/<slug:slug>/", lookup_views.lookup_page, name="lookup-page"),
    path("lookup-pages/", lookup_views.lookup_page_list, name="lookup-page-list"),
    path("lookup-pages/new/", lookup_views.lookup_page_create, name="lookup-page-create"),
    path("lookup-pages/<int:pk>/", lookup_views.lookup_page_edit, name="lookup-page-edit"),
    # Staff search of Spotler's contacts by property values.
    path("search/", search_views.search_spotler, name="search-spotler"),
]
