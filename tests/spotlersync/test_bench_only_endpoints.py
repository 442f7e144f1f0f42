import pytest
from django.urls import Resolver404, resolve


@pytest.mark.parametrize("path", ["/bench/v1/bare", "/bench/v1/contacts/C1", "/bench/v1/token"])
def test_the_ingest_benchmarks_reference_endpoints_are_not_routed_in_the_product(path):
    with pytest.raises(Resolver404):
        resolve(path)
