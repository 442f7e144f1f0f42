"""A local stand-in for Spotler Mail+, served over real HTTP (spotler-api.md §0.3).

Only tests, the demo and the `spotler_sandbox` management command import this package; the
rest of the project talks to it over HTTP like it would talk to Spotler.

    sandbox = serve_in_thread()          # http://127.0.0.1:<free port>/
    sandbox.base_url                     # .../integrationservice
    sandbox.set(rate_limit=0)            # the control surface under /_sandbox/
    sandbox.stop()
"""

from spotler.sandbox.handle import SandboxHandle
from spotler.sandbox.server import RunningSandbox, SandboxServer, serve_in_thread

__all__ = ["RunningSandbox", "SandboxHandle", "SandboxServer", "serve_in_thread"]
