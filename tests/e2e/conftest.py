"""One local stack for the end-to-end suite, started from this checkout on a free port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.local.dev_tokens import mint_token
from shared.local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(root=ROOT, port=0, state_dir=tmp_path_factory.mktemp("stack")) as running:
        yield running


def token(*roles: str, sub: str = "e2e-user") -> str:
    return mint_token(list(roles), sub, root=ROOT)


class Client:
    """A caller holding one set of roles, talking to the stack over real HTTP."""

    def __init__(self, base: str, roles: tuple[str, ...], sub: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token(*roles, sub=sub)}"} if roles else {}
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.session.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=body, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, json=body, **kwargs)


MakeClient = Callable[..., Client]


@pytest.fixture(scope="session")
def client_for(stack: LocalStack) -> MakeClient:
    def make(*roles: str, sub: str = "e2e-user") -> Client:
        return Client(stack.url, roles, sub)

    return make
