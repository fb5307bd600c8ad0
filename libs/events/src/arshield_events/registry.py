"""From wire to model and back: type lookup, parsing with upcasting, serialization, headers.

`parse_event` is the one gate every consumer and the HTTP ingestion use: anything that is not a
valid current (or upcastable old) arshield event raises `EventRejected` with field paths, so the
caller can dead-letter it or answer with a problem document.

Over 400 lines for a reason: the decoder's guards (duplicate keys, floats, depth), the upcasters
and the error paths are one gate, and splitting them would let a path bypass a guard.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn, TypedDict

import orjson
from pydantic import ValidationError

from arshield_events import clock, credit, dunning, erp, external, insurance, ledger, legacy, risk
from arshield_events.envelope import CONTENT_TYPE, CloudEvent, Payload, envelope_class
from arshield_events.fields import (
    CONTROL_CHARACTERS,
    ID_PATTERN,
    SHORT_TEXT_PATTERN,
    TEXT_PATTERN,
)
from arshield_events.upcasters import UPCASTERS, UpcasterChain

MAX_EVENT_BYTES = 1_000_000
MAX_DEPTH = 64
"""Deepest nesting of JSON arrays and objects accepted (an event needs about five levels)."""
MAX_BATCH_EVENTS = 1000
MAX_BATCH_BYTES = 8_000_000
"""A batch body's size limit in `parse_events` (an HTTP server's body limit is usually lower)."""
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
_MAX_REPORTED_ERRORS = 100


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
        # The reason usually repeats the first error; say every error the reason does not hold.
        others = [
            f"{error['loc'] or '<event>'}: {error['msg']}"
            for error in self.errors
            if error["msg"] not in self.reason
        ]
        return "; ".join([self.reason, *others])


class MalformedJson(EventRejected):
    """The input is not acceptable JSON at all: not UTF-8, a syntax error, a repeated key, a NaN,
    nested deeper than `MAX_DEPTH`, or too large. HTTP answers 400 rather than 422."""


def _reject(reason: str, loc: str = "", msg: str | None = None) -> NoReturn:
    raise EventRejected(reason, [{"loc": loc, "msg": msg or reason}])


def _malformed(reason: str, msg: str | None = None) -> NoReturn:
    raise MalformedJson(reason, [{"loc": "", "msg": msg or reason}])


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


def _decode(
    raw: bytes | bytearray | memoryview | str, max_bytes: int = MAX_EVENT_BYTES
) -> tuple[Any, bool]:
    """The parsed document, and whether it holds any JSON float (so clean ones skip the walk)."""
    if isinstance(raw, bytes | bytearray | memoryview):
        if len(raw) > max_bytes:
            _malformed(f"event larger than {max_bytes} bytes")
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as error:
            _malformed("event is not UTF-8", msg=str(error))
    else:
        text = raw
        if len(text) > max_bytes:
            _malformed(f"event larger than {max_bytes} characters")
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
    except RecursionError:
        _too_deep()
    except (json.JSONDecodeError, ValueError) as error:
        _malformed("malformed JSON", msg=str(error))
    # Nesting deeper than MAX_DEPTH needs more than MAX_DEPTH opening brackets: counting them runs
    # in C, so a usual event never pays for the walk.
    if text.count("[") + text.count("{") > MAX_DEPTH:
        _check_depth(document)
    return document, bool(floats)


def _too_deep() -> NoReturn:
    _malformed(
        f"JSON nested deeper than {MAX_DEPTH} levels", msg=f"at most {MAX_DEPTH} levels of nesting"
    )


def _check_depth(document: Any) -> None:
    """Raise MalformedJson when arrays and objects nest deeper than MAX_DEPTH (no recursion)."""
    level: list[Any] = [document]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return
    _too_deep()


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


_PATTERN_HELP = {
    ID_PATTERN: "must be printable text without whitespace or control characters",
    TEXT_PATTERN: "must not be blank nor hold control characters (tab and line breaks are fine)",
    SHORT_TEXT_PATTERN: "must be one line of text, not blank, without control characters",
}


def _pattern_message(item: Any) -> str:
    """A pattern mismatch in words, naming the control character if that is what failed."""
    value = item.get("input")
    found = CONTROL_CHARACTERS.search(value) if isinstance(value, str) else None
    pattern = item.get("ctx", {}).get("pattern")
    help_ = _PATTERN_HELP.get(pattern, f"must match {pattern}")
    if found is not None:
        return f"control character U+{ord(found.group()):04X} at index {found.start()}: {help_}"
    return str(help_)


def _pydantic_errors(error: ValidationError) -> list[ErrorDetail]:
    details: list[ErrorDetail] = []
    for item in error.errors(include_url=False):
        loc = item["loc"]
        # Tagged unions and function validators add their own names to the path; keep field names.
        path = [
            part for part in loc if not (isinstance(part, str) and part.startswith("function-"))
        ]
        if item["type"] == "string_pattern_mismatch":
            msg = _pattern_message(item)
        elif item["type"] == "string_unicode":
            msg = "text holds an unpaired UTF-16 surrogate (\\ud800-\\udfff), not valid Unicode"
        else:
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
    if isinstance(raw, Mapping):
        _check_depth(raw)
        return _validate(raw, True, upcasters)
    document, has_floats = _decode(raw)
    if not isinstance(document, Mapping):
        _reject("an event is a JSON object", msg=f"got {_json_kind(document)}")
    return _validate(document, has_floats, upcasters)


def _validate(
    document: Mapping[str, Any], has_floats: bool, upcasters: UpcasterChain
) -> CloudEvent[Any]:

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


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    kinds = {dict: "an object", list: "an array", str: "a string", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def parse_events(
    raw: bytes | bytearray | memoryview | str,
    *,
    batch: bool | None = None,
    max_events: int = MAX_BATCH_EVENTS,
    max_bytes: int | None = None,
    upcasters: UpcasterChain = UPCASTERS,
) -> list[CloudEvent[Any]]:
    """The validated events of one JSON body, in order, decoded once by `parse_event`'s rules.

    `batch=False`: the body is one event object; `batch=True`: a CloudEvents JSON batch (an array
    of 1 to `max_events` event objects); `None`: whichever the body's shape is. Every item is
    validated and problems are reported together (up to 100), each `loc` prefixed with the item's
    index (`[3].data.amount`). Two items with the same `source` and `id` but different content
    are refused, naming both positions: consumers keep one event per source and id, so the other
    would be lost silently. Exact repeats are kept; the caller may publish them once.

    The body may hold `max_bytes` (default `MAX_EVENT_BYTES` for one event, `MAX_BATCH_BYTES`
    otherwise). Raises `MalformedJson` (an `EventRejected`) when the body is not acceptable JSON
    and `EventRejected` for anything else.
    """
    if max_bytes is None:
        max_bytes = MAX_EVENT_BYTES if batch is False else MAX_BATCH_BYTES
    document, has_floats = _decode(raw, max_bytes)
    if batch is None:
        batch = isinstance(document, list)
    if not batch:
        if not isinstance(document, Mapping):
            hint = f"; a batch is {BATCH_CONTENT_TYPE}" if isinstance(document, list) else ""
            _reject(
                "expected one event (a JSON object)",
                msg=f"got {_json_kind(document)}{hint}",
            )
        return [_validate(document, has_floats, upcasters)]
    if not isinstance(document, list):
        _reject("a batch is a JSON array of events", msg=f"got {_json_kind(document)}")
    if not 1 <= len(document) <= max_events:
        _reject(f"a batch holds 1 to {max_events} events, got {len(document)}")
    events: dict[int, CloudEvent[Any]] = {}
    errors: list[ErrorDetail] = []
    first: dict[tuple[str, str], int] = {}
    for index, item in enumerate(document):
        if not isinstance(item, Mapping):
            kind = _json_kind(item)
            errors.append({"loc": f"[{index}]", "msg": f"an event is a JSON object, not {kind}"})
            continue
        try:
            event = _validate(item, has_floats, upcasters)
        except EventRejected as rejected:
            errors.extend(
                {"loc": f"[{index}].{e['loc']}" if e["loc"] else f"[{index}]", "msg": e["msg"]}
                for e in rejected.errors
            )
            continue
        earlier = first.setdefault((event.source, event.id), index)
        if earlier != index and events[earlier] != event:
            errors.append(
                {
                    "loc": f"[{index}].id",
                    "msg": f"events [{earlier}] and [{index}] have the same source and id "
                    f"({event.source} {event.id}) but different content",
                }
            )
        events[index] = event
    if errors:
        first_error = errors[0]
        raise EventRejected(
            f"invalid batch ({len(errors)} problem{'s' if len(errors) > 1 else ''}): "
            f"{first_error['loc']}: {first_error['msg']}",
            errors[:_MAX_REPORTED_ERRORS],
        )
    return list(events.values())


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
    return canonical_json(event_document(event))


def canonical_json(document: Any) -> bytes:
    """`json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False)` in
    UTF-8, written by orjson: the same bytes for what a document holds (strings, integers,
    booleans, null, arrays, objects; an event has no float) several times faster, which a tick
    writing thousands of events feels. What orjson refuses (an integer beyond 64 bits) goes
    through `json`."""
    try:
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(
            document, separators=(",", ":"), sort_keys=True, ensure_ascii=False
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
