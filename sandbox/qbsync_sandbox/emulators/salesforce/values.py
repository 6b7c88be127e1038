"""Conversion between JSON request/response values and the values the emulator stores."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from qbsync_sandbox.emulators.salesforce.errors import ApiError
from qbsync_sandbox.emulators.salesforce.schema import MULTI_SELECT, NUMBER_TYPES, FieldDef

_JAVA_TYPE = {"Checkbox": "boolean", "Date": "date", "DateTime": "datetime"}


def _parser_error(definition: FieldDef, value: Any) -> ApiError:
    java_type = _JAVA_TYPE.get(definition.type, "double")
    kind = "VALUE_STRING" if isinstance(value, str) else "VALUE_" + type(value).__name__.upper()
    # Salesforce's JSON deserializer words type errors this way (Jackson-style message).
    return ApiError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {java_type} from {kind} value {value} "
        "or request may be missing a required field",
    )


def parse_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def from_json(definition: FieldDef, value: Any) -> Any:
    """The stored value for a JSON value sent for `definition` (ApiError JSON_PARSER_ERROR)."""
    if value is None:
        return False if definition.type == "Checkbox" else None
    if isinstance(value, dict | list):
        raise _parser_error(definition, value)
    kind = definition.type
    if kind == "Checkbox":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        raise _parser_error(definition, value)
    if kind in NUMBER_TYPES:
        if isinstance(value, bool):
            raise _parser_error(definition, value)
        try:
            return float(value)
        except ValueError:
            raise _parser_error(definition, value) from None
    if kind == "Date":
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            raise _parser_error(definition, value) from None
    if kind == "DateTime":
        try:
            return parse_datetime(str(value))
        except ValueError:
            raise _parser_error(definition, value) from None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if kind == MULTI_SELECT:
        return multi_select_value(definition, str(value))
    return str(value)


def multi_select_value(definition: FieldDef, text: str) -> str | None:
    """A multi-select picklist value as the org keeps it: the selected values in the order the
    field defines them (Salesforce Help, "Multi-Select Picklist Value Ordering Behavior (UI vs
    SOQL)", 000231088: the API returns them in their created order), each once (UNCONFIRMED),
    and no selection as null. Values the field does not define stay, after the others, for the
    restricted-picklist check to refuse."""
    chosen = list(dict.fromkeys(part for part in text.split(";") if part))
    order = {value: index for index, value in enumerate(definition.picklist_values)}
    chosen.sort(key=lambda value: order.get(value, len(order)))
    return ";".join(chosen) or None


def to_json(value: Any) -> Any:
    """The JSON form Salesforce answers with (datetimes as 2024-01-31T12:00:00.000+0000)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
            f"{value.microsecond // 1000:03d}+0000"
        )
    if isinstance(value, date):
        return value.isoformat()
    return value
