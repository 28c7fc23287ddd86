"""What every handler shares: app keys, reading bodies and query parameters, and writing responses with the
headers of section 1.3 (ETag, Last-Modified, DataServiceId)."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from aiohttp import web

from batch_service.api import odata
from batch_service.backend import errors
from batch_service.backend.account import Backend
from batch_service.backend.conditions import Conditions
from batch_service.backend.ids import rfc1123, ticks_from_iso
from batch_service.faults import FaultInjector
from batch_service.settings import Settings

API_VERSION = "2025-06-01"
MAX_BODY_BYTES = 1024 * 1024  # section 2.5: bodies must be under 1 MB
JSON_TYPE = "application/json"

BACKEND = web.AppKey("backend", Backend)
SETTINGS = web.AppKey("settings", Settings)
FAULTS = web.AppKey("faults", FaultInjector)


def backend(request: web.Request) -> Backend:
    """The backend behind this app."""
    return request.app[BACKEND]


def base_url(request: web.Request) -> str:
    """The endpoint the service announced, e.g. http://127.0.0.1:PORT."""
    return request.app[SETTINGS].endpoint


def query(request: web.Request, name: str) -> str | None:
    """A query parameter by name, case-insensitively (the SDK sends `timeOut`, others `timeout`)."""
    wanted = name.lower()
    for key, value in request.query.items():
        if key.lower() == wanted:
            return value
    return None


def query_flag(request: web.Request, name: str) -> bool:
    """A boolean query parameter (`force`, `recursive`); absent is false."""
    value = query(request, name)
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise errors.invalid_query_value(name, "Expected true or false.")
    return value.lower() == "true"


def conditions(request: web.Request) -> Conditions:
    """The conditional headers of the request (section 1.4)."""
    return Conditions.from_headers(request.headers)


async def read_json(request: web.Request, *, required: bool = True) -> Any:
    """The JSON body; 413 at 1 MB or more, 400 InvalidRequestBody when it is not JSON."""
    raw = await request.read()
    if len(raw) >= MAX_BODY_BYTES:
        raise errors.request_body_too_large(MAX_BODY_BYTES)
    if not raw.strip():
        if required:
            raise errors.invalid_request_body("The request body is empty.")
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise errors.invalid_request_body("The request body is not valid JSON.") from None


def render(model: Mapping[str, Any], base: str) -> dict[str, Any]:
    """A stored model as the API returns it: `url` made absolute."""
    result = dict(model)
    if "url" in result:
        result["url"] = base + result["url"]
    return result


def resource_headers(model: Mapping[str, Any], base: str, *, data_service_id: bool = True) -> dict[str, str]:
    """ETag (quoted), Last-Modified and DataServiceId of one resource (section 1.3)."""
    headers = {"ETag": f'"{model["eTag"]}"',
               "Last-Modified": rfc1123(ticks_from_iso(model["lastModified"]))}
    if data_service_id:
        headers["DataServiceId"] = base + model["url"]
    return headers


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON response with Content-Type application/json."""
    return web.Response(status=status, body=json.dumps(body).encode("utf-8"), content_type=JSON_TYPE,
                        headers=dict(headers or {}))


def empty_response(status: int, headers: Mapping[str, str] | None = None) -> web.Response:
    """A response without a body (201/202/204 and 200 on update)."""
    return web.Response(status=status, headers=dict(headers or {}))


StatsOf = Callable[[Mapping[str, Any]], "Mapping[str, Any] | None"]


def wants_stats(request: web.Request) -> bool:
    """Whether `$expand` asks for `stats` (sections 1.5, 5.1)."""
    names = odata.parse_select(query(request, "$expand")) or ()
    return any(name.lower() == "stats" for name in names)


def _with_stats(model: Mapping[str, Any], stats_of: StatsOf | None) -> Mapping[str, Any]:
    found = stats_of(model) if stats_of is not None else None
    return {**model, "stats": found} if found else model


def entity_response(request: web.Request, model: Mapping[str, Any], metadata: str,
                    stats_of: StatsOf | None = None) -> web.Response:
    """200 with one resource (honouring $select, and $expand=stats when `stats_of` measures it), its headers
    and `odata.metadata`."""
    base = base_url(request)
    names = odata.parse_select(query(request, "$select"))
    shown = _with_stats(model, stats_of if wants_stats(request) else None)
    body = {"odata.metadata": f"{base}/$metadata#{metadata}/@Element", **odata.select(render(shown, base), names)}
    return json_response(body, headers=resource_headers(model, base))


@dataclass(frozen=True)
class ListQuery:
    """maxresults, $filter, $select and $skiptoken of a list operation (section 1.5)."""

    max_results: int
    predicate: odata.Predicate | None
    select: tuple[str, ...] | None
    after: int | None

    @classmethod
    def parse(cls, request: web.Request) -> ListQuery:
        """Read and check the list parameters; 400 for a bad value."""
        raw_max = query(request, "maxresults")
        max_results = odata.MAX_RESULTS
        if raw_max is not None:
            if not raw_max.strip().lstrip("-").isdigit():
                raise errors.invalid_query_value("maxresults", "Expected an integer.")
            max_results = int(raw_max)
            if not 1 <= max_results <= odata.MAX_RESULTS:
                raise errors.query_value_out_of_range("maxresults", "maxresults must be from 1 to 1000.")
        try:
            predicate = odata.compile_filter(query(request, "$filter"))
        except odata.FilterError as exc:
            raise errors.invalid_query_value("$filter", str(exc)) from None
        token = query(request, "$skiptoken")
        if token is not None and not token.isdigit():
            raise errors.invalid_query_value("$skiptoken", "Use the odata.nextLink of the previous page.")
        return cls(max_results, predicate, odata.parse_select(query(request, "$select")),
                   int(token) if token is not None else None)


def next_link(request: web.Request, token: int | str, keep: Iterable[str]) -> str:
    """The odata.nextLink of a list: same path and parameters, plus $skiptoken."""
    params = [("api-version", API_VERSION)]
    params += [(name, value) for name in keep if (value := query(request, name)) is not None]
    params.append(("$skiptoken", str(token)))
    encoded = urlencode(params, quote_via=quote, safe="$")
    return f"{base_url(request)}{request.rel_url.raw_path}?{encoded}"


Items = Iterable[tuple[int, Mapping[str, Any]]]


def list_response(request: web.Request, items: Items | Callable[[int | None], Items], metadata: str,
                  stats_of: StatsOf | None = None) -> web.Response:
    """One page of a list of pools, jobs, tasks or nodes (with $expand=stats when `stats_of` is given).
    `items` may be a function of the $skiptoken's sequence number that starts there (tasks do: a page is then
    found without walking the tasks before it). Only the page's items are rendered, each with only the
    properties $select names, and the page is encoded by orjson in one pass."""
    spec = ListQuery.parse(request)
    found = items(spec.after) if callable(items) else items
    chosen, token = odata.page(found, spec.predicate, spec.max_results, spec.after)
    base = base_url(request)
    expand = stats_of if wants_stats(request) else None
    if expand is not None:
        chosen = [_with_stats(model, expand) for model in chosen]
    body: dict[str, Any] = {"odata.metadata": f"{base}/$metadata#{metadata}",
                            "value": odata.select_page(chosen, spec.select, base)}
    if token is not None:
        body["odata.nextLink"] = next_link(request, token, ("maxresults", "$filter", "$select", "$expand"))
    return web.Response(status=200, body=orjson.dumps(body), content_type=JSON_TYPE)
