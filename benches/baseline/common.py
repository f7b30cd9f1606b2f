"""Keys, table and plaintexts shared by the comparison scripts (benches/compare.sh).

Test keys only: nothing else uses them. OLD encrypts the generated data; rotation moves it
to NEW. The plaintext of row i is a pure function of i, so any script can check a value.
"""

import os

OLD = b"YzpZgClxLl3CBp3nBLueMYrq95oNaQFcXsF3P122yPw="
NEW = b"80JmBCWN2hWg9fUDOdWEpVRhucxuJkgGDaLaqT5K5c4="
MASTER = b"fOND_spZ8wI-KrYha05MCmNPnCFRDjgkOwnancajTEQ="
TABLE = "bench_rotation_compare"
SOURCE = "bench_rotation_source"
PG_SCHEMA = "timber_bench_compare"


def email(i):
    return f"person.{i}@example.com"


def notes(i):
    return f"note {i}: some longer free text about the account"


def pg_dsn():
    """libpq DSN for the bench schema, from TIMBER_TEST_POSTGRES_URL (or the default)."""
    url = os.environ.get("TIMBER_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    return url.replace("postgres://", "postgresql://", 1)
