"""The product's URLs and, beside them, the benchmark's reference endpoints (`/bench/v1/`)."""

from django.urls import path

from bench.ingest_reference import reference_api
from spotlersync.urls import handler403, handler404
from spotlersync.urls import urlpatterns as product_urlpatterns

urlpatterns = [path("bench/v1/", reference_api.urls), *product_urlpatterns]

__all__ = ["handler403", "handler404", "urlpatterns"]
