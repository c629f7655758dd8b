"""The route catalogue, template.yaml and the OpenAPI document describe the same API."""

from __future__ import annotations

from pathlib import Path

from shared.http.catalogue import ROUTES, RouteSpec, undeclared_client_routes
from shared.http.openapi import document
from shared.http.scope import LOOKUPS
from shared.local.template import http_routes, load_template

ROOT = Path(__file__).resolve().parents[2]


def _template_routes() -> set[tuple[str, str]]:
    template = load_template(ROOT / "template.yaml")
    return {(r.method.upper(), r.path) for r in http_routes(template)}


def test_every_catalogued_route_is_deployed_and_every_deployed_api_route_is_catalogued() -> None:
    catalogued = {(r.method, r.path) for r in ROUTES}
    deployed = {(m, p) for m, p in _template_routes() if p.startswith("/v1/")}
    assert catalogued == deployed


def test_only_the_openapi_document_is_public() -> None:
    public = [r.path for r in ROUTES if not r.roles]
    assert public == ["/v1/openapi.json"]


def test_openapi_document_has_an_operation_per_route() -> None:
    paths = document()["paths"]
    assert {(m.upper(), p) for p, ops in paths.items() for m in ops} == {
        (r.method, r.path) for r in ROUTES
    }


def test_every_post_patch_and_delete_operation_documents_the_idempotency_key_header() -> None:
    paths = document()["paths"]
    for route in ROUTES:
        operation = paths[route.path][route.method.lower()]
        headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        expected = ["Idempotency-Key"] if route.method in ("POST", "PATCH", "DELETE") else []
        assert headers == expected, route.key


def test_every_client_route_declares_how_its_program_is_found() -> None:
    assert undeclared_client_routes(ROUTES) == []


def test_every_program_declaration_names_a_parameter_or_field_the_route_has() -> None:
    for route in ROUTES:
        where = route.program
        if where is None:
            continue
        if where.source in ("path", *LOOKUPS):
            assert f"{{{where.name}}}" in route.path, route.key
        elif where.source == "body":
            assert route.request is not None and where.name in route.request.model_fields
        else:
            assert where.source == "query", route.key
            assert route.query is not None and where.name in route.query.model_fields


def test_a_client_route_without_a_declaration_fails_the_catalogue_check() -> None:
    route = RouteSpec("POST", "/v1/things/{thing_id}", frozenset({"client"}), "A new thing")

    assert undeclared_client_routes((*ROUTES, route)) == [route.key]
