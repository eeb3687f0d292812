""".env parsing and writing, and shipit.toml edits that keep comments and write atomically."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from tests.helpers import REPO_ROOT

from shipit.config.edit import env_table, update_env
from shipit.config.loader import load_config
from shipit.config.overlay import resolve_environment
from shipit.envfile import format_dotenv, format_json, parse_dotenv, quote
from shipit.errors import ConfigError, UsageError

DOTENV = """\
# a comment line
export PLAIN=simple
QUOTED="two words # not a comment"
SINGLE='it\\'s'
HASHED=value # a trailing comment
MULTI="line one
line two"
ESCAPES="tab\\there \\"quoted\\""
DOLLAR='${HOME} stays literal'
EMPTY=
NOVALUE
"""


def test_dotenv_features() -> None:
    parsed = parse_dotenv(DOTENV)
    assert parsed.values == {
        "PLAIN": "simple",
        "QUOTED": "two words # not a comment",
        "SINGLE": "it's",
        "HASHED": "value",
        "MULTI": "line one\nline two",
        "ESCAPES": 'tab\there "quoted"',
        "DOLLAR": "${HOME} stays literal",
        "EMPTY": "",
    }
    assert parsed.empty == ["NOVALUE"]


def test_dotenv_does_not_expand_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOMETHING", "expanded")
    assert parse_dotenv('A="${SOMETHING}"\n').values == {"A": "${SOMETHING}"}


def test_unparsable_line_is_named_without_its_value() -> None:
    with pytest.raises(UsageError) as caught:
        parse_dotenv('GOOD=1\nBAD="unterminated-secret-value\n', source="prod.env")
    assert "prod.env:2" in str(caught.value)
    assert "unterminated-secret-value" not in str(caught.value)


TRICKY = [
    "",
    "plain",
    "with space",
    "hash # inside",
    "#leading",
    "quote ' single",
    'quote " double',
    "both ' and \"",
    "back\\slash",
    "ends with backslash\\",
    "multi\nline\nvalue",
    "crlf\r\nline",
    "tab\tvalue",
    "${NOT_EXPANDED}",
    "  padded  ",
    "unicode é ✓",
    "=starts-with-equals",
    "-----BEGIN KEY-----\nabc\\n+/=\n-----END KEY-----\n",
]


@pytest.mark.parametrize("value", TRICKY)
def test_dotenv_round_trip(value: str) -> None:
    text = format_dotenv({"A": value, "B": "after"})
    assert parse_dotenv(text).values == {"A": value, "B": "after"}


def test_dotenv_round_trip_random() -> None:
    alphabet = "ab \\'\"#\n\r\t$={}é,;`!"
    rng = random.Random(7)
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        try:
            text = format_dotenv({"A": value})
        except UsageError:
            assert value.endswith("\\")
            continue
        assert parse_dotenv(text).values == {"A": value}, repr(value)


def test_quote_keeps_simple_values_bare() -> None:
    assert quote("postgres://u@h:5432/db") == "postgres://u@h:5432/db"
    assert quote("with space") == "'with space'"
    assert format_json({"A": "1"}) == '{\n  "A": "1"\n}\n'


# --- shipit.toml edits ------------------------------------------------------------------------


@pytest.fixture
def example(tmp_path: Path) -> Path:
    path = tmp_path / "shipit.toml"
    path.write_text((REPO_ROOT / "shipit.example.toml").read_text())
    return path


def test_set_and_unset_keep_every_comment(example: Path) -> None:
    original = example.read_text()
    update_env(example, env_table("preview", None), {"FEATURE": "on"})
    text = example.read_text()
    assert 'env = { LOG_LEVEL = "debug", FEATURE = "on" }' in text
    assert [line for line in original.splitlines() if line.startswith("#")] == [
        line for line in text.splitlines() if line.startswith("#")
    ]
    loaded = load_config(example)
    assert resolve_environment(loaded, "preview").services["web"].env["FEATURE"] == "on"
    assert update_env(example, env_table("preview", None), unset=["FEATURE"]) == ["FEATURE"]
    assert example.read_text() == original


@pytest.mark.parametrize("env", ["local", "preview", "staging", "production"])
def test_override_table_round_trip(example: Path, env: str) -> None:
    original = example.read_text()
    update_env(example, env_table(env, "web"), {"ONLY_HERE": "x-y"})
    loaded = load_config(example)
    assert resolve_environment(loaded, env).services["web"].env["ONLY_HERE"] == "x-y"
    text = example.read_text()
    after = text.partition("ONLY_HERE")[2]
    # the comment that introduces the next table still sits right above it
    if env == "preview":
        assert after.split("\n\n", 1)[1].startswith("# Railway")
    update_env(example, env_table(env, "web"), unset=["ONLY_HERE"])
    assert example.read_text() == original


def test_service_table_and_new_env_table(example: Path) -> None:
    update_env(example, env_table(None, "web"), {"WORKERS_MIN": "2"})
    update_env(example, env_table("staging", None), {"REGION": "eu"})
    text = example.read_text()
    assert 'env = { DEBUG = "false", LOG_LEVEL = "info", WORKERS_MIN = "2" }' in text
    assert 'provider = "railway"\nenv = { REGION = "eu" }\n\n[environments.staging.railway]' in text


def test_values_that_need_escaping(example: Path) -> None:
    value = 'a "quoted" # hash\nsecond line \\ backslash'
    update_env(example, env_table("preview", None), {"TRICKY": value})
    loaded = load_config(example)
    assert resolve_environment(loaded, "preview").services["web"].env["TRICKY"] == value


def test_an_invalid_result_is_not_written(example: Path) -> None:
    original = example.read_text()
    with pytest.raises(ConfigError, match="invalid"):
        update_env(example, env_table("preview", "nosuchservice"), {"A": "1"})
    with pytest.raises(ConfigError, match="no environment 'nope'"):
        update_env(example, env_table("nope", None), {"A": "1"})
    assert example.read_text() == original
    assert sorted(p.name for p in example.parent.iterdir()) == ["shipit.toml"]


def test_plain_values_need_a_table() -> None:
    with pytest.raises(UsageError, match="-e ENV or -s SERVICE"):
        env_table(None, None)


def test_write_is_atomic_and_keeps_the_mode(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example.chmod(0o600)
    update_env(example, env_table("preview", None), {"A": "1"})
    assert example.stat().st_mode & 0o777 == 0o600
    original = example.read_text()

    def broken_replace(self: Path, target: Path) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        update_env(example, env_table("preview", None), {"B": "2"})
    assert example.read_text() == original
    assert sorted(p.name for p in example.parent.iterdir()) == ["shipit.toml"]
