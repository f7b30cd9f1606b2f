#!/usr/bin/env python3
"""Fills the comparison table with N rows encrypted under OLD by Python's `cryptography`.

  make_data.py sqlite PATH N     rows into PATH (tables already made by `timber init`)
  make_data.py postgres N        rows into PG_SCHEMA.SOURCE, the pristine copy that
                                 compare.sh restores before every run

The PostgreSQL rows are the SQLite file's rows (same tokens, byte for byte), read back from
the SQLite copy given by SQLITE_SOURCE, so every backend and every contender starts from
identical data.
"""

import os
import sqlite3
import sys
import time

from cryptography.fernet import Fernet

from common import OLD, PG_SCHEMA, SOURCE, TABLE, email, notes


def rows(n):
    old = Fernet(OLD)
    for i in range(1, n + 1):
        yield (i, old.encrypt(email(i).encode()).decode(), old.encrypt(notes(i).encode()).decode())


def fill_sqlite(path, n):
    db = sqlite3.connect(path)
    db.execute(f"DELETE FROM {TABLE}")
    db.executemany(f"INSERT INTO {TABLE} (id, email, notes) VALUES (?, ?, ?)", rows(n))
    db.commit()
    db.close()


def fill_postgres(n):
    import io

    import psycopg2

    from common import pg_dsn

    src = sqlite3.connect(os.environ["SQLITE_SOURCE"])
    data = src.execute(f"SELECT id, email, notes FROM {TABLE} ORDER BY id").fetchall()
    src.close()
    assert len(data) == n, f"SQLite source has {len(data)} rows, expected {n}"
    conn = psycopg2.connect(pg_dsn())
    with conn, conn.cursor() as cur:
        cur.execute(f"SET search_path TO {PG_SCHEMA}")
        cur.execute(f"DROP TABLE IF EXISTS {SOURCE}")
        cur.execute(f"CREATE TABLE {SOURCE} AS SELECT * FROM {TABLE} WITH NO DATA")
        buf = io.StringIO("".join(f"{i}\t{e}\t{t}\n" for i, e, t in data))
        cur.copy_expert(f"COPY {SOURCE} (id, email, notes) FROM STDIN", buf)
    conn.close()


def main():
    started = time.perf_counter()
    if sys.argv[1] == "sqlite":
        fill_sqlite(sys.argv[2], int(sys.argv[3]))
    else:
        fill_postgres(int(sys.argv[2]))
    print(f"make_data {' '.join(sys.argv[1:])}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
