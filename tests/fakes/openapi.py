"""Check an HTTP request (or response) against an OpenAPI 3.0 document, with ``jsonschema``.

    document = load_document(shared_dir / "providers" / "fly" / "openapi.json", strict=True)
    problems = validate_request(document, "POST", "/v1/apps/a/machines", {}, {"config": {}})
    assert problems == [] and problems.operation_id == "Machines_create"
    operation_id = check_request(document, "GET", "/v1/apps/a")  # or RequestInvalid

A document is given as a path (loaded once per process and ``strict``), a loaded :class:`Spec`
or the parsed JSON. :func:`validate_request` returns the list of problems (empty when the request
is valid) with the matched ``operationId`` as ``.operation_id``; :func:`check_request` returns the
``operationId`` or raises :class:`RequestInvalid` naming every problem; :func:`find_operation`
only matches; :func:`validate_response` checks an answer's JSON body against its response schema.
The checks:

- the method and path match one operation (a literal segment beats a ``{placeholder}``); the
  path may carry the path part of the document's ``servers`` URL (``/v1``) or not;
- path and query parameters validate against their schemas, values coerced to the declared type:
  unknown or missing required query parameters are problems (a ``metadata.{key}`` name matches any
  key); an array parameter with ``explode: false`` is one comma-separated value, with ``explode``
  (the default for ``form``) it repeats its key; required headers are checked when ``headers``
  is given;
- the JSON body validates against the ``requestBody`` schema; a required body must be there, and
  an operation without a JSON body takes none.

Every ``$ref`` resolves within the document, percent-encoded pointers (``~1%7Bid%7D``) included.
``strict=True`` also refuses properties a schema does not declare (catches misspelt keys).
Two readings of OpenAPI 3.0 that generated documents need: ``nullable: true`` admits ``null``;
and ``oneOf`` passes when the value is valid under an alternative that declares every property
it has. Generated alternatives rarely exclude each other (no ``additionalProperties: false``, no
discriminator), so a plain ``oneOf`` refuses valid bodies that match two of them, and a plain
``anyOf`` accepts anything a permissive alternative does.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from jsonschema import Draft4Validator, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
BASE_URI = "urn:openapi:spec"
JSON = "application/json"
_PLACEHOLDER = re.compile(r"\{[^}/]+\}")
_MAX_HOPS = 20


class RequestInvalid(AssertionError):
    """A request (or response) that the OpenAPI document does not allow."""


@dataclass(frozen=True)
class Operation:
    """One operation of the document: where it is, and what it takes."""

    id: str
    method: str
    template: str
    pointer: str  # JSON pointer to the operation object
    parameters: tuple[dict[str, Any], ...]
    body: dict[str, Any] | None  # a ``$ref`` to the JSON body's schema
    body_required: bool
    body_types: tuple[str, ...] = ()
    responses: dict[str, Any] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        """The ``operationId`` (same as ``id``)."""
        return self.id

    @property
    def label(self) -> str:
        """``METHOD /template``, the prefix of every problem found with this operation."""
        return f"{self.method} {self.template}"

    @property
    def literal_segments(self) -> int:
        """How many path segments are fixed text (more = a more specific match)."""
        return sum(1 for part in self.template.split("/") if part and not _PLACEHOLDER.search(part))


class Spec:
    """An OpenAPI document prepared for validation (operations indexed, schemas registered)."""

    def __init__(self, document: Mapping[str, Any], *, strict: bool = False) -> None:
        self.document = _prepare(copy.deepcopy(dict(document)), strict=strict)
        self.strict = strict
        resource = Resource.from_contents(self.document, default_specification=DRAFT4)
        self.registry: Registry[Any] = Registry().with_resource(BASE_URI, resource)
        self.prefixes = _server_prefixes(self.document)
        self.validator_class: Any = validators.extend(Draft4Validator, {"oneOf": self._one_of})
        self._validators: dict[str, Any] = {}
        self.operations = list(self._operations())

    def _operations(self) -> Iterator[Operation]:
        for template, raw in (self.document.get("paths") or {}).items():
            item, item_pointer = self.locate(raw, f"/paths/{_escape(template)}")
            shared = [self.resolve(p) for p in item.get("parameters") or []]
            for method in METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                pointer = f"{item_pointer}/{method}"
                merged = {(p.get("name"), p.get("in")): p for p in shared}
                for own in operation.get("parameters") or []:
                    parameter = self.resolve(own)
                    merged[(parameter.get("name"), parameter.get("in"))] = parameter
                body, body_pointer = self.locate(
                    operation.get("requestBody"), f"{pointer}/requestBody"
                )
                content = (body.get("content") or {}) if isinstance(body, dict) else {}
                json_type = _json_type(content)
                schema = None
                if json_type is not None and "schema" in content[json_type]:
                    where = f"{body_pointer}/content/{_escape(json_type)}/schema"
                    schema = {"$ref": _uri(where)}
                yield Operation(
                    id=str(operation.get("operationId") or f"{method.upper()} {template}"),
                    method=method.upper(),
                    template=template,
                    pointer=pointer,
                    parameters=tuple(merged.values()),
                    body=schema,
                    body_required=bool(isinstance(body, dict) and body.get("required")),
                    body_types=tuple(content),
                    responses=dict(operation.get("responses") or {}),
                )

    def resolve(self, node: Any) -> Any:
        """``node`` with ``$ref``s followed (a reference string is looked up too)."""
        if isinstance(node, str):
            node = {"$ref": node}
        return self.locate(node, "")[0]

    def locate(self, node: Any, pointer: str) -> tuple[Any, str]:
        """``node`` (found at ``pointer``) with ``$ref``s followed, and the pointer it ends at."""
        for _ in range(_MAX_HOPS):
            if not (isinstance(node, Mapping) and "$ref" in node):
                break
            pointer = _ref_pointer(str(node["$ref"]))
            node = _node_at(self.document, pointer)
        return node, pointer

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """The operation for ``method`` and ``path``, and the path parameters' values."""
        path = urlsplit(path).path
        methods_seen: set[str] = set()
        for variant in self._variants(path):
            candidates: list[tuple[Operation, dict[str, str]]] = []
            for operation in self.operations:
                values = _match_template(operation.template, variant)
                if values is None:
                    continue
                methods_seen.add(operation.method)
                if operation.method == method.upper():
                    candidates.append((operation, values))
            if candidates:
                return max(candidates, key=lambda c: c[0].literal_segments)
        if methods_seen:
            allowed = ", ".join(sorted(methods_seen))
            raise RequestInvalid(f"{method.upper()} {path}: method not allowed (only {allowed})")
        raise RequestInvalid(f"{method.upper()} {path}: no operation has this path")

    def _variants(self, path: str) -> list[str]:
        """``path`` without the servers' path prefix first, then as given, then with it."""
        inside = [path.startswith(prefix + "/") for prefix in self.prefixes]
        stripped = [path[len(p) :] for p, i in zip(self.prefixes, inside, strict=True) if i]
        prefixed = [p + path for p, i in zip(self.prefixes, inside, strict=True) if not i]
        return [*stripped, path, *prefixed]

    def validator(self, schema: Mapping[str, Any]) -> Any:
        """A validator for ``schema`` whose references resolve in this document."""
        key = json.dumps(schema, sort_keys=True, default=str)
        found = self._validators.get(key)
        if found is None:
            found = self.validator_class(dict(schema), registry=self.registry)
            self._validators[key] = found
        return found

    def _one_of(
        self, validator: Any, alternatives: Any, instance: Any, schema: Any
    ) -> Iterator[ValidationError]:
        """``oneOf`` read as: valid under an alternative that declares every property given."""
        found: list[ValidationError] = []
        for index, alternative in enumerate(alternatives):
            errors = list(validator.descend(instance, alternative, schema_path=index))
            if not errors:
                undeclared = self._undeclared(alternative, instance)
                if not undeclared:
                    return
                errors = [ValidationError(f"{sorted(undeclared)} not declared by alternative")]
            found.extend(errors)
        yield ValidationError(
            f"{instance!r} is not valid under any of the given schemas", context=found
        )

    def _undeclared(self, alternative: Any, instance: Any) -> set[str]:
        if not isinstance(instance, Mapping):
            return set()
        declared = self._declared(self.resolve(alternative))
        return set() if declared is None else set(instance) - declared

    def _declared(self, schema: Any) -> set[str] | None:
        """The property names an object schema declares (None: it admits any)."""
        if not isinstance(schema, Mapping) or schema.get("additionalProperties"):
            return None
        parts = [self.resolve(p) for p in schema.get("allOf") or []]
        if "properties" not in schema and not parts:
            return None
        names = set(schema.get("properties") or {})
        for part in parts:
            more = self._declared(part)
            if more is None:
                return None
            names |= more
        return names


class Problems(list[str]):
    """What is wrong with a request (empty: nothing), and the operation it was matched to."""

    operation_id: str | None = None


SpecLike = Spec | Mapping[str, Any] | Path | str


def load_document(spec: SpecLike, *, strict: bool = False) -> Spec:
    """A :class:`Spec` for a file path (prepared once per process and ``strict``), a parsed
    document, or a loaded one (returned as it is)."""
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, Path | str):
        return _load(str(Path(spec).resolve()), strict)
    return Spec(spec, strict=strict)


@cache
def _load(path: str, strict: bool) -> Spec:
    return Spec(json.loads(Path(path).read_text()), strict=strict)


def find_operation(spec: SpecLike, method: str, path: str) -> Operation | None:
    """The operation ``method path`` calls, or None when the document has none."""
    try:
        return load_document(spec).match(method, path)[0]
    except RequestInvalid:
        return None


def validate_request(
    spec: SpecLike,
    method: str,
    path: str,
    query: Mapping[str, Any] | None = None,
    body: Any = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> Problems:
    """Every problem of ``method path`` (with ``query`` and JSON ``body``); empty when valid.

    ``query`` maps names to a value or a list of values (``parse_qs`` form); ``body`` is the
    decoded JSON (None: no body); ``headers``, when given, are checked for required ones.
    """
    prepared = load_document(spec)
    problems = Problems()
    try:
        operation, path_values = prepared.match(method, path)
    except RequestInvalid as error:
        problems.append(str(error))
        return problems
    problems.operation_id = operation.id
    label = operation.label
    given = {str(k): _as_list(v) for k, v in (query or {}).items()}
    lowered = {k.lower() for k in (headers or {})}
    for parameter in operation.parameters:
        name, where = str(parameter.get("name")), parameter.get("in")
        if where == "path":
            value = path_values.get(name)
            if not value:
                problems.append(f"{label}: path parameter {name!r} is missing or empty")
            else:
                problems.extend(_check_parameter(prepared, label, parameter, name, [value]))
        elif where == "query":
            keys = [k for k in given if _param_matches(name, k)]
            if parameter.get("required") and not keys:
                problems.append(f"{label}: required query parameter {name!r} is missing")
            for key in keys:
                problems.extend(_check_parameter(prepared, label, parameter, key, given[key]))
        elif (
            where == "header"
            and headers is not None
            and parameter.get("required")
            and name.lower() not in lowered
        ):
            problems.append(f"{label}: required header {name!r} is missing")
    declared = [str(p.get("name")) for p in operation.parameters if p.get("in") == "query"]
    for key in given:
        if not any(_param_matches(name, key) for name in declared):
            problems.append(f"{label}: query parameter {key!r} is not declared")
    problems.extend(_check_body(prepared, operation, body))
    return problems


def check_request(
    spec: SpecLike,
    method: str,
    path: str,
    query: Mapping[str, Any] | None = None,
    body: Any = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> str:
    """The ``operationId`` that the request calls; :class:`RequestInvalid` lists any problem."""
    problems = validate_request(spec, method, path, query, body, headers=headers)
    if problems or problems.operation_id is None:
        name = problems.operation_id or "no operation"
        raise RequestInvalid(f"{name} ({method.upper()} {path}): " + "; ".join(problems))
    return problems.operation_id


def validate_response(spec: SpecLike, operation_id: str, status: int, body: Any) -> list[str]:
    """Every problem of an answer's JSON ``body`` for ``status`` (empty when it fits)."""
    prepared = load_document(spec)
    operation = next((o for o in prepared.operations if o.id == operation_id), None)
    if operation is None:
        return [f"no operation {operation_id!r}"]
    keys = (str(status), f"{str(status)[0]}XX", "default")
    key = next((k for k in keys if k in operation.responses), None)
    if key is None:
        return [f"{operation_id}: status {status} is not a documented answer"]
    response, pointer = prepared.locate(
        operation.responses[key], f"{operation.pointer}/responses/{_escape(key)}"
    )
    content = response.get("content") or {}
    json_type = _json_type(content)
    if json_type is None or "schema" not in content[json_type]:
        return []  # no schema: anything goes (several Fly answers are declared `content: {}`)
    schema = {"$ref": _uri(f"{pointer}/content/{_escape(json_type)}/schema")}
    return _schema_problems(prepared, schema, body, f"{operation_id} {status}: response")


# internals ----------------------------------------------------------------------------------
def _escape(text: str) -> str:
    return text.replace("~", "~0").replace("/", "~1")


def _uri(pointer: str) -> str:
    """The absolute reference to a (decoded) JSON pointer of the document."""
    return f"{BASE_URI}#{quote(pointer, safe='/~')}"


def _ref_pointer(ref: str) -> str:
    """The decoded JSON pointer of a local reference (``#/a~1%7Bb%7D`` -> ``/a~1{b}``)."""
    return unquote(ref.removeprefix(BASE_URI).split("#", 1)[-1])


def _node_at(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _json_type(content: Mapping[str, Any]) -> str | None:
    if JSON in content:
        return JSON
    return next((t for t in content if "json" in t), None)


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _server_prefixes(document: Mapping[str, Any]) -> list[str]:
    prefixes = []
    for server in document.get("servers") or []:
        path = urlsplit(str(server.get("url") or "")).path.rstrip("/")
        if path:
            prefixes.append(path)
    return prefixes


def _match_template(template: str, path: str) -> dict[str, str] | None:
    wanted = template.strip("/").split("/")
    actual = path.strip("/").split("/")
    if len(wanted) != len(actual):
        return None
    values: dict[str, str] = {}
    for pattern, part in zip(wanted, actual, strict=True):
        names = _PLACEHOLDER.findall(pattern)
        if not names:
            if pattern != part:
                return None
            continue
        pieces = re.split(r"(\{[^}/]+\})", pattern)
        regex = "".join("([^/]+)" if p in names else re.escape(p) for p in pieces)
        found = re.fullmatch(regex, part)
        if found is None:
            return None
        for name, value in zip(names, found.groups(), strict=True):
            values[name.strip("{}")] = unquote(value)
    return values


def _param_matches(declared: str, given: str) -> bool:
    if "{" not in declared:
        return declared == given
    pieces = re.split(r"(\{[^}/]+\})", declared)
    regex = "".join(".+" if _PLACEHOLDER.fullmatch(p) else re.escape(p) for p in pieces)
    return re.fullmatch(regex, given) is not None


def _coerce(value: str, schema: Mapping[str, Any]) -> Any:
    """A query or path string as the declared scalar type (left as is when it does not parse)."""
    kind = schema.get("type")
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _check_parameter(
    spec: Spec, label: str, parameter: Mapping[str, Any], key: str, values: list[str]
) -> list[str]:
    """A path or query parameter's values (form style for a query, simple for a path)."""
    where = parameter.get("in")
    what = f"{label}: {where} parameter {key!r}"
    schema = spec.resolve(parameter.get("schema") or {})
    if not schema:
        return []
    instance: Any
    if schema.get("type") == "array":
        style = parameter.get("style", "form" if where == "query" else "simple")
        if not parameter.get("explode", style == "form"):
            if len(values) > 1:
                return [f"{what} takes one comma-separated value (a,b), not a repeated key"]
            values = values[0].split(",") if values[0] else []
        items = spec.resolve(schema.get("items") or {})
        instance = [_coerce(v, items) for v in values]
    else:
        if len(values) > 1:
            return [f"{what} is given {len(values)} times"]
        instance = _coerce(values[0], schema)
    return _schema_problems(spec, schema, instance, what)


def _check_body(spec: Spec, operation: Operation, body: Any) -> list[str]:
    label = operation.label
    if body is None:
        return [f"{label}: the request body is required"] if operation.body_required else []
    if operation.body is None:
        if operation.body_types:
            return [f"{label}: the body is not one of {sorted(operation.body_types)}"]
        return [f"{label}: the operation takes no request body"]
    return _schema_problems(spec, operation.body, body, f"{label}: body")


def _schema_problems(spec: Spec, schema: Mapping[str, Any], value: Any, what: str) -> list[str]:
    errors = spec.validator(schema).iter_errors(value)
    ordered = sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{what}{_where(e.absolute_path)}: {e.message}" for e in ordered]


def _where(path: Any) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _prepare(node: Any, *, strict: bool) -> Any:
    """OpenAPI 3.0 schema dialect -> JSON Schema draft 4: ``nullable``, absolute ``$ref``s,
    and (``strict``) no undeclared properties."""
    if isinstance(node, list):
        return [_prepare(item, strict=strict) for item in node]
    if not isinstance(node, dict):
        return node
    prepared = {key: _prepare(value, strict=strict) for key, value in node.items()}
    ref = prepared.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        prepared["$ref"] = BASE_URI + ref  # resolvable from any subschema validated alone
    if prepared.pop("nullable", False) is True:
        kind = prepared.get("type")
        if isinstance(kind, str):
            prepared["type"] = [kind, "null"]
        if isinstance(prepared.get("enum"), list) and None not in prepared["enum"]:
            prepared["enum"] = [*prepared["enum"], None]
    if (
        strict
        and isinstance(prepared.get("properties"), dict)
        and "additionalProperties" not in prepared
        and not any(key in prepared for key in ("allOf", "anyOf", "oneOf", "discriminator"))
    ):
        prepared["additionalProperties"] = False
    return prepared
