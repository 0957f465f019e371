"""The domain's refusals in the reader's language, for the HTML pages.

The domain layers raise their errors with an English ``detail`` (the API and the CLI show it as
is, the API's clients read it). The pages show the same refusal translated: each known message
shape below is matched and re-said through the catalogue with its values ("item 12 is claimed by
someone else" → "L'elemento 12 è preso in carico da un'altra persona"). A detail that matches no
shape is shown as it came, so nothing is ever hidden; tests/unit/test_web_i18n.py fails when a
message raised anywhere under inbox/ has no shape here."""
from __future__ import annotations

import re
from functools import lru_cache

from inbox.web import i18n, names

__all__ = ["translate_error", "SHAPES"]

N_ = i18n.N_

#: (the English message with ``{name}`` for its values, how the page says it) in the order tried
SHAPES: tuple[tuple[str, str], ...] = (
    # items and queues
    ("no such item", N_("No such item.")),
    ("no item {id}", N_("No item %(id)s.")),
    ("no mention {id}", N_("No mention %(id)s.")),
    ("no notification {id}", N_("No notification %(id)s.")),
    ("no such resource", N_("Nothing here.")),
    ("no queue {team}", N_("No queue %(team)s.")),
    ("no team {team}", N_("No team %(team)s.")),
    ("unknown team {team}", N_("Unknown team %(team)s.")),
    ("unknown team", N_("Unknown team.")),
    ("you are not a member of {team}", N_("You are not a member of %(team)s.")),
    ("item {id} is not claimed", N_("Item %(id)s is not claimed.")),
    ("item {id} is already in {team}", N_("Item %(id)s is already in %(team)s.")),
    ("item {id} is already {status}", N_("Item %(id)s is already %(status)s.")),
    ("item {id} is claimed by someone else", N_("Item %(id)s is claimed by someone else.")),
    ("item {id} is spam: it gets no reply", N_("Item %(id)s is spam: it gets no reply.")),
    # hand-over, search and bulk actions (inbox/work/handover.py, finder.py, bulk.py)
    ("item {id} is {status}: reopen it first", N_("Item %(id)s is %(status)s: reopen it first.")),
    ("item {id} is {status}, not resolved", N_("Item %(id)s is %(status)s, not resolved.")),
    ("only a lead of the team assigns items to someone else",
     N_("Only a lead of the team assigns items to someone else.")),
    ("{name} is not an agent of {team}", N_("%(name)s is not an agent of %(team)s.")),
    ("an override of the capacity needs a reason", N_("Assigning past someone's capacity needs a reason.")),
    ("{name} already holds {n} of {capacity} items (capacity); a lead can override with a reason",
     N_("%(name)s already holds %(n)s of %(capacity)s items, their capacity; a lead can assign more with a reason.")),
    ("no active user {name}", N_("No active user %(name)s.")),
    ("unknown status {status}", N_("Unknown status %(status)s.")),
    ("cursor is not a next_cursor of a search", N_("This page of results is no longer valid: search again.")),
    ("action must be one of {choices}", N_("The action must be one of %(choices)s.")),
    ("item {id} is {status}", N_("Item %(id)s is %(status)s.")),
    ("{name} already holds {n} items (capacity)", N_("%(name)s already holds %(n)s items, their capacity.")),
    ("only the assignee or a lead can release this item", N_("Only the assignee or a lead can release this item.")),
    ("watchers can read and add notes, not act", N_("Watching teams can read and add notes, not act.")),
    ("a note needs text", N_("A note needs some text.")),
    ("a note is at most {n} characters", N_("A note is at most %(n)s characters.")),
    ("a transfer needs a reason", N_("A transfer needs a reason.")),
    ("only leads and admins label items for the model", N_("Only team leads and admins label items for the model.")),
    ("no label {label}", N_("No label %(label)s.")),
    ("unknown status", N_("Unknown status.")),
    ("status must be one of {choices}", N_("The status must be one of %(choices)s.")),
    # bulk actions from the views page (inbox/web/bulk_pages.py)
    ("select at least one item", N_("Select at least one item.")),
    ("a transfer needs a team and a reason", N_("A transfer needs a team and a reason.")),
    ("choose who gets the items", N_("Choose who gets the items.")),
    # saved views (inbox/web/saved_views.py)
    ("page must be one of {choices}", N_("The page must be one of %(choices)s.")),
    ("unknown filter {key}", N_("Unknown filter %(key)s.")),
    ("the filters are not valid", N_("Some of the filters are not valid.")),
    ("a saved view needs a name", N_("A saved view needs a name.")),
    ("a name is at most {n} characters", N_("A name is at most %(n)s characters.")),
    ("you can keep at most {n} saved views", N_("You can keep at most %(n)s saved views.")),
    ("you already have a saved view named {name}", N_("You already have a saved view named %(name)s.")),
    ("no saved view {id}", N_("No saved view %(id)s.")),
    # replies
    ("watchers can read and add notes, not reply", N_("Watching teams can read and add notes, not reply.")),
    ("no reply {id}", N_("No reply %(id)s.")),
    ("only a lead of {team} approves or rejects replies",
     N_("Only a team lead of %(team)s approves or rejects replies.")),
    ("a rejection needs a note for the author of the reply",
     N_("A rejection needs a note for the author of the reply.")),
    ("reply {id} is {status}, not {expected}", N_("Reply %(id)s is %(status)s, not %(expected)s.")),
    ("replies cannot be sent from here: {why}", N_("Replies cannot be sent from here: %(why)s")),
    ("the credential variable {name} is not set", N_("the credential variable %(name)s is not set")),
    ("this source has no write API", N_("this source has no write API")),
    ("{platform} has no write API", N_("%(platform)s has no write API")),
    ("connector {name} is not set up for replies (no reply_token_env)",
     N_("connector %(name)s is not set up for replies (no reply_token_env)")),
    # access
    ("admins only", N_("Only admins can do this.")),
    ("only {roles} may do this", N_("Only these roles may do this: %(roles)s.")),
    ("the dashboard is for managers, leads and admins", N_("The dashboard is for managers, team leads and admins.")),
    # the dashboard's date range
    ("from and to must both be dates like 2026-01-31", N_("Give both days of the range, like 2026-01-31.")),
    ("from must not be after to", N_("The first day must not be after the last.")),
    ("the range starts in the future", N_("The range starts in the future.")),
    ("a range is at most {n} days", N_("A range is at most %(n)s days.")),
    # the briefs (inbox/web/reports.py, admin_briefs.py)
    ("reports are for managers, leads and admins", N_("Reports are for managers, team leads and admins.")),
    ("no such report", N_("No such report.")),
    ("unknown audience", N_("Unknown brief.")),
    ("an audience is required", N_("Choose a brief.")),
    ("bad recipient id", N_("No such recipient.")),
    ("metrics are for managers, leads and admins", N_("The figures are for managers, team leads and admins.")),
    ("leads see the metrics of their own teams: pass ?team=", N_("Team leads see the figures of their own teams.")),
    ("leads see the metrics of their own teams", N_("Team leads see the figures of their own teams.")),
    ("unknown period", N_("Unknown period.")),
    # users
    ("no such user", N_("No such user.")),
    ("a user named {name} already exists", N_("A user named %(name)s already exists.")),
    ("a new user needs a password", N_("A new user needs a password.")),
    ("a user name is 1-64 lower-case letters, digits, '.', '_' or '-'",
     N_("A user name is 1 to 64 lower-case letters, digits, '.', '_' or '-'.")),
    ("role must be one of {roles}", N_("The role must be one of %(roles)s.")),
    ("capacity must be a number", N_("The capacity must be a number.")),
    ("capacity must be between 1 and 1000", N_("The capacity must be between 1 and 1000.")),
    ("you cannot deactivate yourself", N_("You cannot deactivate yourself.")),
    ("unknown language", N_("Unknown language.")),
    # configuration, audit and privacy
    ("no configuration section {section}", N_("No configuration section %(section)s.")),
    ("{section}: nothing changed", N_("%(section)s: nothing changed.")),
    ("{section}: no earlier version to roll back to", N_("%(section)s: there is no earlier version to go back to.")),
    ("{section}: no version {version}", N_("%(section)s: no version %(version)s.")),
    ("{section}: {name} exists; PUT {path} replaces it", N_("%(section)s: %(name)s already exists.")),
    ("{field}: {value} is not an ISO date or date-time", N_("%(field)s: %(value)s is not a date or a date and time.")),
    ("limit: between 1 and 1000", N_("The limit is between 1 and 1000.")),
    ("an author handle is needed", N_("An author handle is needed.")),
    # models and webhooks
    ("no model version {version}", N_("No model version %(version)s.")),
    ("candidate macro-F1 {new} is worse than the current model's {old} {what} on the held-out file; "
     "use --force to promote anyway",
     N_("The candidate's macro-F1 (%(new)s) is worse than the current model's (%(old)s) on the held-out file: "
        "tick \"skip the quality gate\" to promote it anyway.")),
    ("no webhook connector {name}", N_("No webhook connector %(name)s.")),
    # requests
    ("cross-site request refused (Origin/Referer does not match this site)",
     N_("A request from another site was refused.")),
    ("missing or invalid CSRF token; reload the page and try again",
     N_("This form has expired: reload the page and try again.")),
    ("authentication required", N_("Please sign in.")),
    ("invalid or revoked token", N_("This sign-in is no longer valid.")),
    ("the request body must be a JSON object", N_("The request body must be a JSON object.")),
    ("the request body is not valid JSON: {error}", N_("The request body is not valid JSON.")),
    ("the request body is nested deeper than {n} levels", N_("The request body is nested deeper than %(n)s levels.")),
    ("'{field}' is too long", N_("The field %(field)s is too long.")),
    ("'{field}' contains the control character {char}", N_("The field %(field)s contains a control character.")),
    ("'{field}' contains invalid Unicode (a lone surrogate)", N_("The field %(field)s contains invalid text.")),
    ("'{field}' must be a whole number written with the digits 0-9",
     N_("The field %(field)s must be a whole number.")),
    # the settings' own checks of an entry typed in an admin editor (inbox/web/schema_errors.py)
    ("{value} is not a duration like '30s', '5m', '2h', '1d'",
     N_("%(value)s is not a duration like '30s', '5m', '2h', '1d'.")),
    ("must not be negative", N_("Must not be negative.")),
    ("must be a positive duration", N_("Must be a positive duration.")),
    ("must be at least a minute", N_("Must be at least a minute.")),
    ("unknown time zone {zone}", N_("Unknown time zone %(zone)s.")),
    ("{value} is not a time like '09:00'", N_("%(value)s is not a time like '09:00'.")),
    ("{value} is not a team name (lower case letters, digits, _ and -)",
     N_("%(value)s is not a team name (lower-case letters, digits, _ and -).")),
    ("rule {name}: invalid regular expression: {error}", N_("Rule %(name)s: invalid regular expression: %(error)s.")),
    ("rule {name}: regular expression {value} matches the empty string (it would match every mention)",
     N_("Rule %(name)s: the regular expression %(value)s matches the empty text, so it would match every mention.")),
    ("rule {name}: keywords must be non-empty strings", N_("Rule %(name)s: keywords must be texts, not empty.")),
    ("rule {name}: unknown label {label}; labels are {labels}",
     N_("Rule %(name)s: unknown label %(label)s; the labels are %(labels)s.")),
    ("rule {name} has no condition", N_("Rule %(name)s has no condition.")),
    ("rule {name} has no action (team, priority, watchers or action)",
     N_("Rule %(name)s does nothing: give it a team, priority, watchers or action.")),
    ("rule {name} ignores mentions, so it cannot also route them (team/watchers)",
     N_("Rule %(name)s ignores mentions, so it cannot also send them to a team or watchers.")),
    ("rule {name}: min_confidence is above max_confidence",
     N_("Rule %(name)s: min_confidence is above max_confidence.")),
    ("interval must be a duration such as '30s', '5m' or '1h'",
     N_("The interval must be a duration such as '30s', '5m' or '1h'.")),
    ("invalid interval {value}: use a number followed by s, m, h or d (e.g. '30s', '5m', '1h')",
     N_("Invalid interval %(value)s: use a number followed by s, m, h or d (e.g. '30s', '5m', '1h').")),
    ("interval must be positive, got {value}", N_("The interval must be positive, not %(value)s.")),
    ("{value} is not an http(s) URL", N_("%(value)s is not an http(s) address.")),
    ("query terms must not be empty", N_("Query terms must not be empty.")),
    ("'reply_token_env' is only valid for type {types}: {type} has no write API",
     N_("reply_token_env is only valid for type %(types)s: %(type)s has no write API.")),
    ("'{field}' is only valid for type {types}", N_("%(field)s is only valid for type %(types)s.")),
    ("'query' needs at least one term for type {type}", N_("query needs at least one term for type %(type)s.")),
    ("'feeds' needs at least one feed URL for type rss", N_("feeds needs at least one feed address for type rss.")),
    ("'secret_env' is required for type webhook (HMAC secret)",
     N_("secret_env is required for type webhook (the HMAC secret).")),
    ("'app_password_env' needs 'handle'", N_("app_password_env needs handle.")),
    ("'reply_token_env' needs 'handle' for type bluesky (the account that replies)",
     N_("reply_token_env needs handle for type bluesky (the account that replies).")),
    ("team {team} is not defined", N_("The team %(team)s is not defined.")),
    ("duplicate rule names {names}", N_("Two rules have the same name: %(names)s.")),
    ("duplicate connector names {names}", N_("Two connectors have the same name: %(names)s.")),
    ("duplicate team names {names}", N_("Two teams have the same name: %(names)s.")),
    # administration and governance
    ("{field}: {value} is not an ISO date or date-time", N_("%(field)s: %(value)s is not a date.")),
    ("limit: between 1 and 1000", N_("The limit is between 1 and 1000.")),
    ("no configuration section {section}", N_("No configuration section %(section)s.")),
    ("{section}: nothing changed", N_("%(section)s: nothing changed.")),
    ("{section}: no version {version}", N_("%(section)s: no version %(version)s.")),
    ("{section}: no earlier version to roll back to", N_("%(section)s: no earlier version to roll back to.")),
    ("{section}: {name} exists; PUT {path} replaces it", N_("%(section)s: %(name)s exists already.")),
    ("an author handle is needed", N_("An author handle is needed.")),
)

_VALUE = re.compile(r"\\\{(\w+)\\\}")


@lru_cache(maxsize=1)
def _compiled() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for english, shown in SHAPES:
        pattern = _VALUE.sub(lambda m: f"(?P<{m.group(1)}>.+?)", re.escape(english))
        out.append((re.compile(pattern + r"\.?", re.DOTALL), shown))
    return out


def _plain(key: str, value: str) -> str:
    """A value as a reader says it: unquoted (``'hr'`` → ``hr``), statuses and teams by name."""
    value = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == "'" else value
    if key == "status":
        return names.status_name(value)
    if key == "team":
        return names.team_name(value)
    return value


_Shape = tuple[str, tuple[tuple[str, str], ...]]
_REMEMBERED = 256  # the longest message whose shape is remembered (a detail can quote typed input)


def _shape(detail: str) -> _Shape | None:
    """Which known shape ``detail`` has and its values. Trying the 143 shapes one by one costs tens
    of microseconds, and pages repeat a few messages (why a source cannot send replies, on every
    item page of it), so the match of a short message is remembered; the words are looked up per
    call, in the reader's language and with the current team names."""
    return _remembered_shape(detail) if len(detail) <= _REMEMBERED else _match_shape(detail)


@lru_cache(maxsize=1024)
def _remembered_shape(detail: str) -> _Shape | None:
    return _match_shape(detail)


def _match_shape(detail: str) -> _Shape | None:
    for pattern, shown in _compiled():
        m = pattern.fullmatch(detail.strip())
        if m:
            return shown, tuple(m.groupdict().items())
    return None


def translate_error(detail: str) -> str:
    """``detail`` in the current language when its shape is known, else as it is."""
    found = _shape(detail)
    if found is None:
        return detail
    shown, values = found
    return i18n.gettext(shown) % {k: _plain(k, v) for k, v in values}
