"""Pydantic models of the API and the field types they share. The OpenAPI document is generated
from them (inbox.web.endpoints), and the server parses requests and writes responses through
them, so the two cannot disagree.

Base classes:
- :class:`Body`: a JSON request body; strict types, unknown keys refused.
- :class:`Params`: path or query parameters (strings on the wire): whole numbers must be ASCII
  digits (:data:`QueryInt`), unknown keys refused.
- :class:`Out`: a response; keys the model does not declare are dropped, never sent.

Field types: :data:`ItemId` (1..2**63-1), :data:`TeamName` (a configured team; the served
document lists them as an enum), :data:`PlainText` and :data:`NonBlank` (text a person typed:
no control characters; NonBlank also not blank), :data:`Timestamp` (RFC 3339 with the offset, ``datetime.isoformat()``).
Patterns use the same meaning in Python, ECMA 262 and the Rust regex crate (explicit ranges, no
``\\s`` or ``\\d``), and the server checks them with Python's ``re`` (``regex_engine``)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from inbox.storage.tables import ItemStatus
from inbox.web.inputs import TEXT_PATTERN, ascii_int, check_text

__all__ = ["Body", "Params", "Out", "ItemId", "QueryInt", "TeamName", "TEAM_NAME_PATTERN", "Timestamp",
           "PlainText", "NonBlank", "NON_BLANK_PATTERN", "Status", "Problem", "FieldError", "Item", "ItemEnvelope",
           "ResolvedEnvelope", "TEAM_REF", "TEAM_MARK"]

TEAM_NAME_PATTERN = "^[a-z][a-z0-9_-]{0,63}$"
TEAM_REF = "#/components/schemas/TeamName"
TEAM_MARK = "x-team-name"
_SPACE = "\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_CTRL = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
# some character that is neither white space nor a control character, and no control character anywhere
NON_BLANK_PATTERN = f"^[^{_CTRL}]*[^{_SPACE}{_CTRL}][^{_CTRL}]*$"


class Body(BaseModel):
    """A JSON request body."""

    model_config = ConfigDict(extra="forbid", strict=True, regex_engine="python-re")


class Params(BaseModel):
    """Path or query parameters."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


class Out(BaseModel):
    """A response body."""

    model_config = ConfigDict(extra="ignore", json_schema_serialization_defaults_required=True)


def _utc_iso(v: datetime) -> str:
    return (v if v.tzinfo is not None else v.replace(tzinfo=UTC)).isoformat()


Timestamp = Annotated[datetime, PlainSerializer(_utc_iso, return_type=str, when_used="json-unless-none"),
                      WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization")]

# bounds go in the field's default: ``limit: QueryInt = Field(50, ge=1, le=200)``
QueryInt = Annotated[int, BeforeValidator(ascii_int)]
ItemId = Annotated[int, Field(ge=1, le=2**63 - 1), BeforeValidator(ascii_int)]
# the generated document replaces this schema with {"$ref": TEAM_REF} (inbox.web.openapi)
TeamName = Annotated[str, Field(pattern=TEAM_NAME_PATTERN),
                     WithJsonSchema({"type": "string", "pattern": TEAM_NAME_PATTERN, TEAM_MARK: True})]
Status = Literal["new", "claimed", "replied", "waiting", "resolved", "spam"]
assert set(Status.__args__) == set(ItemStatus.ALL)  # type: ignore[attr-defined]  # Literal's members

# text a person typed: no control characters (tab and newlines allowed), no invalid Unicode; add
# Field(max_length=...) where it is used. NonBlank: also not empty or only white space.
PlainText = Annotated[str, Field(pattern=TEXT_PATTERN), AfterValidator(check_text)]
NonBlank = Annotated[str, Field(min_length=1, pattern=NON_BLANK_PATTERN), AfterValidator(check_text)]


class FieldError(Out):
    loc: str = Field(description="where: body.text, query.limit, path.id ...")
    msg: str


class Problem(Out):
    """RFC 9457 problem details (inbox.web.problems writes them; keys without a value are left out)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=False)

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = Field(None, description="each invalid field (422 only)")


class Item(Out):
    """A queue item as lists and actions show it (text included: the caller may see the item)."""

    id: int
    team: str
    status: Status
    priority: int
    label: str | None
    confidence: float | None
    watchers: list[str]
    assignee: str | None
    text: str
    source: str
    author: str | None
    lang: str | None
    url: str | None
    created_at: Timestamp | None
    routed_at: Timestamp | None
    first_response_due: Timestamp | None
    resolve_due: Timestamp | None
    route_reason: str | None = None
    lease_expires_at: Timestamp | None = None
    transfers: int | None = None
    bounces: int | None = None
    first_touched_at: Timestamp | None = None
    resolved_at: Timestamp | None = None

    @classmethod
    def of(cls, summary: Any) -> Item:
        """From an :class:`inbox.domain.types.ItemSummary`."""
        return cls.model_validate(summary.public())


class ItemEnvelope(Out):
    item: Item


class ResolvedEnvelope(ItemEnvelope):
    similar_resolved: list[int] = Field(
        default_factory=list,
        description="resolving an item resolves the open copies of its post in its team with it (each "
                    "through the single action, audited with the original's id): their ids. Empty for "
                    "other statuses; a copy someone else holds is left as it is")
