"""Settings: defaults, environment and CLI precedence, and one-line config errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from inbox.errors import ConfigError
from inbox.settings import load_settings, parse_duration

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "cfg.toml"
    p.write_text(text)
    return p


def test_defaults_define_the_five_teams_with_hr_private() -> None:
    """The shipped config has the five teams, HR private, and no connectors."""
    s = load_settings(ROOT / "config" / "inbox.toml")
    assert [t.name for t in s.teams] == ["customer_care", "marketing", "hr", "pr", "triage"]
    assert s.private_teams == {"hr"}
    assert s.connectors == []
    assert s.routing.label_to_team["customer_care"] == "customer_care"


def test_env_beats_file_and_cli_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """INBOX_* variables override the file; CLI flags override both, nested keys included."""
    monkeypatch.setenv("INBOX_DATABASE_URL", "sqlite+aiosqlite:///from-env.db")
    monkeypatch.setenv("INBOX_ROUTING__CONFIDENCE_THRESHOLD", "0.7")
    s = load_settings(ROOT / "config" / "inbox.toml")
    assert s.database_url.endswith("from-env.db")
    assert s.routing.confidence_threshold == 0.7
    assert s.routing.label_to_team["hr"] == "hr"  # the rest of the file's table is kept
    s = load_settings(ROOT / "config" / "inbox.toml", {"database_url": "sqlite+aiosqlite:///cli.db"})
    assert s.database_url.endswith("cli.db")


@pytest.mark.parametrize(("text", "key", "problem"), [
    ('database_url = "mysql://x"', "database_url", "must start with"),
    ('[routing]\nconfidence_threshold = 2', "routing.confidence_threshold", "less than or equal"),
    ('[[teams]]\nname = "Bad Name"', "teams[0].name", "is not a team name"),
    ('[[teams]]\nname = "a"\nsla_first_response = "soon"', "teams[0].sla_first_response", "is not a duration"),
    ('colour = "blue"', "colour", "unknown key"),
    ('[[rules]]\nname = "r"\nregex = "("\nteam = "pr"', "rules[0].regex", "invalid regular expression"),
    ('[[connectors]]\nname = "x"\ntype = "telepathy"\nquery = ["a"]', "connectors[0].type", ""),
    ('this is = not toml', "(syntax)", ""),
    ('[crisis]\nwindow = "soon"', "crisis.window", "is not a duration"),
    ('[crisis]\nk = 0', "crisis.k", "greater than"),
    ('[notifications]\nsmtp_username = "me"', "notifications", "smtp_password_env"),
    ('[notifications]\nsmtp_security = "ssl3"', "notifications.smtp_security", ""),
])
def test_bad_values_name_file_key_and_problem(tmp_path: Path, text: str, key: str, problem: str) -> None:
    """Each bad value raises one ConfigError whose message names the file, the key and the problem."""
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as ei:
        load_settings(path)
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith(str(path))
    assert ei.value.key == key
    assert problem in ei.value.problem


def test_rule_pointing_at_an_unknown_team_is_named(tmp_path: Path) -> None:
    """A rule routing to a team that does not exist is an error naming the rule."""
    base = (ROOT / "config" / "inbox.toml").read_text()
    path = _write(tmp_path, base + '\n[[rules]]\nname = "press"\nkeywords = ["journalist"]\nteam = "legal"\n')
    with pytest.raises(ConfigError) as ei:
        load_settings(path)
    assert "press" in str(ei.value) and "legal" in str(ei.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A config path that does not exist is reported as such."""
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "nope.toml")


def test_parse_duration() -> None:
    """Durations accept s/m/h/d/w suffixes and plain seconds, and refuse nonsense."""
    assert parse_duration("90s").total_seconds() == 90
    assert parse_duration("1.5h").total_seconds() == 5400
    assert parse_duration(30).total_seconds() == 30
    with pytest.raises(ValueError):
        parse_duration("tomorrow")


def test_crisis_table_reaches_the_detector(tmp_path: Path) -> None:
    """[crisis] values are typed (durations parsed) and become the detector's CrisisConfig."""
    from datetime import timedelta

    from inbox.work.crisis_watch import CrisisConfig
    s = load_settings(_write(tmp_path, '[crisis]\nwindow = "30m"\nbaseline_windows = 24\nk = 2.5\ncooldown = "2h"'))
    cfg = CrisisConfig.from_settings(s)
    assert (cfg.window, cfg.baseline_windows, cfg.k, cfg.cooldown) == (
        timedelta(minutes=30),
        24,
        2.5,
        timedelta(hours=2),
    )
    assert CrisisConfig.from_settings(load_settings(ROOT / "config" / "inbox.toml")) == CrisisConfig()


def test_crisis_team_must_exist(tmp_path: Path) -> None:
    """A crisis team that is not defined is named as a config error."""
    text = '[[teams]]\nname = "pr"\n[[teams]]\nname = "triage"\n[crisis]\nteam = "press"'
    with pytest.raises(ConfigError, match="crisis.team"):
        load_settings(_write(tmp_path, text))


def test_a_time_zone_name_too_long_for_a_file_is_refused_as_unknown() -> None:
    """ZoneInfo raises OSError for a name longer than a file name may be: a validation error, not a 500."""
    import pydantic

    from inbox.team_settings import BusinessHours

    with pytest.raises(pydantic.ValidationError, match="unknown time zone"):
        BusinessHours.model_validate({"timezone": "0" * 300})
