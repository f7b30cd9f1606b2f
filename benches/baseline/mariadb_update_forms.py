#!/usr/bin/env python3
"""Why rotation on MariaDB stays short of the raw rewrite (issue 17): the cost of one
4000-row batch's compare-and-set in the statement forms MariaDB offers, beside the
in-engine rewrite of the same rows (no values sent).

  mariadb_update_forms.py            (TIMBER_TEST_MYSQL_URL's server, database `test`)

Each form writes 4000 rows of three token columns (120, 100, 312 B: user_profiles' shape)
only where every column still holds its expected token:
  union   UPDATE t JOIN (SELECT ? AS id, ... UNION ALL SELECT ...) v ... (what ships)
  temp    the batch INSERTed into a temporary table with a primary key, then UPDATE t JOIN it
  cases   one UPDATE ... SET a = CASE id WHEN ? THEN ? ... END ... WHERE id IN (...)
  raw     UPDATE t SET a = CONCAT('x', SUBSTR(a, 2)), ... (the floor: nothing sent, no check)
Prints seconds per form, best of three rounds.
"""

import random
import string
import time

import pymysql

N = 4000


def token(n):
    return "gAAAAA" + "".join(random.choices(string.ascii_letters, k=n))


def fresh(rows):
    return [(r[0], token(120), token(100), token(312)) for r in rows]


def pairs(rows, new):
    binds = []
    for r, n in zip(rows, new):
        binds += [r[0], r[1], n[1], r[2], n[2], r[3], n[3]]
    return binds


CHECK = "t.a = v.e0 AND t.b = v.e1 AND t.c = v.e2"
SET = "t.a = v.n0, t.b = v.n1, t.c = v.n2"


def union(cur, rows, new):
    first = "SELECT %s AS id, %s AS e0, %s AS n0, %s AS e1, %s AS n1, %s AS e2, %s AS n2"
    rest = " UNION ALL SELECT %s, %s, %s, %s, %s, %s, %s" * (len(rows) - 1)
    return cur.execute(f"UPDATE exp_t t JOIN ({first}{rest}) AS v ON t.id = v.id SET {SET} WHERE {CHECK}",
                       pairs(rows, new))


def temp(cur, rows, new):
    cur.execute("CREATE TEMPORARY TABLE IF NOT EXISTS exp_v (id VARCHAR(36) PRIMARY KEY, e0 LONGTEXT, "
                "n0 LONGTEXT, e1 LONGTEXT, n1 LONGTEXT, e2 LONGTEXT, n2 LONGTEXT) "
                "CHARSET utf8mb4 COLLATE utf8mb4_bin")
    cur.execute("DELETE FROM exp_v")
    cur.execute("INSERT INTO exp_v VALUES " + ",".join(["(%s,%s,%s,%s,%s,%s,%s)"] * len(rows)), pairs(rows, new))
    return cur.execute(f"UPDATE exp_t t JOIN exp_v v ON t.id = v.id SET {SET} WHERE {CHECK}")


def cases(cur, rows, new):
    sets, binds = [], []
    for ci, col in enumerate("abc"):
        sets.append(f"{col} = CASE WHEN " + " WHEN ".join(["id = %s AND " + col + " = %s THEN %s"] * len(rows))
                    + f" ELSE {col} END")
        for r, n in zip(rows, new):
            binds += [r[0], r[ci + 1], n[ci + 1]]
    binds += [r[0] for r in rows]
    return cur.execute("UPDATE exp_t SET " + ", ".join(sets) + " WHERE id IN (" + ",".join(["%s"] * len(rows)) + ")",
                       binds)


def raw(cur, rows, new):
    return cur.execute("UPDATE exp_t SET a = CONCAT('x', SUBSTR(a, 2)), b = CONCAT('x', SUBSTR(b, 2)), "
                       "c = CONCAT('x', SUBSTR(c, 2))")


def main():
    db = pymysql.connect(host="127.0.0.1", user="root", database="test", autocommit=False)
    cur = db.cursor()
    cur.execute("DROP TABLE IF EXISTS exp_t")
    cur.execute("CREATE TABLE exp_t (id VARCHAR(36) PRIMARY KEY, a LONGTEXT, b LONGTEXT, c LONGTEXT) "
                "CHARSET utf8mb4 COLLATE utf8mb4_bin")
    best = {}
    for _ in range(3):
        for name, form in (("union", union), ("temp", temp), ("cases", cases), ("raw", raw)):
            cur.execute("DELETE FROM exp_t")
            rows = [(f"{i:08d}-0000-0000-0000-000000000000", token(120), token(100), token(312)) for i in range(N)]
            cur.executemany("INSERT INTO exp_t VALUES (%s,%s,%s,%s)", rows)
            db.commit()
            new = fresh(rows)
            started = time.perf_counter()
            written = form(cur, rows, new)
            db.commit()
            seconds = time.perf_counter() - started
            assert written == N, f"{name} wrote {written} of {N}"
            best[name] = min(best.get(name, seconds), seconds)
    cur.execute("DROP TABLE exp_t")
    db.commit()
    for name, seconds in best.items():
        print(f"{name:6} {seconds:.3f} s  ({seconds / best['raw']:.1f}x raw)")


if __name__ == "__main__":
    main()
