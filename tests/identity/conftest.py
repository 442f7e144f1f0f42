from tests.identity import helpers

sandbox = helpers.sandbox_as_spotler
