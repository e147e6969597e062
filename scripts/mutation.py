"""Mutation testing for one module: how much of its behaviour do the tests actually pin down?

    python scripts/mutation.py app/config.py
    python scripts/mutation.py app/errors.py --recheck-on postgresql://postgres@127.0.0.1:5432/mutation_db
    python scripts/mutation.py app/generator/resource.py --sample 40 --seed 5

Each mutant is one small change to the module's source (a comparison flipped, `and` made `or`, a
keyword argument such as `le=MAX_ID` or `autoescape=True` dropped, a number or string altered, a
call statement removed, a return value replaced by None...). The project is copied once to a
temporary folder; for each mutant, one at a time, the mutated module is written there and the
module's mapped tests run (`pytest -x`). A mutant whose tests still pass has *survived*: a change
no test notices. The report gives killed/survived figures and every survivor with its line.

Why not mutmut: mutmut 3 mutates only plain module-level functions, so Field constraints, Settings
validators and properties, and module constants (where many of this project's rules live) are
never mutated. This runner mutates the whole module, class bodies included.

Mutants that change nothing a user could observe are listed in EQUIVALENT with the reason, and
left out of the figures. Not part of CI: a module takes minutes (one pytest run per mutant).
A PostgreSQL database given with --database-url or --recheck-on is emptied by the tests, as in
the README's PostgreSQL pass: name one of your own.
"""

import argparse
import ast
import copy
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# The fast tests that exercise each module (no test that starts servers or creates databases).
MODULE_TESTS: dict[str, list[str]] = {
    "app/listing.py": [
        "tests/test_cursor_pages.py",
        "tests/test_list_filters.py",
        "tests/test_reads.py",
        "tests/peps/test_peps.py",
        "tests/authors/test_authors.py",
        "tests/notes/test_notes.py",
    ],
    "app/reads.py": [
        "tests/test_cursor_pages.py",
        "tests/test_list_filters.py",
        "tests/peps/test_peps.py",
        "tests/test_reads.py",
        "tests/authors/test_authors.py",
    ],
    "app/reader.py": [
        "tests/test_list_filters.py",
        "tests/peps/test_peps.py",
        "tests/test_reads.py",
        "tests/notes/test_notes.py",
        "tests/test_health_and_errors.py",
        "tests/peps/test_importer.py",
        "tests/test_read_replica.py",
    ],
    "app/sql.py": ["tests/test_list_filters.py", "tests/peps/test_peps.py", "tests/authors/test_authors.py"],
    "app/auth/security.py": [
        "tests/auth/test_documented_answers.py",
        "tests/auth/test_sign_in.py",
        "tests/test_security.py",
        "tests/auth/test_sessions_and_resets.py",
        "tests/notes/test_notes.py",
    ],
    "app/auth/dependencies.py": [
        "tests/auth/test_documented_answers.py",
        "tests/auth/test_sign_in.py",
        "tests/test_security.py",
        "tests/auth/test_sessions_and_resets.py",
        "tests/notes/test_notes.py",
    ],
    "app/errors.py": [
        "tests/test_error_answers.py",
        "tests/test_health_and_errors.py",
        "tests/test_security.py",
        "tests/users/test_emails.py",
    ],
    "app/search.py": [
        "tests/test_search.py",
        "tests/test_migrations.py",
        "tests/test_list_filters.py",
        "tests/authors/test_authors.py",
        "tests/peps/test_peps.py",
    ],
    "app/auth/sessions.py": [
        "tests/auth/test_documented_answers.py",
        "tests/auth/test_sign_in.py",
        "tests/auth/test_sessions_and_resets.py",
        "tests/test_security.py",
    ],
    "app/auth/rate_limits.py": [
        "tests/auth/test_rate_limits.py",
        "tests/auth/test_sign_in.py",
        "tests/auth/test_sessions_and_resets.py",
    ],
    "app/peps/importer.py": ["tests/peps/test_importer.py"],
    # Its rules first (fast), then the end-to-end run (minutes): most mutants fail in the first.
    "app/generator/resource.py": ["tests/generator/test_resource.py"],
    "app/config.py": [
        "tests/test_settings_rules.py",
        "tests/test_config.py",
        "tests/auth/test_rate_limits.py",
        "tests/test_security.py",
        "tests/test_read_replica.py",
    ],
}

# Mutants that change no behaviour, by module, keyed as the report prints them, with the reason.
EQUIVALENT: dict[str, dict[str, str]] = {
    "app/auth/security.py": {
        "<module>: T = TypeVar('T') -> T = TypeVar('XXTXX')": "a TypeVar's name is only its repr",
        "<module>: _HASHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix='argon2') -> _HASHING = ThreadPoolExecutor(max_workers=1)": "the thread's name shows only in a debugger or a thread dump",
        "<module>: _HASHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix='argon2') -> _HASHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix='XXargon2XX')": "the thread's name shows only in a debugger or a thread dump",
        "password_fingerprint: return hashlib.sha256(hashed_password.encode()).hexdigest()[:32] -> return hashlib.sha256(hashed_password.encode()).hexdigest()[:33]": "the fingerprint is made and compared by this one function; any length that changes with the password binds a reset token to it",
        "<module>: TokenKind = Literal['access', 'refresh', 'reset'] -> TokenKind = Literal['XXaccessXX', 'refresh', 'reset']": "a Literal type only tells the type checker which kinds exist; the kinds in the tokens are the strings passed at each call",
        "<module>: TokenKind = Literal['access', 'refresh', 'reset'] -> TokenKind = Literal['access', 'XXrefreshXX', 'reset']": "a Literal type only tells the type checker which kinds exist; the kinds in the tokens are the strings passed at each call",
        "<module>: TokenKind = Literal['access', 'refresh', 'reset'] -> TokenKind = Literal['access', 'refresh', 'XXresetXX']": "a Literal type only tells the type checker which kinds exist; the kinds in the tokens are the strings passed at each call",
        "<module>: _DUMMY_HASH = password_hash.hash('not-a-real-password') -> _DUMMY_HASH = password_hash.hash('XXnot-a-real-passwordXX')": "the dummy hash only spends the time of a real check; an unknown email answers False whatever password it hashes",
    },
    "app/auth/dependencies.py": {
        "<module>: oauth2_scheme = OAuth2PasswordBearer(tokenUrl='/auth/token', auto_error=False) -> oauth2_scheme = OAuth2PasswordBearer(tokenUrl='/auth/token')": "FastAPI's own error for a missing token is the same 401, detail 'Not authenticated', WWW-Authenticate: Bearer",
        "<module>: oauth2_scheme = OAuth2PasswordBearer(tokenUrl='/auth/token', auto_error=False) -> oauth2_scheme = OAuth2PasswordBearer(tokenUrl='/auth/token', auto_error=True)": "FastAPI's own error for a missing token is the same 401, detail 'Not authenticated', WWW-Authenticate: Bearer",
    },
    "app/errors.py": {
        "AppError.__init__: super().__init__(detail) -> pass": "BaseException.__new__ already keeps the message in args, so str(error) reads the same",
        "InvalidValueError.__init__: super().__init__(detail) -> pass": "BaseException.__new__ already keeps the message in args, so str(error) reads the same",
        "invalid_value: where = 'query' if request.method in ('GET', 'HEAD') else 'body' -> where = 'query' if request.method in ('GET', 'XXHEADXX') else 'body'": "a HEAD answer has no body, so where the problem is located cannot be seen; the status (422) is the same",
        "sqlstate_of: return str(getattr(getattr(error, 'orig', None), 'sqlstate', None) or '') -> return str(getattr(getattr(error, 'orig', None), 'sqlstate', None) or 'XXXX')": "an error without a SQLSTATE is not invalid data whether it reads '' or 'XXXX' (neither starts with 22), and only invalid data shows its SQLSTATE",
        "InvalidValueError: status_code = 422 -> status_code = 423": "its own handler answers with invalid_value(), always a 422 in FastAPI's validation shape; the attribute only documents it",
    },
    "app/auth/rate_limits.py": {
        "Limit: dataclass(frozen=True) -> dataclass()": "no code assigns to a Limit after making it; frozen only guards against a future change doing so",
        "Limit: dataclass(frozen=True) -> dataclass(frozen=False)": "no code assigns to a Limit after making it; frozen only guards against a future change doing so",
        "Limit.key: return f'{self.name}:{who}' -> return f'{self.name}XX:XX{who}'": "a counter's key only has to be the same for counting and clearing, and differ between limits and between accounts or addresses; any separator does",
        "Limits: dataclass(frozen=True) -> dataclass()": "no code assigns to Limits after making it; frozen only guards against a future change doing so",
        "Limits: dataclass(frozen=True) -> dataclass(frozen=False)": "no code assigns to Limits after making it; frozen only guards against a future change doing so",
        "Limits.from_settings: 'Limits' -> 'XXLimitsXX'": "a return annotation: nothing reads it at run time",
        "Limits.from_settings: return cls(Limit('sign-in:account', parse(settings.rate_limit_sign_in_per_account)), Limit('sign-in:address', parse(settings.rate_limit_sign_in_per_address)), Limit('sign-up:account', parse(settings.rate_limit_sign_up_per_account)), Limit('sign-up:address', parse(settings.rate_limit_sign_up_per_address)), Limit('password-reset:account', parse(settings.rate_limit_password_reset_per_account)), Limit('password-reset:address', parse(settings.rate_limit_password_reset_per_address))) -> return cls(Limit('XXsign-in:accountXX', parse(settings.rate_limit_sign_in_per_account)), Limit('sign-in:address', parse(settings.rate_limit_sign_in_per_address)), Limit('sign-up:account', parse(settings.rate_limit_sign_up_per_account)), Limit('sign-up:address', parse(settings.rate_limit_sign_up_per_address)), Limit('password-reset:account', parse(settings.rate_limit_password_reset_per_account)), Limit('password-reset:address', parse(settings.rate_limit_password_reset_per_address)))": "a limit's name only keeps its counters apart from the other limits' (in the table or in Redis); any six distinct names do, and a changed one is still distinct",
        "Limits.from_settings: return cls(Limit('sign-in:account', parse(settings.rate_limit_sign_in_per_account)), Limit('sign-in:address', parse(settings.rate_limit_sign_in_per_address)), Limit('sign-up:account', parse(settings.rate_limit_sign_up_per_account)), Limit('sign-up:address', parse(settings.rate_limit_sign_up_per_address)), Limit('password-reset:account', parse(settings.rate_limit_password_reset_per_account)), Limit('password-reset:address', parse(settings.rate_limit_password_reset_per_address))) -> return cls(Limit('sign-in:account', parse(settings.rate_limit_sign_in_per_account)), Limit('XXsign-in:addressXX', parse(settings.rate_limit_sign_in_per_address)), Limit('sign-up:account', parse(settings.rate_limit_sign_up_per_account)), Limit('sign-up:address', parse(settings.rate_limit_sign_up_per_address)), Limit('password-reset:account', parse(settings.rate_limit_password_reset_per_account)), Limit('password-reset:address', parse(settings.rate_limit_password_reset_per_address)))": "a limit's name only keeps its counters apart from the other limits' (in the table or in Redis); any six distinct names do, and a changed one is still distinct",
        "Limits.from_settings: return cls(Limit('sign-in:account', parse(settings.rate_limit_sign_in_per_account)), Limit('sign-in:address', parse(settings.rate_limit_sign_in_per_address)), Limit('sign-up:account', parse(settings.rate_limit_sign_up_per_account)), Limit('sign-up:address', parse(settings.rate_limit_sign_up_per_address)), Limit('password-reset:account', parse(settings.rate_limit_password_reset_per_account)), Limit('password-reset:address', parse(settings.rate_limit_password_reset_per_address))) -> return cls(Limit('sign-in:account', parse(settings.rate_limit_sign_in_per_account)), Limit('sign-in:address', parse(settings.rate_limit_sign_in_per_address)), Limit('XXsign-up:accountXX', parse(settings.rate_limit_sign_up_per_account)), Limit('sign-up:address', parse(settings.rate_limit_sign_up_per_address)), Limit('password-reset:account', parse(settings.rate_limit_password_reset_per_account)), Limit('password-reset:address', parse(settings.rate_limit_password_reset_per_address)))": "a limit's name only keeps its counters apart from the other limits' (in the table or in Redis); any six distinct names do, and a changed one is still distinct",
        "Limits.from_settings: return cls(Limit('sign-in:account', parse(settings.rate_limit_sign_in_per_account)), Limit('sign-in:address', parse(settings.rate_limit_sign_in_per_address)), Limit('sign-up:account', parse(settings.rate_limit_sign_up_per_account)), Limit('sign-up:address', parse(settings.rate_limit_sign_up_per_address)), Limit('password-reset:account', parse(settings.rate_limit_password_reset_per_account)), Limit('password-reset:address', parse(settings.rate_limit_password_reset_per_address))) -> return cls(Limit('sign-in:account', parse(settings.rate_limit_sign_in_per_account)), Limit('sign-in:address', parse(settings.rate_limit_sign_in_per_address)), Limit('sign-up:account', parse(settings.rate_limit_sign_up_per_account)), Limit('XXsign-up:addressXX', parse(settings.rate_limit_sign_up_per_address)), Limit('password-reset:account', parse(settings.rate_limit_password_reset_per_account)), Limit('password-reset:address', parse(settings.rate_limit_password_reset_per_address)))": "a limit's name only keeps its counters apart from the other limits' (in the table or in Redis); any six distinct names do, and a changed one is still distinct",
        "Limits.from_settings: return cls(Limit('sign-in:account', parse(settings.rate_limit_sign_in_per_account)), Limit('sign-in:address', parse(settings.rate_limit_sign_in_per_address)), Limit('sign-up:account', parse(settings.rate_limit_sign_up_per_account)), Limit('sign-up:address', parse(settings.rate_limit_sign_up_per_address)), Limit('password-reset:account', parse(settings.rate_limit_password_reset_per_account)), Limit('password-reset:address', parse(settings.rate_limit_password_reset_per_address))) -> return cls(Limit('sign-in:account', parse(settings.rate_limit_sign_in_per_account)), Limit('sign-in:address', parse(settings.rate_limit_sign_in_per_address)), Limit('sign-up:account', parse(settings.rate_limit_sign_up_per_account)), Limit('sign-up:address', parse(settings.rate_limit_sign_up_per_address)), Limit('XXpassword-reset:accountXX', parse(settings.rate_limit_password_reset_per_account)), Limit('password-reset:address', parse(settings.rate_limit_password_reset_per_address)))": "a limit's name only keeps its counters apart from the other limits' (in the table or in Redis); any six distinct names do, and a changed one is still distinct",
        "Limits.from_settings: return cls(Limit('sign-in:account', parse(settings.rate_limit_sign_in_per_account)), Limit('sign-in:address', parse(settings.rate_limit_sign_in_per_address)), Limit('sign-up:account', parse(settings.rate_limit_sign_up_per_account)), Limit('sign-up:address', parse(settings.rate_limit_sign_up_per_address)), Limit('password-reset:account', parse(settings.rate_limit_password_reset_per_account)), Limit('password-reset:address', parse(settings.rate_limit_password_reset_per_address))) -> return cls(Limit('sign-in:account', parse(settings.rate_limit_sign_in_per_account)), Limit('sign-in:address', parse(settings.rate_limit_sign_in_per_address)), Limit('sign-up:account', parse(settings.rate_limit_sign_up_per_account)), Limit('sign-up:address', parse(settings.rate_limit_sign_up_per_address)), Limit('password-reset:account', parse(settings.rate_limit_password_reset_per_account)), Limit('XXpassword-reset:addressXX', parse(settings.rate_limit_password_reset_per_address)))": "a limit's name only keeps its counters apart from the other limits' (in the table or in Redis); any six distinct names do, and a changed one is still distinct",
        "account_key: return hashlib.sha256(email.encode('utf-8', 'surrogatepass')).hexdigest()[:32] -> return hashlib.sha256(email.encode('utf-8', 'surrogatepass')).hexdigest()[:33]": "the key only has to be the same for the same address and differ between addresses; 33 hexadecimal digits do as 32",
        "account_key: return hashlib.sha256(email.encode('utf-8', 'surrogatepass')).hexdigest()[:32] -> return hashlib.sha256(email.encode('utf-8', 'XXsurrogatepassXX')).hexdigest()[:32]": "no input reaches it holding a lone surrogate: form fields are decoded with replacement characters and JSON strings holding one are refused with a 422 (tried on /auth/token, /auth/register, /auth/password-reset), so the error handler is never used",
        "client_address: return request.client.host if request.client else 'unknown' -> return request.client.host if request.client else 'XXunknownXX'": "clients without an address (a Unix socket) share one counter whatever its label reads",
        "DatabaseRateLimiter.hit: expired = table.c.window_ends_at <= now -> expired = table.c.window_ends_at < now": "the statement before deletes every counter whose window has ended, so the upsert never finds one; its expired case only guards a counter another transaction writes between the two statements",
        "DatabaseRateLimiter.hit: upsert = dialect.insert(table).values(key=limit.key(who), hits=1, window_ends_at=window_end).on_conflict_do_update(index_elements=[table.c.key], set_={'hits': case((expired, 1), else_=table.c.hits + 1), 'window_ends_at': case((expired, window_end), else_=table.c.window_ends_at)}).returning(table.c.hits, table.c.window_ends_at) -> upsert = dialect.insert(table).values(key=limit.key(who), hits=1, window_ends_at=window_end).on_conflict_do_update(index_elements=[table.c.key], set_={'hits': case((expired, 2), else_=table.c.hits + 1), 'window_ends_at': case((expired, window_end), else_=table.c.window_ends_at)}).returning(table.c.hits, table.c.window_ends_at)": "the statement before deletes every counter whose window has ended, so the upsert never finds one; its expired case only guards a counter another transaction writes between the two statements",
    },
    "app/auth/sessions.py": {
        "SignedIn: dataclass(frozen=True) -> dataclass()": "no code assigns to a SignedIn after making it; frozen only guards against a future change doing so",
        "SignedIn: dataclass(frozen=True) -> dataclass(frozen=False)": "no code assigns to a SignedIn after making it; frozen only guards against a future change doing so",
        "signed_in: user_id is None or session_id is None -> user_id is None and session_id is None": "a token this app signs holds both ids; for a signed token missing one, the query with a NULL id finds no row: the same 401",
        "refresh_session: claims is None or not isinstance(claims.get('gen'), int) or (not 0 <= claims['gen'] <= MAX_ID) -> claims is None or not isinstance(claims.get('gen'), int) or (not 0 <= claims['gen'] < MAX_ID)": "a generation reaches MAX_ID only after 2^31-1 refreshes of one session, and a token naming any other generation is refused the same",
        "refresh_session: rotated = await session.exec(update(AuthSession).where(col(AuthSession.id) == session_id, col(AuthSession.refresh_generation) == generation, col(AuthSession.expires_at) > now, col(AuthSession.user_id).in_(select(User.id).where(col(User.is_active)))).values(refresh_generation=AuthSession.refresh_generation + 1, expires_at=now + timedelta(days=settings.refresh_token_expire_days)).returning(AuthSession)) -> rotated = await session.exec(update(AuthSession).where(col(AuthSession.id) == session_id, col(AuthSession.refresh_generation) == generation, col(AuthSession.expires_at) > now, col(AuthSession.user_id).in_(select(User.id).where(col(User.is_active)))).values(refresh_generation=AuthSession.refresh_generation + 2, expires_at=now + timedelta(days=settings.refresh_token_expire_days)).returning(AuthSession))": "the new refresh token carries the generation the row now holds (RETURNING); any step forward makes the old token stale alike",
        "refresh_session: await end_session(session, session_id, only_before_generation=generation) -> await end_session(session, session_id)": "the swap fails for a current token only when the session has expired (unusable either way, and cleared at the next sign-in) or its user is inactive (deactivation already ended every session): keeping or deleting the row answers the same",
    },
    "app/peps/importer.py": {
        "_holds_lone_surrogate: match.start() - backslashes > 0 and data[match.start() - backslashes - 1] == ord('\\\\') -> match.start() + backslashes > 0 and data[match.start() - backslashes - 1] == ord('\\\\')": "counting never reaches the feed's first character ({ or [, never a backslash), so the bound is never what stops it",
        "Feed._records: items: Iterable[tuple[str, Any]] = ijson.kvitems(stream, '', use_float=True) -> items: Iterable[tuple[str, Any]] = ijson.kvitems(stream, '')": "whole numbers arrive as int either way; only a number with a fraction or an exponent differs (float or Decimal), and both are refused, by the record's checks or as too large (tried: 8.0, 8.5 and 1e9999 as a PEP number)",
        "<module>: BATCH_SIZE = 500 -> BATCH_SIZE = 501": "the batch size only sets how many PEPs go in one statement; 501 stays under both drivers' parameter limits (the 33,000-PEP test)",
        "import_peps: await connection.execute(select(func.set_config(DEFER_PEP_COUNT_SETTING, 'off', True))) -> await connection.execute(select(func.set_config(DEFER_PEP_COUNT_SETTING, 'off', False)))": "the triggers run once the setting is not 'on': set back to 'off' for the transaction or for the session, it reads 'off' afterwards either way",
        "ImportReport: peps_in_database: int = 0 -> peps_in_database: int = 1": "import_peps sets peps_in_database before it returns a report; the default is never shown",
        "_holds_lone_surrogate: match.start() - backslashes > 0 and data[match.start() - backslashes - 1] == ord('\\\\') -> match.start() - backslashes > 1 and data[match.start() - backslashes - 1] == ord('\\\\')": "a feed's first character is { or [ (or white space before it), never a backslash, so counting stops there either way",
        "<module>: VALUE_COLUMNS = [column.key for column in PEP_TABLE.c if column.key not in ('number', 'created_at', 'updated_at')] -> VALUE_COLUMNS = [column.key for column in PEP_TABLE.c if column.key not in ('XXnumberXX', 'created_at', 'updated_at')]": "rows are matched on their number, so its stored value never differs from the feed's and an update writes it unchanged",
        "read_source: response = httpx.get(text, timeout=30, follow_redirects=True) -> response = httpx.get(text, timeout=31, follow_redirects=True)": "the download's timeout: 30 or 31 seconds makes no answer differ",
        "Feed._records: raise PepDataError(f'{self.source_name} holds text that is not valid Unicode (a lone surrogate?)') from None -> raise PepDataError(f'{self.source_name}XX holds text that is not valid Unicode (a lone surrogate?)XX') from None": "unreachable in practice: _check_nesting decodes the same bytes first and raises its own error for text that is not valid Unicode (30,000 fuzzed feeds reached only the JSON clause above it, for a number too large for a float)",
        "import_peps: keeps_pep_counts = connection.dialect.name == 'postgresql' -> keeps_pep_counts = connection.dialect.name == 'XXpostgresqlXX'": "the statement triggers then keep the counts during the import, as before the deferral: the same counts, only slower (issue 9's measurement)",
        "import_peps: report.created > 2 * max(created_at_last_analyze, BATCH_SIZE) -> report.created >= 2 * max(created_at_last_analyze, BATCH_SIZE)": "ANALYZE only refreshes PostgreSQL's planner statistics during a big import, so later batches' look-ups stay fast; it changes no row (the benchmark's scale run measures it)",
        "import_peps: report.created > 2 * max(created_at_last_analyze, BATCH_SIZE) -> report.created > 2 / max(created_at_last_analyze, BATCH_SIZE)": "ANALYZE only refreshes PostgreSQL's planner statistics during a big import, so later batches' look-ups stay fast; it changes no row (the benchmark's scale run measures it)",
        "import_peps: report.created > 2 * max(created_at_last_analyze, BATCH_SIZE) -> report.created > 3 * max(created_at_last_analyze, BATCH_SIZE)": "ANALYZE only refreshes PostgreSQL's planner statistics during a big import, so later batches' look-ups stay fast; it changes no row (the benchmark's scale run measures it)",
        "import_peps: await _refresh_planner_statistics(session) -> pass": "ANALYZE only refreshes PostgreSQL's planner statistics during a big import, so later batches' look-ups stay fast; it changes no row (the benchmark's scale run measures it)",
        "_refresh_planner_statistics: connection.dialect.name == 'postgresql' -> connection.dialect.name == 'XXpostgresqlXX'": "ANALYZE only refreshes PostgreSQL's planner statistics during a big import, so later batches' look-ups stay fast; it changes no row (the benchmark's scale run measures it)",
        "_refresh_planner_statistics: await connection.execute(text(f'ANALYZE {PEP_TABLE.name}, {LINK_TABLE.name}')) -> pass": "ANALYZE only refreshes PostgreSQL's planner statistics during a big import, so later batches' look-ups stay fast; it changes no row (the benchmark's scale run measures it)",
        "import_peps: await connection.execute(select(func.set_config(DEFER_PEP_COUNT_SETTING, 'off', True))) -> await connection.execute(select(func.set_config(DEFER_PEP_COUNT_SETTING, 'XXoffXX', True)))": "the triggers defer only while the setting reads 'on'; any other value lets them run",
    },
    "app/generator/resource.py": {
        "Reference: dataclass(frozen=True) -> dataclass(frozen=False)": "no code assigns to a Reference after making it; frozen only guards against a future change doing so",
        "<module>: REFERENCES = {'pep': Reference('pep', 'number', 'PEP', 'app.peps.models', 'Pep', (8, 20, 1), 'ge=0, le=99999'), 'author': Reference('author', 'id', 'Author', 'app.authors.models', 'Author', (1, 2, 3), 'ge=1, le=MAX_ID')} -> REFERENCES = {'pep': Reference('pep', 'number', 'PEP', 'app.peps.models', 'Pep', (8, 20, 1), 'ge=0, le=99999'), 'author': Reference('author', 'id', 'Author', 'app.authors.models', 'Author', (1, 2, 4), 'ge=1, le=MAX_ID')}": "the examples need three authors that exist in the bundled data; author 4 exists as 3 does",
        "FieldSpec.sample: return {'str': [f'{self.name} {word}' for word in ('one', 'two', 'three')][i], 'text': [f'Some longer text for {self.name}, number {n}.' for n in ('one', 'two', 'three')][i], 'int': [1, 2, 3][i], 'float': [1.5, 2.5, 3.5][i], 'bool': [True, False, True][i], 'date': ['2026-11-25', '2026-11-26', '2026-11-27'][i], 'datetime': ['2026-11-25T12:00:00Z', '2026-11-26T12:00:00Z', '2026-11-27T12:00:00Z'][i]}[self.kind] -> return {'str': [f'{self.name} {word}' for word in ('one', 'two', 'three')][i], 'text': [f'Some longer text for {self.name}, number {n}.' for n in ('one', 'two', 'three')][i], 'int': [1, 2, 3][i], 'float': [1.5, 2.5, 3.5][i], 'bool': [False, False, True][i], 'date': ['2026-11-25', '2026-11-26', '2026-11-27'][i], 'datetime': ['2026-11-25T12:00:00Z', '2026-11-26T12:00:00Z', '2026-11-27T12:00:00Z'][i]}[self.kind]": "the examples only fill the docs and the generated tests, which compute their expectations from the same examples; any valid ones serve",
        "names_the_app_uses: tree = ast.parse(path.read_text(encoding='utf-8')) -> tree = ast.parse(path.read_text())": "Python 3.11 reads files as UTF-8 here (PEP 538 coerces the C locale), and the app's modules are UTF-8",
        "FieldSpec.sample: return {'str': [f'{self.name} {word}' for word in ('one', 'two', 'three')][i], 'text': [f'Some longer text for {self.name}, number {n}.' for n in ('one', 'two', 'three')][i], 'int': [1, 2, 3][i], 'float': [1.5, 2.5, 3.5][i], 'bool': [True, False, True][i], 'date': ['2026-11-25', '2026-11-26', '2026-11-27'][i], 'datetime': ['2026-11-25T12:00:00Z', '2026-11-26T12:00:00Z', '2026-11-27T12:00:00Z'][i]}[self.kind] -> return {'str': [f'{self.name} {word}' for word in ('XXoneXX', 'two', 'three')][i], 'text': [f'Some longer text for {self.name}, number {n}.' for n in ('one', 'two', 'three')][i], 'int': [1, 2, 3][i], 'float': [1.5, 2.5, 3.5][i], 'bool': [True, False, True][i], 'date': ['2026-11-25', '2026-11-26', '2026-11-27'][i], 'datetime': ['2026-11-25T12:00:00Z', '2026-11-26T12:00:00Z', '2026-11-27T12:00:00Z'][i]}[self.kind]": "the examples only fill the docs and the generated tests, which compute their expectations from the same examples; any valid ones serve",
        "FieldSpec.sample: return {'str': [f'{self.name} {word}' for word in ('one', 'two', 'three')][i], 'text': [f'Some longer text for {self.name}, number {n}.' for n in ('one', 'two', 'three')][i], 'int': [1, 2, 3][i], 'float': [1.5, 2.5, 3.5][i], 'bool': [True, False, True][i], 'date': ['2026-11-25', '2026-11-26', '2026-11-27'][i], 'datetime': ['2026-11-25T12:00:00Z', '2026-11-26T12:00:00Z', '2026-11-27T12:00:00Z'][i]}[self.kind] -> return {'str': [f'{self.name} {word}' for word in ('one', 'two', 'three')][i], 'text': [f'XXSome longer text for XX{self.name}, number {n}.' for n in ('one', 'two', 'three')][i], 'int': [1, 2, 3][i], 'float': [1.5, 2.5, 3.5][i], 'bool': [True, False, True][i], 'date': ['2026-11-25', '2026-11-26', '2026-11-27'][i], 'datetime': ['2026-11-25T12:00:00Z', '2026-11-26T12:00:00Z', '2026-11-27T12:00:00Z'][i]}[self.kind]": "the examples only fill the docs and the generated tests, which compute their expectations from the same examples; any valid ones serve",
        "FieldSpec.sample: return {'str': [f'{self.name} {word}' for word in ('one', 'two', 'three')][i], 'text': [f'Some longer text for {self.name}, number {n}.' for n in ('one', 'two', 'three')][i], 'int': [1, 2, 3][i], 'float': [1.5, 2.5, 3.5][i], 'bool': [True, False, True][i], 'date': ['2026-11-25', '2026-11-26', '2026-11-27'][i], 'datetime': ['2026-11-25T12:00:00Z', '2026-11-26T12:00:00Z', '2026-11-27T12:00:00Z'][i]}[self.kind] -> return {'str': [f'{self.name} {word}' for word in ('one', 'two', 'three')][i], 'text': [f'Some longer text for {self.name}, number {n}.' for n in ('one', 'two', 'three')][i], 'int': [1, 2, 3][i], 'float': [1.5, 2.5, 3.5][i], 'bool': [True, False, False][i], 'date': ['2026-11-25', '2026-11-26', '2026-11-27'][i], 'datetime': ['2026-11-25T12:00:00Z', '2026-11-26T12:00:00Z', '2026-11-27T12:00:00Z'][i]}[self.kind]": "the examples only fill the docs and the generated tests, which compute their expectations from the same examples; any valid ones serve",
        "describe_field: spec.field_args = f'{default}{all_args}'.rstrip(', ') -> spec.field_args = f'{default}{all_args}'.rstrip('XX, XX')": "rstrip removes trailing commas and spaces; the arguments never end in X, so also stripping X changes nothing",
        "run_python: return subprocess.run([sys.executable, *args], input=stdin, cwd=root, env=env, capture_output=True, text=True, check=False) -> return subprocess.run([sys.executable, *args], input=stdin, cwd=root, env=env, capture_output=True, text=True)": "check=False is subprocess.run's default",
        "apply: path.parent.mkdir(parents=True, exist_ok=True) -> path.parent.mkdir(exist_ok=True)": "every file it writes goes into app/<plural>/, whose parent app/ exists, or into tests/, which exists: no missing parent to create",
        "apply: path.parent.mkdir(parents=True, exist_ok=True) -> path.parent.mkdir(parents=False, exist_ok=True)": "every file it writes goes into app/<plural>/, whose parent app/ exists, or into tests/, which exists: no missing parent to create",
        "apply: snapshot.write_text(old_snapshot, encoding='utf-8') -> snapshot.write_text(old_snapshot)": "Python 3.11 reads and writes files as UTF-8 here (PEP 538 coerces the C locale), as the snapshot was read",
        "FieldSpec.sample: return {'str': [f'{self.name} {word}' for word in ('one', 'two', 'three')][i], 'text': [f'Some longer text for {self.name}, number {n}.' for n in ('one', 'two', 'three')][i], 'int': [1, 2, 3][i], 'float': [1.5, 2.5, 3.5][i], 'bool': [True, False, True][i], 'date': ['2026-11-25', '2026-11-26', '2026-11-27'][i], 'datetime': ['2026-11-25T12:00:00Z', '2026-11-26T12:00:00Z', '2026-11-27T12:00:00Z'][i]}[self.kind] -> return {'str': [f'{self.name} {word}' for word in ('one', 'two', 'three')][i], 'text': [f'Some longer text for {self.name}, number {n}.' for n in ('one', 'XXtwoXX', 'three')][i], 'int': [1, 2, 3][i], 'float': [1.5, 2.5, 3.5][i], 'bool': [True, False, True][i], 'date': ['2026-11-25', '2026-11-26', '2026-11-27'][i], 'datetime': ['2026-11-25T12:00:00Z', '2026-11-26T12:00:00Z', '2026-11-27T12:00:00Z'][i]}[self.kind]": "any three distinct texts serve as examples; 'XXtwoXX' is as distinct as 'two'",
    },
    "app/config.py": {
        "<module>: SettingsKind = TypeVar('SettingsKind', bound=LoggingSettings) -> SettingsKind = TypeVar('SettingsKind')": "the bound only tells the type checker what _load accepts; nothing checks it at run time",
        "<module>: SettingsKind = TypeVar('SettingsKind', bound=LoggingSettings) -> SettingsKind = TypeVar('XXSettingsKindXX', bound=LoggingSettings)": "a TypeVar's name is only its repr",
        "LoggingSettings.any_case: return value -> return None": "settings arrive as text (the environment, .env); a value of another type fails the Literal check either way",
        "debug_requested: return (value or '').strip().lower() in ('1', 'true', 'yes', 'on', 't', 'y') -> return (value or 'XXXX').strip().lower() in ('1', 'true', 'yes', 'on', 't', 'y')": "an unset DEBUG is not a yes value, whether it reads '' or 'XXXX'",
        "LoggingSettings: model_config = SettingsConfigDict(env_file='.env', env_file_encoding='utf-8', extra='ignore') -> model_config = SettingsConfigDict(env_file='.env', extra='ignore')": "Python reads files as UTF-8 by default on every platform the app supports (PEP 538/540 on Linux), and the logging settings' values are ASCII words",
        "<module>: _PLACEHOLDER_KEYS = {'change-me', 'changeme', 'secret', 'secret-key', 'your-secret-key', 'replace-me', DEVELOPMENT_SECRET_KEY} -> _PLACEHOLDER_KEYS = {'XXchange-meXX', 'changeme', 'secret', 'secret-key', 'your-secret-key', 'replace-me', DEVELOPMENT_SECRET_KEY}": "every listed placeholder but the development key is under 32 characters, so the length rule refuses it anyway",
        "<module>: _PLACEHOLDER_KEYS = {'change-me', 'changeme', 'secret', 'secret-key', 'your-secret-key', 'replace-me', DEVELOPMENT_SECRET_KEY} -> _PLACEHOLDER_KEYS = {'change-me', 'XXchangemeXX', 'secret', 'secret-key', 'your-secret-key', 'replace-me', DEVELOPMENT_SECRET_KEY}": "every listed placeholder but the development key is under 32 characters, so the length rule refuses it anyway",
        "<module>: _PLACEHOLDER_KEYS = {'change-me', 'changeme', 'secret', 'secret-key', 'your-secret-key', 'replace-me', DEVELOPMENT_SECRET_KEY} -> _PLACEHOLDER_KEYS = {'change-me', 'changeme', 'XXsecretXX', 'secret-key', 'your-secret-key', 'replace-me', DEVELOPMENT_SECRET_KEY}": "every listed placeholder but the development key is under 32 characters, so the length rule refuses it anyway",
        "<module>: _PLACEHOLDER_KEYS = {'change-me', 'changeme', 'secret', 'secret-key', 'your-secret-key', 'replace-me', DEVELOPMENT_SECRET_KEY} -> _PLACEHOLDER_KEYS = {'change-me', 'changeme', 'secret', 'XXsecret-keyXX', 'your-secret-key', 'replace-me', DEVELOPMENT_SECRET_KEY}": "every listed placeholder but the development key is under 32 characters, so the length rule refuses it anyway",
        "<module>: _PLACEHOLDER_KEYS = {'change-me', 'changeme', 'secret', 'secret-key', 'your-secret-key', 'replace-me', DEVELOPMENT_SECRET_KEY} -> _PLACEHOLDER_KEYS = {'change-me', 'changeme', 'secret', 'secret-key', 'XXyour-secret-keyXX', 'replace-me', DEVELOPMENT_SECRET_KEY}": "every listed placeholder but the development key is under 32 characters, so the length rule refuses it anyway",
        "<module>: _PLACEHOLDER_KEYS = {'change-me', 'changeme', 'secret', 'secret-key', 'your-secret-key', 'replace-me', DEVELOPMENT_SECRET_KEY} -> _PLACEHOLDER_KEYS = {'change-me', 'changeme', 'secret', 'secret-key', 'your-secret-key', 'XXreplace-meXX', DEVELOPMENT_SECRET_KEY}": "every listed placeholder but the development key is under 32 characters, so the length rule refuses it anyway",
        "Settings: model_config = SettingsConfigDict(env_file='.env', env_file_encoding='utf-8', extra='ignore') -> model_config = SettingsConfigDict(env_file='.env', extra='ignore')": "Python reads files as UTF-8 by default on every platform the app supports (PEP 538/540 on Linux); only a non-UTF-8 locale would differ",
        "Settings: secret_key: str | None = Field(default=None, validate_default=True) -> secret_key: str | None = Field(default=None)": "pydantic-settings validates defaults already (its model_config sets validate_default=True)",
        "normalise_database_url: backend = scheme.split('+', 1)[0].lower() -> backend = scheme.split('+', 2)[0].lower()": "the first piece of the scheme is the same whatever the split limit",
        "uses_transaction_pooler: dict(parse_qsl(parts.query)).get('pgbouncer', '').lower() in ('true', '1', 'yes') -> dict(parse_qsl(parts.query)).get('pgbouncer', 'XXXX').lower() in ('true', '1', 'yes')": "a missing pgbouncer option is not a yes value, whether it reads '' or 'XXXX'",
        "uses_transaction_pooler: host = parts.hostname or '' -> host = parts.hostname or 'XXXX'": "the fallback host only feeds the two pooler checks, which 'XXXX' fails just as '' does",
    },
}

# .git is copied: the generator's end-to-end test lists the project's files with `git ls-files`.
COPY_IGNORE = shutil.ignore_patterns(
    "__pycache__",
    "*.pyc",
    "*.db",
    ".venv",
    "venv",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "node_modules",
    "mutants",
)


@dataclass
class Mutant:
    line: int
    scope: str
    operator: str
    before: str
    after: str
    source: str

    @property
    def key(self) -> str:
        return f"{self.scope}: {self.before} -> {self.after}"


# ---- generating mutants -------------------------------------------------------------------------

COMPARE_SWAPS: dict[type, type] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
BINOP_SWAPS: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult,
    ast.Mod: ast.Mult,
    ast.BitOr: ast.BitAnd,
    ast.BitAnd: ast.BitOr,
}
# Zero-argument calls that normalise text: the mutant skips the normalising.
NORMALISING_METHODS = {"strip", "lstrip", "rstrip", "lower", "upper", "casefold"}

# An edit takes the node found at the mutant's position (in a fresh copy of the tree) and changes it
# in place, or returns a node to put in its place.
# An edit is made for one node and applied to a copy of it, so it is given a node of the type it was made for.
Edit = Callable[[Any], ast.AST | None]


def prose_nodes(tree: ast.AST) -> set[int]:
    """Docstrings and `description=`/`summary=` texts: documentation wording, not mutated (as in mutmut)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("description", "summary"):
            found.update(id(part) for part in ast.walk(node.value) if isinstance(part, ast.Constant))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
                found.add(id(body[0]))
    return found


def edits_for(node: ast.AST, prose: set[int], annotations: set[int]) -> Iterator[tuple[str, Edit]]:
    """Every mutation of this one node, as (operator name, edit)."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in COMPARE_SWAPS:

                def swap(n: ast.Compare, i: int = i) -> None:
                    n.ops[i] = COMPARE_SWAPS[type(n.ops[i])]()

                yield "compare", swap
    elif isinstance(node, ast.BoolOp):

        def flip(n: ast.BoolOp) -> None:
            n.op = ast.Or() if isinstance(n.op, ast.And) else ast.And()

        yield "and/or", flip
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "drop not", lambda n: n.operand
    elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS and id(node) not in annotations:

        def arith(n: ast.BinOp) -> None:
            n.op = BINOP_SWAPS[type(n.op)]()

        yield "operator", arith
    elif isinstance(node, ast.Constant) and id(node) not in prose:
        value = node.value
        if isinstance(value, bool):
            yield "boolean", lambda n: ast.Constant(not n.value)
        elif isinstance(value, (int, float)):
            yield "number", lambda n: ast.Constant(n.value + 1)
        elif isinstance(value, str):
            yield "string", lambda n: ast.Constant(f"XX{n.value}XX")
    elif isinstance(node, ast.Call):
        for i, keyword in enumerate(node.keywords):
            if keyword.arg is not None:

                def drop(n: ast.Call, i: int = i) -> None:
                    del n.keywords[i]

                yield f"drop {keyword.arg}=", drop
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in NORMALISING_METHODS and not node.args:
            yield f"skip .{func.attr}()", lambda n: n.func.value
    elif isinstance(node, ast.Return) and node.value is not None:
        if not (isinstance(node.value, ast.Constant) and node.value.value is None):

            def return_none(n: ast.Return) -> None:
                n.value = ast.Constant(None)

            yield "return None", return_none
    elif isinstance(node, ast.Expr) and id(node) not in prose:
        if isinstance(node.value, (ast.Call, ast.Await)):
            yield "drop call", lambda n: ast.Pass()


def annotation_nodes(tree: ast.AST) -> set[int]:
    """Nodes inside type annotations: `X | Y` there only names a type (its Literal values are still mutated)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        annotations = []
        if isinstance(node, ast.arg) and node.annotation:
            annotations.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        for annotation in annotations:
            found.update(id(part) for part in ast.walk(annotation))
    return found


def scopes(tree: ast.AST) -> dict[int, str]:
    """The qualified name of the class or function around each node ("<module>" at the top)."""
    names: dict[int, str] = {}

    def visit(node: ast.AST, scope: str) -> None:
        names[id(node)] = scope
        inner = scope
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = node.name if scope == "<module>" else f"{scope}.{node.name}"
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, "<module>")
    return names


def replace_child(parent: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is old:
                    value[i] = new
                    return
    raise LookupError("child not found")


def one_line(node: ast.AST) -> str:
    return " ".join(ast.unparse(node).split())


def generate_mutants(source: str) -> list[Mutant]:
    original = ast.parse(source)
    unmutated = ast.unparse(original)
    prose = prose_nodes(original)
    annotations = annotation_nodes(original)
    scope_of = scopes(original)
    positions = list(ast.walk(original))
    mutants: list[Mutant] = []
    seen = {unmutated}
    for index, node in enumerate(positions):
        for operator, edit in edits_for(node, prose, annotations):
            tree = copy.deepcopy(original)
            nodes = list(ast.walk(tree))
            target = nodes[index]
            parents = {id(child): parent for parent in nodes for child in ast.iter_child_nodes(parent)}
            # The simple statement around the change shows what the mutant does; in a compound
            # statement (if, for, def...), the part of its header that holds the change.
            context, below = target, target
            while not isinstance(context, ast.stmt):
                context, below = parents[id(context)], context
            if hasattr(context, "body") and context is not target:
                context = below
            before = one_line(context)
            replacement = edit(target)
            if replacement is not None:
                replace_child(parents[id(target)], target, replacement)
                if context is target:
                    context = replacement
            ast.fix_missing_locations(tree)
            mutated = ast.unparse(tree)
            if mutated in seen:
                continue
            try:
                compile(mutated, "<mutant>", "exec")
            except SyntaxError:
                continue
            seen.add(mutated)
            after = one_line(context)
            mutants.append(Mutant(getattr(node, "lineno", 0), scope_of[id(node)], operator, before, after, mutated))
    return sorted(mutants, key=lambda mutant: mutant.line)


# ---- running them -------------------------------------------------------------------------------


def run_tests(tree: Path, tests: list[str], database_url: str | None, timeout: float) -> tuple[str, float]:
    """Run the tests in the copied tree: "passed", "failed" or "timeout".

    Any failure kills a mutant: failing tests, and a mutant that breaks import (pytest then answers 2,
    or 4 from conftest). The unmutated run shows first that the selection itself works.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "DATABASE_URL")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a stale .pyc of the previous mutant must never be run
    if database_url:
        env["TEST_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return "timeout", time.monotonic() - started
    elapsed = time.monotonic() - started
    return ("passed" if code == 0 else "failed"), elapsed


def wilson_interval(killed: int, runs: int, z: float = 1.96) -> tuple[float, float]:
    """Where the whole module's kill rate lies, 95% sure, from a sample's (Wilson score interval, in percent)."""
    share = killed / runs
    centre = (share + z * z / (2 * runs)) / (1 + z * z / runs)
    spread = z * math.sqrt(share * (1 - share) / runs + z * z / (4 * runs * runs)) / (1 + z * z / runs)
    return 100 * (centre - spread), 100 * (centre + spread)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="the module to mutate, e.g. app/config.py")
    parser.add_argument("--tests", nargs="+", help="test files to run (default: the module's mapped tests)")
    parser.add_argument("--database-url", help="TEST_DATABASE_URL for the run (default: a temporary SQLite file)")
    parser.add_argument(
        "--recheck-on",
        metavar="URL",
        help="run the survivors again with this TEST_DATABASE_URL (e.g. PostgreSQL); a failure there kills them",
    )
    parser.add_argument("--list", action="store_true", help="only list the mutants, run nothing")
    parser.add_argument(
        "--only",
        metavar="N,N",
        help="run only these mutants, numbered as --list shows them (to re-check survivors after new tests)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="run N mutants drawn at random (of those not listed as equivalent): an estimate, with its 95%% interval, "
        "for a module whose full run would take hours",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="the draw for --sample (default 1): the same seed, the same mutants"
    )
    parser.add_argument("--fail-under", type=float, help="exit 1 if the kill rate (percent) is below this")
    args = parser.parse_args()

    module = Path(args.module).as_posix()
    path = ROOT / module
    if not path.is_file():
        parser.error(f"{module} is not a file under {ROOT}")
    tests = args.tests or MODULE_TESTS.get(module)
    if not tests:
        parser.error(f"no tests are mapped to {module}: pass --tests")
    mutants = generate_mutants(path.read_text(encoding="utf-8"))
    equivalent = EQUIVALENT.get(module, {})
    if args.list:
        for number, mutant in enumerate(mutants, 1):
            mark = "  (equivalent)" if mutant.key in equivalent else ""
            print(f"{number:4} line {mutant.line:4} {mutant.operator:14} {mutant.key}{mark}")
        return 0

    try:
        chosen = {int(n) for n in args.only.split(",")} if args.only else set(range(1, len(mutants) + 1))
    except ValueError:
        parser.error("--only takes mutant numbers separated by commas, as --list shows them: --only 6,8,41")
    if not chosen <= set(range(1, len(mutants) + 1)):
        parser.error(f"--only: {module} has mutants 1 to {len(mutants)} (see --list)")
    if args.sample is not None:
        candidates = sorted(n for n in chosen if mutants[n - 1].key not in equivalent)
        if not 1 <= args.sample <= len(candidates):
            parser.error(f"--sample: {module} has {len(candidates)} mutants to draw from; give 1 to {len(candidates)}")
        chosen = set(random.Random(args.seed).sample(candidates, args.sample))
    with tempfile.TemporaryDirectory(prefix="mutation-") as scratch:
        tree = Path(scratch) / "tree"
        shutil.copytree(ROOT, tree, ignore=COPY_IGNORE)
        target = tree / module
        original = target.read_text(encoding="utf-8")
        # The control: the module as every mutant is written (ast.unparse: comments and formatting gone).
        # A test sensitive to that (one linting the whole project, say) would kill every mutant.
        unparsed = ast.unparse(ast.parse(original))
        target.write_text(unparsed, encoding="utf-8")
        status, baseline = run_tests(tree, tests, args.database_url, timeout=600)
        if status != "passed":
            print(
                f"The tests fail before any mutation ({status}), on the module as the mutants are written "
                f"(unparsed: no comments, no formatting): fix that first: {' '.join(tests)}"
            )
            return 2
        timeout = baseline * 3 + 30
        print(
            f"{module}: {len(chosen)} of {len(mutants)} mutants; tests {' '.join(tests)} take {baseline:.1f}s unmutated"
        )

        killed: list[Mutant] = []
        survived: list[Mutant] = []
        excluded: list[Mutant] = []
        try:
            for number, mutant in enumerate(mutants, 1):
                if number not in chosen:
                    continue
                if mutant.key in equivalent:
                    excluded.append(mutant)
                    continue
                target.write_text(mutant.source, encoding="utf-8")
                status, _ = run_tests(tree, tests, args.database_url, timeout)
                (survived if status == "passed" else killed).append(mutant)
                verdict = "SURVIVED" if status == "passed" else f"killed ({status})"
                print(f"[{number}/{len(mutants)}] {verdict:17} line {mutant.line}: {mutant.key}", flush=True)
            if args.recheck_on and survived:
                target.write_text(unparsed, encoding="utf-8")
                if run_tests(tree, tests, args.recheck_on, timeout=600)[0] != "passed":
                    # Otherwise every survivor would count as killed there.
                    print(f"The tests fail unmutated with TEST_DATABASE_URL={args.recheck_on}: no re-check")
                    return 2
                print(f"Re-running {len(survived)} survivor(s) with TEST_DATABASE_URL={args.recheck_on}")
                for mutant in list(survived):
                    target.write_text(mutant.source, encoding="utf-8")
                    status, _ = run_tests(tree, tests, args.recheck_on, timeout)
                    if status != "passed":
                        survived.remove(mutant)
                        killed.append(mutant)
                        print(f"  killed there ({status}): line {mutant.line}: {mutant.key}", flush=True)
        finally:
            target.write_text(original, encoding="utf-8")

    counted = len(killed) + len(survived)
    rate = 100 * len(killed) / counted if counted else 100.0
    print()
    print(f"== {module}: {counted} mutants, {len(killed)} killed, {len(survived)} survived: {rate:.1f}% killed")
    if args.sample is not None:
        low, high = wilson_interval(len(killed), counted)
        print(
            f"   a sample of {counted} of the module's mutants (--seed {args.seed}): 95% interval {low:.1f}% to {high:.1f}%"
        )
    if excluded:
        print(f"{len(excluded)} equivalent mutant(s) left out:")
        for mutant in excluded:
            print(f"  line {mutant.line}: {mutant.key}\n      because {equivalent[mutant.key]}")
    stale = set(equivalent) - {mutant.key for mutant in mutants}
    for key in sorted(stale):
        print(f"note: EQUIVALENT lists a mutant this module no longer has: {key}")
    if survived:
        print("Survivors (no test noticed these changes):")
        for mutant in survived:
            print(f"  line {mutant.line} [{mutant.operator}] {mutant.key}")
    if args.fail_under is not None and rate < args.fail_under:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
