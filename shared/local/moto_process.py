"""moto's server in a process of its own, started and stopped by the local stack.

Handlers, pollers and moto in one process share one GIL: under 8 clients the stack
process used 0.8 of a core while its DynamoDB requests queued for the interpreter. In
its own process moto gets the second core.

The parent reads the endpoint from the first line this process prints, and closes this
process's stdin to stop it (so it also ends when the parent dies).

    python -m shared.local.moto_process        # prints {"endpoint": "http://127.0.0.1:N"}
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings

# moto answers any origin by default (flask-cors); the local stack's moto is for this
# machine's processes only, so no browser page may call it. Read when moto is imported.
os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"

from moto.server import ThreadedMotoServer

from shared.local import moto_dynamodb, moto_routing


class _UnsupportedResourceFilter(logging.Filter):
    """Drops moto's note about each resource type it skips: the gateway and scheduler
    stand in for exactly those (API Gateway v2, EventBridge Scheduler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No Moto CloudFormation support")


def _quiet_logging() -> None:
    # moto logs every request and warns about each resource type it skips; both drown
    # the handlers' own logs and say nothing actionable here.
    logging.basicConfig(level=logging.WARNING, format="moto: %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").addFilter(_UnsupportedResourceFilter())
    warnings.filterwarnings(
        "ignore", message=r"Tried to parse AWS::.* but it's not supported", category=UserWarning
    )


def main() -> int:
    _quiet_logging()
    moto_dynamodb.install()
    moto_routing.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(json.dumps({"endpoint": f"http://{host}:{port}"}), flush=True)
    # Nobody reads stdout after the first line: moto's own prints go to stderr instead.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        sys.stdin.buffer.read()  # until the parent closes it, or dies
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
