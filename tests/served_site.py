"""Serves tests.site's Flask site in its own process: ``python -m tests.served_site PORT``.

Settings come from the environment (``OKTA_*``, ``SECRET_KEY``); prints ``READY`` when listening.
"""

from __future__ import annotations

import os
import sys

from werkzeug.serving import make_server

from tests.site import make_site


def main() -> None:
    port = int(sys.argv[1])
    settings = {key: value for key, value in os.environ.items() if key.startswith("OKTA_")}
    app = make_site(settings, SECRET_KEY=os.environ["SECRET_KEY"])
    server = make_server("127.0.0.1", port, app, threaded=True)
    print("READY", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
