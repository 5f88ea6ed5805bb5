"""Base classes for every request and response schema, and the text types inputs use."""

import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

# One line of text: something besides white space, and no control characters (NUL cannot
# be stored in PostgreSQL; line breaks do not belong in names, logs or e-mail headers).
# Checked on the value as sent, so the OpenAPI pattern says exactly what is accepted
# (fuzzing holds the API to it); surrounding white space is stripped afterwards.
_SPACE = r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_EDGE = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
_INNER = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]"
SINGLE_LINE_PATTERN = rf"^{_SPACE}*{_EDGE}(?:{_INNER}*{_EDGE})?{_SPACE}*$"
_SINGLE_LINE = re.compile(SINGLE_LINE_PATTERN)


def _single_line(value: str) -> str:
    if _SINGLE_LINE.fullmatch(value) is None:
        raise PydanticCustomError(
            "single_line", "must be one line of text without control characters"
        )
    return value.strip()


class OneLine:
    """Marker for `Annotated[str, StringConstraints(...), ONE_LINE]`: checks the pattern on
    the value as sent, after its length constraints, then strips it; the document shows it."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_single_line, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = SINGLE_LINE_PATTERN
        return json_schema


ONE_LINE = OneLine()
# Lengths go on the field (`name: SingleLine = Field(max_length=100)`) or, for an optional
# field, into the type: `Annotated[str, StringConstraints(..., max_length=100), ONE_LINE]`.
SingleLine = Annotated[str, StringConstraints(strip_whitespace=False), ONE_LINE]

# A secret is used exactly as typed: never stripped, so that sign-in matches sign-up.
Secret = Annotated[str, StringConstraints(strip_whitespace=False)]


def _json_integer(value: object) -> object:
    if isinstance(value, str | bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# JSON Schema's integer: 2 and 2.0 are accepted; "2" and true are refused, not converted.
# Constraints go before it, so that the document shows them: Annotated[int, Field(...), ...].
JSON_INTEGER = BeforeValidator(_json_integer)
Integer = Annotated[int, JSON_INTEGER]


def optional_not_null(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of a field that may be left out but not sent as null: the
    document shows the value's schema alone, without `null` and without a default."""
    schema.pop("default", None)
    variants = [variant for variant in schema.pop("anyOf", []) if variant != {"type": "null"}]
    if len(variants) == 1:
        schema.update(variants[0])


class InputSchema(BaseModel):
    """Request bodies: unknown fields are refused and strings stripped (`Secret`s are not)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutputSchema(BaseModel):
    """Response bodies, read from model attributes: only declared fields ever leave."""

    model_config = ConfigDict(from_attributes=True)


class PageParams(BaseModel):
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=1_000_000)
