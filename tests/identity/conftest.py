from tests.identity import reconcile_helpers

sandbox = reconcile_helpers.sandbox_as_spotler
