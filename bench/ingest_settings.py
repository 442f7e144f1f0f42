"""Settings of the ingest benchmark's server only (`bench/bench_ingest.py` starts gunicorn with
them): the product's settings, plus the reference endpoints and the per-request cost report.
Nothing here is routed or installed in the product: `bench/` is not a package it ships."""

from spotlersync.settings import *  # noqa: F403
from spotlersync.settings import MIDDLEWARE

ROOT_URLCONF = "bench.ingest_urls"
# Outermost, so the report covers every other middleware too.
MIDDLEWARE = ["bench.ingest_reference.report_request_cost", *MIDDLEWARE]
