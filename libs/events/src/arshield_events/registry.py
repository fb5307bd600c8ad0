"""From wire to model and back: type lookup, parsing with upcasting, serialization, headers.

`parse_event` is the one gate every consumer and the HTTP ingestion use: anything that is not a
valid current (or upcastable old) arshield event raises `EventRejected` with field paths, so the
caller can dead-letter it or answer with a problem document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn, TypedDict

from pydantic import ValidationError

from arshield_events import clock, credit, dunning, erp, external, insurance, ledger, legacy, risk
from arshield_events.envelope import CONTENT_TYPE, CloudEvent, Payload, envelope_class
from arshield_events.upcasters import UPCASTERS, UpcasterChain

MAX_EVENT_BYTES = 1_000_000


def _index(*groups: tuple[type[Payload], ...]) -> dict[str, type[Payload]]:
    table: dict[str, type[Payload]] = {}
    for group in groups:
        for cls in group:
            if cls.event_name in table:
                raise RuntimeError(f"two payload classes for {cls.event_name}")
            table[cls.event_name] = cls
    return table


EVENT_TYPES: Mapping[str, type[Payload]] = _index(
    erp.EVENTS,
    external.EVENTS,
    clock.EVENTS,
    ledger.EVENTS,
    credit.EVENTS,
    risk.EVENTS,
    dunning.EVENTS,
    insurance.EVENTS,
)
"""Every current event type and its payload class."""

LEGACY_EVENT_TYPES: Mapping[str, type[Payload]] = _index(legacy.EVENTS)
"""Old versions still accepted on read (upcast to current), with their payload class."""


def payload_class(event_type: str) -> type[Payload]:
    """The payload class of a current event type; KeyError for anything else."""
    return EVENT_TYPES[event_type]


def events_of_topic(topic: str) -> tuple[type[Payload], ...]:
    return tuple(cls for cls in EVENT_TYPES.values() if cls.topic == topic)


class ErrorDetail(TypedDict):
    loc: str
    """Dotted path into the event, e.g. `data.amount.amount` or `data.instalments.0.due_on`."""
    msg: str


class EventRejected(ValueError):  # noqa: N818 - reads as the fact it reports
    """The input is not a valid arshield event; `errors` say where and why."""

    def __init__(self, reason: str, errors: list[ErrorDetail] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors: list[ErrorDetail] = errors or []

    def __str__(self) -> str:
        others = [f"{error['loc'] or '<event>'}: {error['msg']}" for error in self.errors[1:]]
        return "; ".join([self.reason, *others])


def _reject(reason: str, loc: str = "", msg: str | None = None) -> NoReturn:
    raise EventRejected(reason, [{"loc": loc, "msg": msg or reason}])


# --- JSON decoding -------------------------------------------------------------------------------


_FLOAT_HELP = 'decimals travel as strings (e.g. "1234.50"), whole numbers without a decimal point'


class _JsonFloat(float):
    """A JSON number with a fraction or exponent, marked so it can be reported by path."""


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)  # built in C; a repeated key shows as a shorter dict
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return result


def _decode(raw: bytes | bytearray | memoryview | str) -> tuple[Any, bool]:
    """The parsed document, and whether it holds any JSON float (so clean ones skip the walk)."""
    if isinstance(raw, bytes | bytearray | memoryview):
        if len(raw) > MAX_EVENT_BYTES:
            _reject(f"event larger than {MAX_EVENT_BYTES} bytes")
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as error:
            _reject("event is not UTF-8", msg=str(error))
    else:
        text = raw
        if len(text) > MAX_EVENT_BYTES:
            _reject(f"event larger than {MAX_EVENT_BYTES} characters")
    floats: list[_JsonFloat] = []

    def parse_float(literal: str) -> _JsonFloat:
        number = _JsonFloat(literal)
        floats.append(number)
        return number

    try:
        document = json.loads(
            text,
            parse_float=parse_float,
            parse_constant=_refuse_constant,
            object_pairs_hook=_no_duplicate_keys,
        )
    except (json.JSONDecodeError, ValueError) as error:
        _reject("malformed JSON", msg=str(error))
    return document, bool(floats)


def _floats(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], float]]:
    if isinstance(value, float):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _floats(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _floats(item, (*path, index))


def _dotted(loc: tuple[str | int, ...] | list[str | int]) -> str:
    return ".".join(str(part) for part in loc)


def _pydantic_errors(error: ValidationError) -> list[ErrorDetail]:
    details: list[ErrorDetail] = []
    for item in error.errors(include_url=False):
        loc = item["loc"]
        # Tagged unions and function validators add their own names to the path; keep field names.
        path = [
            part for part in loc if not (isinstance(part, str) and part.startswith("function-"))
        ]
        msg = item["msg"].removeprefix("Value error, ")
        details.append({"loc": _dotted(path), "msg": msg})
    return details


# --- parsing -------------------------------------------------------------------------------------


def parse_event(
    raw: bytes | bytearray | memoryview | str | Mapping[str, Any],
    *,
    upcasters: UpcasterChain = UPCASTERS,
) -> CloudEvent[Any]:
    """A validated current-version event from a CloudEvents JSON document (or its parsed object).

    Old versions are upcast. JSON floats are refused wherever they appear: decimals travel as
    strings. Raises `EventRejected` with dotted field paths on any problem.
    """
    document, has_floats = (raw, True) if isinstance(raw, Mapping) else _decode(raw)
    if not isinstance(document, Mapping):
        _reject("an event is a JSON object", msg=f"got {type(document).__name__}")

    float_errors: list[ErrorDetail] = [
        {
            "loc": _dotted(path),
            "msg": f"JSON float {value!r} refused: {_FLOAT_HELP}",
        }
        for path, value in (_floats(document) if has_floats else ())
    ]

    event_type = document.get("type")
    if event_type is None:
        _reject("event has no type", loc="type", msg="Field required")
    if not isinstance(event_type, str):
        _reject("event type is not a string", loc="type", msg="Input should be a valid string")
    if (
        event_type not in EVENT_TYPES
        and event_type not in LEGACY_EVENT_TYPES
        and event_type not in upcasters
    ):
        _reject(
            f"unknown event type {event_type!r}",
            loc="type",
            msg=f"unknown event type {event_type!r}",
        )

    if event_type in upcasters:
        document = _upcast(document, event_type, upcasters, float_errors)
        event_type = document["type"]

    cls = EVENT_TYPES[event_type]
    try:
        event: CloudEvent[Any] = envelope_class(cls).model_validate(dict(document))
    except ValidationError as error:
        _raise_invalid(event_type, float_errors, _pydantic_errors(error))
    if float_errors:
        _raise_invalid(event_type, float_errors, [])
    return event


def _upcast(
    document: Mapping[str, Any],
    event_type: str,
    upcasters: UpcasterChain,
    float_errors: list[ErrorDetail],
) -> dict[str, Any]:
    old_cls = LEGACY_EVENT_TYPES.get(event_type)
    if old_cls is not None:
        # Validate in the old shape first so errors name the fields the sender actually sent.
        try:
            envelope_class(old_cls).model_validate(dict(document))
        except ValidationError as error:
            _raise_invalid(event_type, float_errors, _pydantic_errors(error))
    data = document.get("data")
    if not isinstance(data, Mapping):
        _reject(f"invalid {event_type}", loc="data", msg="Input should be an object")
    try:
        new_type, new_data = upcasters.upcast(event_type, data)
    except (KeyError, TypeError, ValueError) as error:
        _reject(f"cannot upcast {event_type}", loc="data", msg=f"{type(error).__name__}: {error}")
    if new_type not in EVENT_TYPES:
        _reject(f"{event_type} upcasts to unknown type {new_type}", loc="type")
    return {**document, "type": new_type, "data": new_data}


def _raise_invalid(
    event_type: str, float_errors: list[ErrorDetail], errors: list[ErrorDetail]
) -> NoReturn:
    # A float is reported once, with the clearer message, even if a field validator refused it too.
    float_locs = {error["loc"] for error in float_errors}
    merged = [*float_errors, *(error for error in errors if error["loc"] not in float_locs)]
    first = merged[0]
    raise EventRejected(f"invalid {event_type}: {first['loc']}: {first['msg']}", merged)


# --- writing -------------------------------------------------------------------------------------


def event_document(event: CloudEvent[Any]) -> dict[str, Any]:
    """The JSON object of `event`; absent optional envelope attributes are left out."""
    document = event.model_dump(mode="json")
    return {key: value for key, value in document.items() if value is not None}


def serialize_event(event: CloudEvent[Any]) -> bytes:
    """Compact UTF-8 JSON with sorted keys: the same event always gives the same bytes."""
    return json.dumps(
        event_document(event), separators=(",", ":"), sort_keys=True, ensure_ascii=False
    ).encode("utf-8")


def event_headers(event: CloudEvent[Any]) -> list[tuple[str, bytes]]:
    """Kafka headers repeating the routing attributes, so brokers' tools can filter unparsed."""
    return [
        ("ce_type", event.type.encode("utf-8")),
        ("ce_id", event.id.encode("utf-8")),
        ("ce_source", event.source.encode("utf-8")),
        ("ce_tenantid", event.tenantid.encode("utf-8")),
        ("content-type", CONTENT_TYPE.encode("ascii")),
    ]


def event_key(event: CloudEvent[Any]) -> bytes:
    """The Kafka record key (`tenant:buyer`, or the tenant alone for clock ticks)."""
    return event.key.encode("utf-8")
