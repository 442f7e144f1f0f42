"""The sandbox is a plain WSGI app: any WSGI server can host it, signatures and all."""

import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

from spotler.sandbox.app import SandboxApp
from spotler.sandbox.runtime import Sandbox
from spotler.sandbox.state import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from tests.spotler.sandbox_helpers import SignedApi


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


def test_a_wsgi_server_from_the_standard_library_can_host_the_sandbox():
    server = make_server("127.0.0.1", 0, SandboxApp(Sandbox.create()), handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        api = SignedApi(
            f"http://127.0.0.1:{server.server_port}/integrationservice",
            DEMO_CONSUMER_KEY,
            DEMO_CONSUMER_SECRET,
        )
        # Not "shop/1": without a raw URI in the environ (wsgiref gives none) an encoded "/"
        # cannot be told from a real one; a space survives the decoding.
        api.upsert("shop 1", email="anna@example.nl")

        assert api.get("contact/shop%201").json()["properties"]["email"] == "anna@example.nl"
        assert (
            api.get(
                "contact/search", params={"MPSearchQuery": "email=anna@example.nl", "pageSize": 1}
            ).status_code
            == 200
        )
    finally:
        server.shutdown()
        server.server_close()
