"""The settings of teams (SLA targets, business hours, assignment, canned responses) and of the
routing rules, with the value types every settings section shares (durations, strict models).
inbox.settings assembles them into Settings."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

__all__ = ["LABELS", "StrictModel", "parse_duration", "BusinessHours", "CannedResponse", "TeamSettings",
           "RuleSettings", "APPROVAL_BY_DEFAULT"]

LABELS = ("marketing", "customer_care", "hr", "pr")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


def parse_duration(value: Any) -> timedelta:
    """'90s', '5m', '1.5h', '2d', '1w' or a number of seconds -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("must not be negative")
        return timedelta(seconds=value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    raise ValueError(f"{value!r} is not a duration like '30s', '5m', '2h', '1d'")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BusinessHours(StrictModel):
    timezone: str = "UTC"
    days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])  # Monday = 0
    start: str = "09:00"
    end: str = "18:00"
    holidays: list[str] = Field(default_factory=list)  # ISO dates

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError) as e:  # OSError: a name too long for a file name
            raise ValueError(f"unknown time zone {v[:64]!r}") from e
        return v

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", v):
            raise ValueError(f"{v!r} is not a time like '09:00'")
        return v


class CannedResponse(StrictModel):
    """A ready answer in the composer; ``{author}`` and ``{agent}`` are filled in."""

    title: str = Field(min_length=1, max_length=80)
    lang: Literal["en", "it"] = "en"
    text: str = Field(min_length=1, max_length=10_000)


APPROVAL_BY_DEFAULT = ("pr", "hr")


class TeamSettings(StrictModel):
    name: str
    display_name: str = ""
    private: bool = False
    sla_first_response: timedelta = timedelta(hours=4)
    sla_resolution: timedelta = timedelta(days=2)
    business_hours: BusinessHours | None = None  # None: around the clock
    assignment: Literal["manual", "round_robin", "least_loaded"] = "manual"
    agent_capacity: int = Field(10, ge=1)
    reassign_after: timedelta | None = None
    return_on_breach: bool = False
    # closed items older than this lose their text, author, notes and replies (inbox/work/retention.py)
    retention: timedelta | None = None
    # replies wait for a lead's approval; unset: true for pr and hr (APPROVAL_BY_DEFAULT)
    reply_approval: bool | None = None
    canned_responses: list[CannedResponse] = Field(default_factory=list)

    @property
    def needs_reply_approval(self) -> bool:
        return self.reply_approval if self.reply_approval is not None else self.name in APPROVAL_BY_DEFAULT

    _dur = field_validator("sla_first_response", "sla_resolution", mode="before")(parse_duration)

    @field_validator("reassign_after", "retention", mode="before")
    @classmethod
    def _opt_dur(cls, v: Any) -> timedelta | None:
        return None if v is None else parse_duration(v)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"{v!r} is not a team name (lower case letters, digits, _ and -)")
        return v


class RuleSettings(StrictModel):
    """One routing rule: every condition given must match; then its actions apply."""

    name: str
    # conditions
    source: list[str] | None = None
    platform: list[str] | None = None
    author: list[str] | None = None
    lang: list[str] | None = None
    keywords: list[str] | None = None
    regex: str | None = None
    label: list[str] | None = None
    min_confidence: float | None = Field(None, ge=0, le=1)
    max_confidence: float | None = Field(None, ge=0, le=1)
    min_reach: int | None = Field(None, ge=0)
    # actions
    team: str | None = None
    priority: int | None = Field(None, ge=0, le=3)
    watchers: list[str] = Field(default_factory=list)
    action: Literal["route", "spam", "ignore"] = "route"
    stop: bool = True

    @field_validator("source", "platform", "author", "lang", "keywords", "label", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("regex")
    @classmethod
    def _regex(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None:
            name = info.data.get("name", "?")
            try:
                rx = re.compile(v)
            except re.error as e:
                raise ValueError(f"rule {name!r}: invalid regular expression: {e}") from e
            if rx.search("") is not None:
                raise ValueError(f"rule {name!r}: regular expression {v!r} matches the empty string "
                                 "(it would match every mention)")
        return v

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, v: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if v is not None and (not v or any(not isinstance(k, str) or not k.strip() for k in v)):
            raise ValueError(f"rule {info.data.get('name', '?')!r}: keywords must be non-empty strings")
        return [k.strip() for k in v] if v is not None else None

    @field_validator("label")
    @classmethod
    def _labels(cls, v: list[str] | None, info: ValidationInfo) -> list[str] | None:
        for lab in v or []:
            if lab not in LABELS:
                raise ValueError(f"rule {info.data.get('name', '?')!r}: unknown label {lab!r}; "
                                 f"labels are {', '.join(LABELS)}")
        return v

    @model_validator(mode="after")
    def _has_condition_and_action(self) -> RuleSettings:
        conds = (self.source, self.platform, self.author, self.lang, self.keywords, self.regex,
                 self.label, self.min_confidence, self.max_confidence, self.min_reach)
        if all(c is None for c in conds):
            raise ValueError(f"rule {self.name!r} has no condition")
        if self.action == "route" and self.team is None and self.priority is None and not self.watchers:
            raise ValueError(f"rule {self.name!r} has no action (team, priority, watchers or action)")
        if self.action == "ignore" and (self.team is not None or self.watchers):
            raise ValueError(f"rule {self.name!r} ignores mentions, so it cannot also route them (team/watchers)")
        if (self.min_confidence is not None and self.max_confidence is not None
                and self.min_confidence > self.max_confidence):
            raise ValueError(f"rule {self.name!r}: min_confidence is above max_confidence")
        return self
