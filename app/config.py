"""Settings read from the environment and `.env`, and the one place database URLs are normalised."""

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from croniter import croniter
from dotenv import dotenv_values
from limits import parse
from pydantic import AfterValidator, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

DEFAULT_DATABASE_URL = "sqlite:///./pep_viewer.db"

# Used only outside prod when SECRET_KEY is unset, so the two-command start works. It is public
# (it is in this file), so tokens signed with it protect nothing; prod refuses to start without a key.
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"
SECRET_KEY_MIN_LENGTH = 32
_PLACEHOLDER_KEYS = {
    "change-me",
    "changeme",
    "secret",
    "secret-key",
    "your-secret-key",
    "replace-me",
    DEVELOPMENT_SECRET_KEY,
}
GENERATE_KEY_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"

# Whose X-Forwarded-For uvicorn believes (the start commands pass it, FORWARDED_ALLOW_IPS overrides it):
# the loopback and private ranges platform routers connect from. A client on the internet cannot
# connect from these, so it cannot pretend to be another address (which would dodge the rate limits).
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fd00::/8"

logger = logging.getLogger("app.config")


def _parseable_rate_limit(value: str) -> str:
    try:
        parse(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a rate limit; write it like 10/15 minutes or 100/hour") from None
    return value


RateLimitText = Annotated[str, AfterValidator(_parseable_rate_limit)]


def as_cron(value: str) -> str:
    """A schedule as a cron expression: one as it is (`0 4 * * *`), or a number of seconds (`3600`) that
    divides a minute, an hour or a day evenly. croniter reads a sixth field as the seconds, at the end."""
    text = value.strip()
    if text.isdigit():
        seconds = int(text)
        # (the unit in seconds, how many of them make the next unit, the cron expression of "every N units")
        for unit, per_next, cron in ((1, 60, "* * * * * */{}"), (60, 60, "*/{} * * * *"), (3600, 24, "0 */{} * * *")):
            if seconds and seconds % unit == 0 and seconds // unit < per_next and per_next % (seconds // unit) == 0:
                return cron.format(seconds // unit)
        if seconds == 86400:
            return "0 0 * * *"
        raise ValueError(
            f"{seconds} seconds does not divide a minute, an hour or a day evenly; use one that does "
            "(30, 300, 3600, 86400) or a cron expression such as 0 4 * * *"
        )
    if not croniter.is_valid(text):
        raise ValueError(f"{text!r} is neither a number of seconds nor a cron expression such as 0 4 * * *")
    return text


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""

    def with_fix(self) -> str:
        return f"{self}. Correct it in the environment or in .env (.env.example lists every setting)."


def debug_requested() -> bool:
    """DEBUG=true, read on its own: whether a failed start shows its traceback, even when the settings
    themselves are what failed to load."""
    value = os.environ.get("DEBUG")
    if value is None and Path(".env").is_file():
        value = dotenv_values(".env").get("DEBUG")
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "t", "y")


class LoggingSettings(BaseSettings):
    """The settings read first, so that reading the others logs in the chosen format."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # "json": one JSON object per line, for platforms that index logs.
    log_format: Literal["plain", "json"] = "plain"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def any_case(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            return value.strip().upper() if info.field_name == "log_level" else value.strip().lower()
        return value


class Settings(LoggingSettings):
    """Every setting the app reads. Names are the environment variables, upper-cased."""

    database_url: str = DEFAULT_DATABASE_URL
    # A PostgreSQL streaming replica for anonymous reads (see app.reader); unset or empty: none.
    database_read_url: str | None = None
    # Seconds between checks of a replica found unreachable; reads use the primary meanwhile.
    database_read_retry_seconds: float = Field(default=30.0, gt=0)
    env: Literal["dev", "test", "prod"] = "dev"
    debug: bool = False

    db_pool_size: int = Field(default=5, ge=0)
    db_max_overflow: int = Field(default=0, ge=0)
    db_pool_timeout: float = Field(default=5.0, gt=0)
    db_pool_recycle: int = Field(default=300, ge=0)
    db_pool_pre_ping: bool = True
    db_connect_timeout: float = Field(default=5.0, gt=0)
    db_connect_attempts: int = Field(default=5, ge=1)
    db_command_timeout: float = Field(default=30.0, gt=0)
    # uvicorn's own variable for worker processes; read here to report the connection budget.
    web_concurrency: int = Field(default=1, ge=1)

    cors_origins: Annotated[list[str], NoDecode] = []
    # The API's own address, as the OpenAPI document's `servers` entry: generated clients take their base
    # URL from it. "/" (relative) lets a client call whatever origin serves it instead of a hard-coded host.
    api_public_url: str = "/"
    auto_migrate: bool | None = None
    seed_demo_data: bool | None = None

    max_request_body_bytes: int = Field(default=1_048_576, ge=1024)
    # How long a shared cache (a CDN, a proxy, a browser) may serve an anonymous read of the catalogue without
    # asking again, and how long after that it may serve the old copy while it asks (app/http_caching.py).
    cache_max_age: int = Field(default=60, ge=0, le=31_536_000)
    cache_stale_while_revalidate: int = Field(default=300, ge=0, le=31_536_000)

    secret_key: str | None = Field(default=None, validate_default=True)
    access_token_expire_minutes: int = Field(default=15, ge=1)
    refresh_token_expire_days: int = Field(default=30, ge=1)
    allow_signup: bool | None = None
    first_superuser_email: str | None = None
    first_superuser_password: str | None = None

    # Rate limits, in the `limits` notation: "10/15 minutes", "100/hour", "5/minute".
    rate_limit_sign_in_per_account: RateLimitText = "10/15 minutes"
    rate_limit_sign_in_per_address: RateLimitText = "50/15 minutes"
    rate_limit_sign_up_per_account: RateLimitText = "5/hour"
    rate_limit_sign_up_per_address: RateLimitText = "20/hour"
    rate_limit_password_reset_per_account: RateLimitText = "3/hour"
    rate_limit_password_reset_per_address: RateLimitText = "20/hour"
    rate_limit_verify_email_per_account: RateLimitText = "3/hour"
    rate_limit_verify_email_per_address: RateLimitText = "20/hour"
    # Counters live in the database unless this is set (redis://host:6379/0, rediss://...).
    redis_url: str | None = None
    # Starts every key this app writes in Redis, so that several apps (or test runs) can share one server.
    redis_key_prefix: str = Field(default="pep-catalogue", min_length=1, max_length=100)

    public_url: str = "http://127.0.0.1:8000"
    # Where the emailed link points: a frontend page that reads `token` and calls POST /auth/password-reset/confirm.
    password_reset_url: str = "{public_url}/reset-password?token={token}"
    password_reset_expire_minutes: int = Field(default=30, ge=1, le=1440)
    # The emailed link that proves an address is the user's: a frontend page that calls POST /auth/verify-email.
    email_verification_url: str = "{public_url}/verify-email?token={token}"
    email_verification_expire_hours: int = Field(default=24, ge=1, le=720)
    # Sign-up answers the same for a new and a taken address, and sign-in waits for the emailed link.
    require_verified_email: bool = False
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "PEP catalogue <no-reply@localhost>"
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout: float = Field(default=10.0, gt=0)

    # Background jobs (app.jobs): run by a worker inside each web process unless this is false (then
    # run `python -m saq app.worker.settings` as a process of its own, the Procfile's `worker:` line).
    jobs_in_process: bool = True
    # A feed to import on a schedule (cron, or seconds); unset, nothing is scheduled.
    pep_feed_url: str | None = None
    pep_feed_schedule: Annotated[str, AfterValidator(as_cron)] = "0 4 * * *"

    # Error reporting to Sentry, off unless set.
    sentry_dsn: str | None = None
    # The share of requests timed for Sentry; of those, only the ones slower than the threshold are sent.
    sentry_traces_sample_rate: float = Field(default=0.1, ge=0, le=1)
    sentry_slow_request_ms: int = Field(default=1000, ge=0)

    @field_validator("secret_key")
    @classmethod
    def usable_secret_key(cls, value: str | None, info: ValidationInfo) -> str:
        if value is not None and value.strip().lower() not in _PLACEHOLDER_KEYS and len(value) >= SECRET_KEY_MIN_LENGTH:
            return value
        if info.data.get("env") == "prod":
            raise ValueError(
                f"must be set to a random string of at least {SECRET_KEY_MIN_LENGTH} characters when ENV=prod "
                f"(not a placeholder); generate one with: {GENERATE_KEY_HINT}"
            )
        if value is None:
            logger.warning(
                "SECRET_KEY is not set: signing tokens with a public development key. Set SECRET_KEY before deploying."
            )
            return DEVELOPMENT_SECRET_KEY
        logger.warning(
            "SECRET_KEY is weak (a placeholder, or under %d characters); ENV=prod will refuse it.",
            SECRET_KEY_MIN_LENGTH,
        )
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def split_comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("api_public_url")
    @classmethod
    def absolute_http_url_or_path(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        absolute = parts.scheme in ("http", "https") and bool(parts.hostname)
        path_only = not parts.scheme and not parts.netloc and parts.path.startswith("/")
        if not (absolute or path_only) or parts.query or parts.fragment:
            raise ValueError("must be an http(s) URL such as https://api.example.com, or a path such as /api")
        return urlunsplit(parts).rstrip("/") or "/"

    @field_validator("database_url")
    @classmethod
    def parseable_url(cls, value: str) -> str:
        url = normalise_database_url(value)
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            # The app reads and writes on separate connections, and each would get its own empty database.
            raise ValueError("names no SQLite file: an in-memory database is not supported; use sqlite:///./app.db")
        return value

    @field_validator("database_read_url")
    @classmethod
    def replica_of_postgresql(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return None
        url = normalise_database_url(value)
        if url.get_backend_name() != "postgresql":
            raise ValueError("must be a PostgreSQL URL: a read replica is a PostgreSQL standby")
        primary = info.data.get("database_url")
        if primary is not None and normalise_database_url(primary).get_backend_name() != "postgresql":
            raise ValueError("is set, but DATABASE_URL is SQLite: a read replica needs a PostgreSQL primary")
        return value

    @field_validator("password_reset_url", "email_verification_url")
    @classmethod
    def link_has_a_token(cls, value: str) -> str:
        if "{token}" not in value:
            raise ValueError("must contain {token}, where the link carries the token")
        return value

    @field_validator("pep_feed_url")
    @classmethod
    def empty_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @property
    def async_database_url(self) -> URL:
        return normalise_database_url(self.database_url)

    @property
    def async_database_read_url(self) -> URL | None:
        return None if self.database_read_url is None else normalise_database_url(self.database_read_url)

    @property
    def is_sqlite(self) -> bool:
        return self.async_database_url.get_backend_name() == "sqlite"

    @property
    def uses_transaction_pooler(self) -> bool:
        return uses_transaction_pooler(self.database_url)

    @property
    def replica_uses_transaction_pooler(self) -> bool:
        return self.database_read_url is not None and uses_transaction_pooler(self.database_read_url)

    @property
    def connections_per_pool(self) -> int:
        """The most connections one pool (the primary's, or the replica's) holds open across an instance's workers."""
        return (self.db_pool_size + self.db_max_overflow) * self.web_concurrency

    @property
    def connections_per_instance(self) -> int:
        """The most PostgreSQL connections one instance (all its workers, both pools) can hold open."""
        return self.connections_per_pool * (1 if self.database_read_url is None else 2)

    @property
    def should_auto_migrate(self) -> bool:
        """SQLite migrates itself (a release step cannot reach the web container's file)."""
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @property
    def should_seed_demo_data(self) -> bool:
        return self.env != "prod" if self.seed_demo_data is None else self.seed_demo_data

    @property
    def signup_open(self) -> bool:
        return self.env != "prod" if self.allow_signup is None else self.allow_signup


# libpq's sslmode values, as asyncpg's `ssl` connect argument understands them.
_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


def normalise_database_url(raw_url: str) -> URL:
    """Turn any URL a platform hands out into the async driver's form.

    `postgres://`, `postgresql://`, `postgresql+psycopg2://` and `postgresql+asyncpg://` become
    `postgresql+asyncpg://`; `sqlite://` forms become `sqlite+aiosqlite://`. libpq's `sslmode`
    becomes asyncpg's `ssl`, and libpq-only options asyncpg would reject are dropped.
    """
    raw_url = raw_url.strip()
    scheme, separator, rest = raw_url.partition("://")
    if not separator:
        raise ValueError("must look like postgresql://user:password@host/dbname or sqlite:///file.db")
    backend = scheme.split("+", 1)[0].lower()
    if backend in ("postgres", "postgresql"):
        parts = urlsplit(f"postgresql+asyncpg://{rest}")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        sslmode = query.pop("sslmode", None)
        if sslmode is not None:
            if sslmode not in _SSLMODES:
                raise ValueError(f"sslmode must be one of {', '.join(sorted(_SSLMODES))}")
            query["ssl"] = sslmode
        for libpq_only in ("sslrootcert", "sslcert", "sslkey", "channel_binding", "connect_timeout", "pgbouncer"):
            query.pop(libpq_only, None)
        url = make_url(urlunsplit(parts._replace(query=urlencode(query))))
        if not url.database:
            raise ValueError("names no database: add /dbname after the host")
        return url
    if backend == "sqlite":
        return make_url(f"sqlite+aiosqlite://{rest}")
    raise ValueError(f"scheme {scheme!r} is not supported: use postgresql:// or sqlite:///")


def uses_transaction_pooler(raw_url: str) -> bool:
    """Does this URL go through PgBouncer in transaction mode, where prepared statements cannot be cached?

    Said with `?pgbouncer=true`, or recognised: Neon's pooled hosts (`-pooler.`) and Supabase's
    transaction pooler (port 6543 on `pooler.supabase.com`).
    """
    parts = urlsplit(raw_url.strip())
    if dict(parse_qsl(parts.query)).get("pgbouncer", "").lower() in ("true", "1", "yes"):
        return True
    host = parts.hostname or ""
    return "-pooler." in host or (host.endswith("pooler.supabase.com") and parts.port == 6543)


def describe_database(url: URL) -> str:
    """Where the database is, for logs: never the password."""
    if url.get_backend_name() == "sqlite":
        return f"sqlite file {url.database}"
    return f"postgresql {url.host or 'localhost'}:{url.port or 5432}/{url.database}"


SettingsKind = TypeVar("SettingsKind", bound=LoggingSettings)


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning a validation error into one message per bad variable."""
    return _load(Settings, **overrides)


def load_logging_settings() -> LoggingSettings:
    return _load(LoggingSettings)


def _load(kind: type[SettingsKind], **overrides: Any) -> SettingsKind:
    try:
        return kind(**overrides)
    except ValidationError as error:
        problems = "; ".join(
            f"{str(e['loc'][0]).upper()}: {e['msg'].removeprefix('Value error, ')}" for e in error.errors()
        )
        raise ConfigError(f"Invalid setting(s): {problems}") from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
