"""Reading the SAM template: the parts moto cannot create (routes, authorizer, schedules)
and the parts the local stack needs before deployment (code directories, handlers)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

FUNCTION_TYPE = "AWS::Serverless::Function"
HTTP_API_TYPE = "AWS::Serverless::HttpApi"


class TemplateError(ValueError):
    """The template asks for something the local stack cannot provide."""


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns short-form intrinsics (`!Ref X`) into their long form."""


def _construct_intrinsic(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise TemplateError(f"no template at {path}")
    with path.open() as fh:
        # _CfnLoader is a SafeLoader subclass that only adds the intrinsic-function tags.
        document = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506  # nosec B506
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path} has no Resources section")
    return document


def parameter_default(template: dict[str, Any], name: str) -> str | None:
    parameter = template.get("Parameters", {}).get(name)
    if not parameter or "Default" not in parameter:
        return None
    return str(parameter["Default"])


def _ref_target(value: Any) -> str | None:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return str(value["Ref"])
    return None


@dataclass(frozen=True)
class FunctionSource:
    """Where a function's handler lives on disk."""

    logical_id: str
    code_dir: Path
    handler: str

    @property
    def handler_file(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_dir / (module.replace(".", "/") + ".py")

    @property
    def handler_attribute(self) -> str:
        return self.handler.rpartition(".")[2]


def _function_property(template: dict[str, Any], resource: dict[str, Any], name: str) -> Any:
    properties = resource.get("Properties") or {}
    if name in properties:
        return properties[name]
    return (template.get("Globals") or {}).get("Function", {}).get(name)


def serverless_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == FUNCTION_TYPE
    }


def function_sources(template: dict[str, Any], root: Path) -> dict[str, FunctionSource]:
    sources = {}
    for logical_id, resource in serverless_functions(template).items():
        code_uri = _function_property(template, resource, "CodeUri")
        handler = _function_property(template, resource, "Handler")
        if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
            raise TemplateError(f"{logical_id}: the local stack needs a local CodeUri directory")
        if not isinstance(handler, str) or "." not in handler:
            raise TemplateError(f"{logical_id}: Handler must look like 'module.function'")
        sources[logical_id] = FunctionSource(logical_id, (root / code_uri).resolve(), handler)
    return sources


@dataclass(frozen=True)
class Route:
    """One HttpApi event: `routeKey` is what API Gateway puts in the event."""

    method: str
    path: str
    function: str
    authorized: bool
    scopes: tuple[str, ...] = ()

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


def _default_authorizer(template: dict[str, Any], api_id: Any) -> str | None:
    api_logical_id = _ref_target(api_id)
    api: dict[str, Any] = {}
    if api_logical_id:
        resource = template["Resources"].get(api_logical_id, {})
        if resource.get("Type") == HTTP_API_TYPE:
            api = resource.get("Properties") or {}
    else:
        api = (template.get("Globals") or {}).get("HttpApi") or {}
    default = (api.get("Auth") or {}).get("DefaultAuthorizer")
    return str(default) if default else None


def http_routes(template: dict[str, Any]) -> list[Route]:
    routes = []
    for logical_id, resource in serverless_functions(template).items():
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            properties = event.get("Properties") or {}
            method = str(properties.get("Method", "ANY")).upper()
            if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
                method = "ANY"
            path = str(properties.get("Path", "$default"))
            auth = properties.get("Auth") or {}
            authorizer = auth.get("Authorizer") or _default_authorizer(
                template, properties.get("ApiId")
            )
            scopes = tuple(str(s) for s in auth.get("AuthorizationScopes") or ())
            routes.append(Route(method, path, logical_id, authorizer not in (None, "NONE"), scopes))
    return routes


@dataclass(frozen=True)
class ScheduleSource:
    """One Schedule / ScheduleV2 event of a function."""

    function: str
    event_name: str
    event_type: str
    expression: str
    timezone: str | None
    input: str | None

    @property
    def resource_logical_id(self) -> str:
        # SAM names the generated rule or schedule after the function and the event.
        return f"{self.function}{self.event_name}"


def _enabled(properties: dict[str, Any]) -> bool:
    if properties.get("Enabled") is False:
        return False
    return str(properties.get("State", "ENABLED")).upper() != "DISABLED"


def schedules(template: dict[str, Any]) -> list[ScheduleSource]:
    found = []
    for logical_id, resource in serverless_functions(template).items():
        events = (resource.get("Properties") or {}).get("Events") or {}
        for event_name, event in events.items():
            event_type = event.get("Type")
            if event_type not in ("Schedule", "ScheduleV2"):
                continue
            properties = event.get("Properties") or {}
            key = "Schedule" if event_type == "Schedule" else "ScheduleExpression"
            expression = properties.get(key)
            if not isinstance(expression, str):
                logger.warning("%s.%s: schedule is not a literal string; skipped", logical_id, key)
                continue
            if not _enabled(properties):
                continue
            timezone = properties.get("ScheduleExpressionTimezone")
            raw_input = properties.get("Input")
            found.append(
                ScheduleSource(
                    function=logical_id,
                    event_name=event_name,
                    event_type=event_type,
                    expression=expression,
                    timezone=str(timezone) if timezone else None,
                    input=raw_input if isinstance(raw_input, str) else None,
                )
            )
    return found
