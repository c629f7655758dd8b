"""`rewards serve` and `rewards token`."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from shared.local.paths import repo_root

DEV_ROLES = ("client", "finance", "admin")


def _token(args: argparse.Namespace) -> int:
    from shared.local.dev_tokens import mint_token

    if args.ttl_hours <= 0:
        raise ValueError("--ttl-hours must be positive")
    token = mint_token(
        args.role, args.sub, ttl_hours=args.ttl_hours, root=repo_root(), programs=args.program
    )
    print(token)
    return 0


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _banner(
    url: str, moto_endpoint: str, root: Path, routes: list[str], engine: str = "embedded"
) -> str:
    from shared.local.dev_tokens import mint_token

    tokens = {role: mint_token([role], f"dev-{role}", root=root) for role in DEV_ROLES}
    program = (
        '{"name": "Give 10 get 10", "qualifying_event": "purchase", "min_order_value": "20.00", '
        '"rewards": {"advocate": {"kind": "gift_card", "amount": "10.00", "currency": "USD"}, '
        '"referee": {"kind": "cash", "amount": "10.00", "currency": "USD"}}, '
        '"holding_period_days": 0, "budget": {"amount": "5000.00", "currency": "USD"}}'
    )
    lines = [
        f"Local stack ready at {url}",
        f"moto (AWS_ENDPOINT_URL for boto3 / aws cli): {moto_endpoint}",
        "table: "
        + (
            "embedded engine in this process (`rewards labels export` reads it)"
            if engine == "embedded"
            else "DynamoDB on moto"
        ),
        "",
        "Dev tokens (24 h; `rewards token --role R --sub S [--program P ...]` mints more):",
        *(f"  export {role.upper()}_TOKEN={token}" for role, token in tokens.items()),
        "",
        "Try:",
        f"  curl -s {url}/v1/openapi.json",
        f'  curl -s -H "Authorization: Bearer $ADMIN_TOKEN" -H "Content-Type: application/json" '
        f"-d '{program}' {url}/v1/programs",
        f'  curl -s -H "Authorization: Bearer $FINANCE_TOKEN" "{url}/v1/reviews?status=open"',
        f'  curl -s -H "Authorization: Bearer $CLIENT_TOKEN" '
        f"{url}/v1/programs/PROGRAM_ID/codes/CODE",
        "  rewards release --now 2030-01-01T00:00:00Z",
        "",
        "Routes:",
        *(f"  {route}" for route in routes),
        "",
        "Ctrl-C stops the stack.",
    ]
    return "\n".join(lines)


def _serve(args: argparse.Namespace) -> int:
    _configure_logging()
    from shared.local.stack import LocalStack
    from shared.local.template import http_routes, load_template

    root = repo_root()
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()
        # A second Ctrl-C while stopping interrupts the clean stop.
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack = LocalStack(root, port=args.port, state_dir=args.state_dir, engine=args.engine)
    stack.start()
    try:
        routes = [
            f"{r.route_key}  ->  {r.function}{'' if r.authorized else '  (no token)'}"
            for r in http_routes(load_template(root / "template.yaml"))
        ]
        print(_banner(stack.url, stack.moto_endpoint, root, routes, stack.engine), flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        print("Stopping the local stack...", flush=True)
        stack.stop()
    print("Stopped.", flush=True)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the local stack (API on 127.0.0.1, moto, pollers, scheduler)",
        description="Run the template's functions locally against a local moto server.",
    )
    serve.add_argument("--port", type=int, default=3000, help="gateway port (default 3000)")
    serve.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="keep table items and queued messages here across restarts (default: ephemeral)",
    )
    serve.add_argument(
        "--engine",
        choices=("embedded", "moto"),
        default="embedded",
        help=(
            "what serves the table: one in-process engine with DynamoDB semantics shared by "
            "every function (embedded, the default), or DynamoDB on moto (moto)"
        ),
    )
    serve.set_defaults(func=_serve)

    token = subparsers.add_parser(
        "token",
        help="print a dev bearer token for the local stack",
        description="Print a dev JWT, accepted by local stacks of this checkout, on the last line.",
    )
    token.add_argument("--role", action="append", required=True, choices=DEV_ROLES)
    token.add_argument("--sub", required=True, help="the token's subject (user id)")
    token.add_argument(
        "--program",
        action="append",
        default=None,
        metavar="PROGRAM_ID",
        help="limit the token to this program (repeatable); without it a client token "
        "reaches every program",
    )
    token.add_argument("--ttl-hours", type=float, default=24.0, help="validity (default 24)")
    token.set_defaults(func=_token)
