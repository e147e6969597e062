"""Settings and the one function that normalises database URLs."""

import pytest

from app.config import DEVELOPMENT_SECRET_KEY, ConfigError, describe_database, load_settings, normalise_database_url
from app.startup import describe_startup

STRONG_KEY = "k" * 40


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.example.com:5433/app", "postgresql+asyncpg://u:p@db.example.com:5433/app"),
        ("postgresql://u:p@host/app", "postgresql+asyncpg://u:p@host/app"),
        ("postgresql+psycopg2://u:p@host/app", "postgresql+asyncpg://u:p@host/app"),
        ("postgresql+asyncpg://u:p@host/app", "postgresql+asyncpg://u:p@host/app"),
        ("POSTGRES://u:p@host/app", "postgresql+asyncpg://u:p@host/app"),
        ("postgresql://u:p@host/app?sslmode=require", "postgresql+asyncpg://u:p@host/app?ssl=require"),
        ("postgresql://u:p@host/app?sslmode=verify-full", "postgresql+asyncpg://u:p@host/app?ssl=verify-full"),
        ("postgresql://u:p@host/app?sslmode=disable", "postgresql+asyncpg://u:p@host/app?ssl=disable"),
        ("postgres://u:p@host/app?sslmode=require&connect_timeout=10", "postgresql+asyncpg://u:p@host/app?ssl=require"),
        ("postgresql://u:p%40ss@host/app", "postgresql+asyncpg://u:p%40ss@host/app"),
        ("sqlite:///./pep_viewer.db", "sqlite+aiosqlite:///./pep_viewer.db"),
        ("sqlite:////var/data/app.db", "sqlite+aiosqlite:////var/data/app.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+pysqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("  postgres://u:p@host/app\n", "postgresql+asyncpg://u:p@host/app"),
    ],
)
def test_urls_become_async_driver_urls(given: str, expected: str) -> None:
    assert normalise_database_url(given).render_as_string(hide_password=False) == expected


def test_password_with_special_characters_survives() -> None:
    url = normalise_database_url("postgres://user:p%40ss%2Fw0rd@host/db")
    assert url.password == "p@ss/w0rd"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("mysql://u:p@host/db", "not supported"),
        ("just-a-path.db", "must look like"),
        ("postgresql://u:p@host/db?sslmode=sometimes", "sslmode must be one of"),
        ("postgres://u:p@host", "names no database"),
    ],
)
def test_unusable_urls_are_refused(given: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalise_database_url(given)


def test_password_never_reaches_descriptions() -> None:
    settings = load_settings(database_url="postgres://admin:s3cr3t-pw@db.internal:5432/catalogue")
    assert describe_database(settings.async_database_url) == "postgresql db.internal:5432/catalogue"
    assert "s3cr3t" not in describe_startup(settings, "abc123")
    assert "s3cr3t" not in repr(settings.async_database_url)


def test_malformed_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "lots")
    with pytest.raises(ConfigError, match="DB_POOL_SIZE"):
        load_settings()


def test_bad_database_url_error_hides_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://root:hunter2@host/db")
    with pytest.raises(ConfigError, match="DATABASE_URL") as raised:
        load_settings()
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite+aiosqlite://"])
def test_an_in_memory_sqlite_database_is_refused_with_the_fix(url: str) -> None:
    with pytest.raises(ConfigError, match=r"DATABASE_URL: names no SQLite file.*sqlite:///"):
        load_settings(database_url=url)


def test_environment_and_dotenv_are_read_and_unknown_variables_ignored(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DB_POOL_SIZE=7\nSOMETHING_ELSE=1\nCORS_ORIGINS=http://a.test, http://b.test\n")
    monkeypatch.setenv("DEBUG", "true")
    monkeypatch.setenv("UNRELATED_PLATFORM_VARIABLE", "x")
    settings = load_settings()
    assert settings.db_pool_size == 7
    assert settings.debug is True
    assert settings.cors_origins == ["http://a.test", "http://b.test"]


@pytest.mark.parametrize(
    ("env", "url", "migrate", "seed"),
    [
        ("dev", "sqlite:///x.db", True, True),
        ("prod", "sqlite:///x.db", True, False),
        ("dev", "postgres://u:p@h/db", False, True),
        ("prod", "postgres://u:p@h/db", False, False),
    ],
)
def test_defaults_for_migrating_and_seeding(env: str, url: str, migrate: bool, seed: bool) -> None:
    settings = load_settings(env=env, database_url=url, secret_key=STRONG_KEY)
    assert (settings.should_auto_migrate, settings.should_seed_demo_data) == (migrate, seed)
    assert settings.signup_open is seed  # open sign-up follows the same rule: on except in prod
    forced = load_settings(
        env=env, database_url=url, secret_key=STRONG_KEY, auto_migrate=not migrate, seed_demo_data=not seed
    )
    assert (forced.should_auto_migrate, forced.should_seed_demo_data) == (not migrate, not seed)


@pytest.mark.parametrize("key", [None, "change-me", "short-key", DEVELOPMENT_SECRET_KEY])
def test_prod_refuses_a_missing_placeholder_or_short_secret_key(key: str | None) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY: must be set") as raised:
        load_settings(env="prod", secret_key=key)
    assert "secrets.token_urlsafe" in str(raised.value)


def test_dev_without_secret_key_warns_and_uses_a_fixed_key(caplog: pytest.LogCaptureFixture) -> None:
    first, second = load_settings(env="dev", secret_key=None), load_settings(env="dev", secret_key=None)
    assert first.secret_key == second.secret_key == DEVELOPMENT_SECRET_KEY  # the same in every worker and restart
    assert "SECRET_KEY is not set" in caplog.text


def test_prod_accepts_a_strong_key() -> None:
    assert load_settings(env="prod", secret_key=STRONG_KEY).secret_key == STRONG_KEY


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DB_POOL_SIZE", "-1"),
        ("DB_MAX_OVERFLOW", "-1"),
        ("DB_POOL_RECYCLE", "-1"),
        ("DB_POOL_TIMEOUT", "0"),
        ("DB_CONNECT_TIMEOUT", "0"),
        ("DB_COMMAND_TIMEOUT", "-5"),
        ("DB_CONNECT_ATTEMPTS", "0"),
        ("WEB_CONCURRENCY", "0"),
    ],
)
def test_out_of_range_pool_settings_are_refused(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"{variable}: Input should be greater than"):
        load_settings()
