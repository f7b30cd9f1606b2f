#!/usr/bin/env python3
"""Checks that a rotation really happened: every value under NEW, none lost or changed.

  verify.py CENSUS_JSON N sqlite PATH
  verify.py CENSUS_JSON N postgres

CENSUS_JSON is `timber census --format json` of the rotated table (our key
identification, by HMAC, over every value): both columns must count N values, all under
NEW's fingerprint, none plaintext, unknown or malformed. Then Python's `cryptography`
decrypts every 20th row with NEW alone and compares it with the plaintext the generator
wrote. Exits non-zero with the reason on any difference.
"""

import hashlib
import base64
import json
import sqlite3
import sys

from cryptography.fernet import Fernet

from common import NEW, PG_SCHEMA, TABLE, email, notes, pg_dsn

STRIDE = 20


def fingerprint(key):
    return "fp:" + hashlib.sha256(base64.urlsafe_b64decode(key)).hexdigest()[:12]


def fail(message):
    print(f"verify: {message}", file=sys.stderr)
    sys.exit(1)


def sample_rows(argv):
    query = f"SELECT id, email, notes FROM {TABLE} WHERE id % {STRIDE} = 1 ORDER BY id"
    if argv[3] == "sqlite":
        db = sqlite3.connect(argv[4])
        rows = db.execute(query).fetchall()
        db.close()
        return rows
    import psycopg2

    conn = psycopg2.connect(pg_dsn(), options=f"-c search_path={PG_SCHEMA}")
    with conn.cursor() as cur:
        cur.execute(query)
        rows = cur.fetchall()
    conn.close()
    return rows


def main():
    census = json.load(open(sys.argv[1]))
    n = int(sys.argv[2])
    want = fingerprint(NEW)
    columns = [c for c in census["columns"] if c["table"] == TABLE]
    if sorted(c["column"] for c in columns) != ["email", "notes"]:
        fail(f"census has columns {[c['column'] for c in columns]}, expected email and notes")
    for c in columns:
        if c["by_key"] != {want: n}:
            fail(f"{c['column']}: by key {c['by_key']}, expected all {n} under {want}")
        for bad in ("plaintext", "unknown_key", "malformed"):
            if c[bad]:
                fail(f"{c['column']}: {c[bad]} {bad}")
    new = Fernet(NEW)
    rows = sample_rows(sys.argv)
    if len(rows) != (n + STRIDE - 1) // STRIDE:
        fail(f"sampled {len(rows)} rows, expected {(n + STRIDE - 1) // STRIDE}")
    for i, e, t in rows:
        if new.decrypt(e.encode()).decode() != email(i) or new.decrypt(t.encode()).decode() != notes(i):
            fail(f"row {i} does not decrypt under NEW to its original value")
    print(f"verify: {n} rows under {want}, {len(rows)} sampled rows decrypt to their values", file=sys.stderr)


if __name__ == "__main__":
    main()
