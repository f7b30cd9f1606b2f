#!/usr/bin/env python3
"""Rotation, census and health on Timber-shaped data, each beside the database's own floor
in the same run (issue 17; called by benches/compare.sh, see BENCHMARKS.md).

  shape_bench.py generate PATH N
      a pristine SQLite file (tables by `timber init`, rows by Python's cryptography under
      OLD): N user_profiles and N/2 research_sessions of the fixture's shape (shape.py).
  shape_bench.py round BACKEND N PRISTINE OUT [--proxy-delay-ms MS]
      on BACKEND (sqlite | postgres | mysql), from the pristine rows, in this order:
        raw_read      the database summing the length of every encrypted column (the floor
                      of a scan: no rows leave the server)
        census        `timber census` of the same columns
        health        `timber health`
        census_proxy  (postgres, with --proxy-delay-ms) the census through a TCP proxy that
                      delays every packet MS each way (a database in another region)
        raw_rewrite   one UPDATE per table rewriting every encrypted column with a value of
                      the same length, no crypto, committed (the floor of a rotation)
        ours          `timber rotate --all` (release binary), then checked: the census finds
                      every value under NEW and sampled rows decrypt to their plaintext
        python        Python Timber's documented rotation (SQLAlchemy: load all, decrypt,
                      encrypt, one commit), checked the same way
      The rows are restored from the pristine copy before each writer. One JSON line per
      measurement is appended to OUT/shape.jsonl.
  shape_bench.py workers BACKEND N PRISTINE OUT COUNTS
      issue 18's scaling: the raw rewrite, then `timber rotate --all --workers W` for each W
      in COUNTS (e.g. "1 2 4"), each from the pristine rows and checked as `ours` is; the
      server's CPU seconds (its processes' user + system time, exited backends included)
      are recorded beside each. One JSON line each in OUT/shape.jsonl (contender
      `workers_W`).
  shape_bench.py python-rotate BACKEND URL
      the Python contender itself (run under /usr/bin/time by `round`); prints its seconds.

Environment: TIMBER (the release binary), TIMBER_TEST_POSTGRES_URL, TIMBER_TEST_MYSQL_URL.
"""

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time

import shape
from common import MASTER, NEW, OLD
from verify import fingerprint

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "shape_models")
POLICY = os.path.join(HERE, "policy.yaml")
PG_SCHEMA = "timber_bench_shape"
MY_DATABASE = "timber_bench_shape"
SAMPLE_STRIDE = 50


def say(message):
    print(f"shape: {message}", file=sys.stderr, flush=True)


# --- the release binary ---------------------------------------------------------------------
def timber_env(url):
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith(("ENCRYPTION_KEY", "MASTER_ENCRYPTION_KEY", "TIMBER_", "AUDIT_SIGNING"))
                   or k in ("DATABASE_URL", "OAK_ENV", "ROTATION_MAX_ROWS_PER_SECOND"))}
    env.update(DATABASE_URL=url, ENCRYPTION_KEY=NEW.decode(), ENCRYPTION_KEY_OLD=OLD.decode(),
               MASTER_ENCRYPTION_KEY=MASTER.decode(), TIMBER_MODELS=MODELS, TIMBER_POLICY=POLICY, TIMBER_USER="bench")
    return env


def timed(argv, env=None, cwd=None, stdout=None):
    """Runs argv under /usr/bin/time: (wall seconds, peak KiB, cpu seconds, exit code)."""
    stats = os.path.join(cwd or ".", ".time")
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", stats, *argv], env=env, cwd=cwd,
                          stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    peak, user, sys_ = open(stats).read().split()[-3:]
    return seconds, int(peak), float(user) + float(sys_), done.returncode, done.stderr.decode()


def timber(url, *args, out):
    argv = [os.environ.get("TIMBER", "target/release/timber"), *args]
    return timed(argv, env=timber_env(url), cwd=out, stdout=subprocess.PIPE)


def timber_json(url, *args, out):
    argv = [os.environ.get("TIMBER", "target/release/timber"), *args]
    done = subprocess.run(argv, env=timber_env(url), cwd=out, capture_output=True)
    if done.returncode not in (0, 1, 2) or not done.stdout:
        raise SystemExit(f"timber {' '.join(args)}: exit {done.returncode}: {done.stderr.decode()}")
    return json.loads(done.stdout)


# --- backends ---------------------------------------------------------------------------------
class Sqlite:
    name = "sqlite"

    def __init__(self, pristine, out, n):
        self.pristine, self.path = pristine, os.path.join(out, f"shape-{n}.db")

    @property
    def url(self):
        return f"sqlite://{self.path}"

    def restore(self):
        shutil.copyfile(self.pristine, self.path)

    def connect(self):
        return sqlite3.connect(self.path)

    def as_text(self, column):
        return column

    def length(self, column):
        return f"length({column})"

    def rewrite(self, column):
        if column in shape.JSON_COLUMNS:
            return f"{column} = '\"x' || substr({column}, 3)"
        return f"{column} = 'x' || substr({column}, 2)"

    def drop(self):
        os.remove(self.path)


class Postgres:
    name = "postgres"

    def __init__(self, pristine, out, n):
        self.pristine, self.admin = pristine, os.environ.get(
            "TIMBER_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")

    def with_schema(self, url):
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}options=-c%20search_path%3D{PG_SCHEMA}"

    @property
    def url(self):
        return self.with_schema(self.admin)

    def connect(self):
        import psycopg2

        return psycopg2.connect(self.admin.replace("postgres://", "postgresql://", 1),
                                options=f"-c search_path={PG_SCHEMA}")

    def create(self, out):
        db = self.connect()
        db.autocommit = True
        db.cursor().execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE; CREATE SCHEMA {PG_SCHEMA}")
        db.close()
        subprocess.run([os.environ.get("TIMBER", "target/release/timber"), "init"], env=timber_env(self.url),
                       cwd=out, check=True, capture_output=True)
        import io

        src = sqlite3.connect(self.pristine)
        db = self.connect()
        with db, db.cursor() as cur:
            for table in shape.TABLES:
                data = src.execute(f"SELECT * FROM {table}")
                cols = [d[0] for d in data.description]
                cur.execute(f"CREATE TABLE src_{table} (LIKE {table})")
                buf = io.StringIO()
                for row in data:
                    buf.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
                buf.seek(0)
                cur.copy_expert(f"COPY src_{table} ({', '.join(cols)}) FROM STDIN", buf)
        db.close()
        src.close()

    def restore(self):
        db = self.connect()
        db.autocommit = True
        cur = db.cursor()
        for table in shape.TABLES:
            cur.execute(f"TRUNCATE {table}")
            cur.execute(f"INSERT INTO {table} SELECT * FROM src_{table}")
            cur.execute(f"VACUUM ANALYZE {table}")
        cur.execute("CHECKPOINT")
        db.close()

    def as_text(self, column):
        return f"{column}::text"

    def length(self, column):
        return f"length({column}::text)"

    def rewrite(self, column):
        if column in shape.JSON_COLUMNS:
            return f"{column} = ('\"x' || substr({column}::text, 3))::json"
        return f"{column} = 'x' || substr({column}, 2)"

    def drop(self):
        db = self.connect()
        db.autocommit = True
        db.cursor().execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
        db.close()


class Mysql:
    name = "mysql"

    def __init__(self, pristine, out, n):
        self.pristine = pristine
        admin = os.environ.get("TIMBER_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
        self.server = admin.rsplit("/", 1)[0]

    @property
    def url(self):
        return f"{self.server}/{MY_DATABASE}"

    def connect(self, database=MY_DATABASE):
        import pymysql
        from urllib.parse import urlparse

        u = urlparse(self.server)
        return pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username or "root",
                               password=u.password or "", database=database)

    def create(self, out):
        db = self.connect(database=None)
        with db.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {MY_DATABASE}")
            cur.execute(f"CREATE DATABASE {MY_DATABASE}")
        db.close()
        subprocess.run([os.environ.get("TIMBER", "target/release/timber"), "init"], env=timber_env(self.url),
                       cwd=out, check=True, capture_output=True)
        src = sqlite3.connect(self.pristine)
        db = self.connect()
        with db.cursor() as cur:
            for table in shape.TABLES:
                data = src.execute(f"SELECT * FROM {table}")
                cols = [d[0] for d in data.description]
                cur.execute(f"CREATE TABLE src_{table} LIKE {table}")
                sql = f"INSERT INTO src_{table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
                while chunk := data.fetchmany(2000):
                    cur.executemany(sql, chunk)
        db.commit()
        db.close()
        src.close()

    def restore(self):
        db = self.connect()
        with db.cursor() as cur:
            for table in shape.TABLES:
                cur.execute(f"TRUNCATE {table}")
                cur.execute(f"INSERT INTO {table} SELECT * FROM src_{table}")
        db.commit()
        db.close()

    def as_text(self, column):
        return f"CAST({column} AS CHAR)" if column in shape.JSON_COLUMNS else column

    def length(self, column):
        return f"length({column})"

    def rewrite(self, column):
        if column in shape.JSON_COLUMNS:
            # MariaDB's JSON is LONGTEXT checked by JSON_VALID: a string of the same length.
            return f"{column} = CONCAT('\"x', SUBSTR({column}, 3))"
        return f"{column} = CONCAT('x', SUBSTR({column}, 2))"

    def drop(self):
        db = self.connect(database=None)
        with db.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {MY_DATABASE}")
        db.close()


BACKENDS = {"sqlite": Sqlite, "postgres": Postgres, "mysql": Mysql}


# --- the floors -------------------------------------------------------------------------------
def raw_read(backend):
    db = backend.connect()
    cur = db.cursor()
    started = time.perf_counter()
    for table, columns in shape.TABLES.items():
        cur.execute(f"SELECT {', '.join(f'sum({backend.length(c)})' for c in columns)} FROM {table}")
        cur.fetchall()
    seconds = time.perf_counter() - started
    db.close()
    return seconds


def raw_rewrite(backend):
    db = backend.connect()
    cur = db.cursor()
    started = time.perf_counter()
    for table, columns in shape.TABLES.items():
        cur.execute(f"UPDATE {table} SET {', '.join(backend.rewrite(c) for c in columns)}")
    db.commit()
    seconds = time.perf_counter() - started
    db.close()
    return seconds


# --- the check after a rotation ---------------------------------------------------------------
def verify(backend, n, out, label):
    census = timber_json(backend.url, "census", "--format", "json", out=out)
    want = fingerprint(NEW)
    counts = {"user_profiles": n, "research_sessions": shape.sessions_for(n)}
    for column in census["columns"]:
        expected = counts.get(column["table"])
        if expected is None:
            continue
        if column["by_key"] != {want: expected} or column["plaintext"] or column["unknown_key"] or column["malformed"]:
            raise SystemExit(f"{label}: {column['table']}.{column['column']} is not all under NEW: {column}")
    from cryptography.fernet import Fernet

    new = Fernet(NEW)
    db = backend.connect()
    cur = db.cursor()
    checked = 0
    for table, columns in shape.TABLES.items():
        cur.execute(f"SELECT id, {', '.join(backend.as_text(c) for c in columns)} FROM {table}")
        for row in cur.fetchall():
            i = shape.row_number(row[0])
            if i % SAMPLE_STRIDE:
                continue
            for column, text in zip(columns, row[1:]):
                if new.decrypt(shape.token_of(column, text).encode()) != shape.plaintext_bytes(column, i):
                    raise SystemExit(f"{label}: {table} row {i} {column} does not decrypt to its plaintext")
                checked += 1
    db.close()
    say(f"{label}: every value under NEW; {checked} sampled values decrypt to their plaintext")


# --- a delaying TCP proxy ---------------------------------------------------------------------
class DelayProxy:
    """Forwards 127.0.0.1:<port> to target, holding every chunk `delay` seconds each way
    (latency without a bandwidth limit: chunks queue, they are not serialised)."""

    def __init__(self, target_host, target_port, delay):
        self.target, self.delay = (target_host, target_port), delay
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _pipe(self, reader, writer):
        queue = asyncio.Queue()

        async def deliver():
            while True:
                due, data = await queue.get()
                if data is None:
                    break
                await asyncio.sleep(max(0.0, due - self.loop.time()))
                writer.write(data)
                await writer.drain()
            writer.close()

        task = asyncio.ensure_future(deliver())
        while data := await reader.read(65536):
            queue.put_nowait((self.loop.time() + self.delay, data))
        queue.put_nowait((0, None))
        await task

    async def _client(self, reader, writer):
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                             return_exceptions=True)


# --- commands ---------------------------------------------------------------------------------
def generate(path, n):
    started = time.perf_counter()
    subprocess.run([os.environ.get("TIMBER", "target/release/timber"), "init"], env=timber_env(f"sqlite://{path}"),
                   check=True, capture_output=True)
    db = sqlite3.connect(path)
    fernet = shape.old_fernet()
    for table in shape.TABLES:
        cols, rows = shape.rows(table, n, fernet)
        db.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
    db.commit()
    db.close()
    say(f"generated {n} + {shape.sessions_for(n)} rows in {time.perf_counter() - started:.1f} s")


def record(out, backend, n, contender, seconds, peak=None, cpu=None, **extra):
    line = {"backend": backend, "rows": n, "contender": contender, "seconds": round(seconds, 4),
            "peak_kib": peak, "cpu_seconds": cpu, **extra}
    with open(os.path.join(out, "shape.jsonl"), "a") as f:
        f.write(json.dumps(line) + "\n")
    say(f"{backend} {n}: {contender} {seconds:.3f} s" + (f", peak {peak // 1024} MiB" if peak else ""))


def run_round(name, n, pristine, out, proxy_delay_ms):
    backend = BACKENDS[name](pristine, out, n)
    if hasattr(backend, "create"):
        say(f"{name} {n}: loading the pristine rows")
        backend.create(out)
    backend.restore()
    load = lambda: os.getloadavg()[0]  # noqa: E731
    record(out, name, n, "raw_read", raw_read(backend), load=load())
    secs, peak, cpu, code, err = timber(backend.url, "census", "--format", "json", out=out)
    if code:
        raise SystemExit(f"census: {err}")
    record(out, name, n, "census", secs, peak, cpu, load=load())
    secs, peak, cpu, code, err = timber(backend.url, "health", "--format", "json", out=out)
    if code not in (0, 1, 2):
        raise SystemExit(f"health: {err}")
    record(out, name, n, "health", secs, peak, cpu, load=load())
    if proxy_delay_ms and name == "postgres":
        from urllib.parse import urlparse

        u = urlparse(backend.admin)
        proxy = DelayProxy(u.hostname, u.port or 5432, proxy_delay_ms / 1000)
        url = backend.with_schema(backend.admin.replace(f"{u.hostname}:{u.port or 5432}", f"127.0.0.1:{proxy.port}"))
        secs, peak, cpu, code, err = timber(url, "census", "--format", "json", out=out)
        if code:
            raise SystemExit(f"census through the proxy: {err}")
        record(out, name, n, "census_proxy", secs, peak, cpu, load=load(), delay_ms_each_way=proxy_delay_ms)
    backend.restore()
    record(out, name, n, "raw_rewrite", raw_rewrite(backend), load=load())
    backend.restore()
    secs, peak, cpu, code, err = timber(backend.url, "rotate", "--all", "--format", "json", out=out)
    if code:
        raise SystemExit(f"timber rotate: {err}")
    record(out, name, n, "ours", secs, peak, cpu, load=load())
    verify(backend, n, out, f"{name} {n} ours")
    backend.restore()
    argv = [sys.executable, os.path.abspath(__file__), "python-rotate", name, backend.url]
    secs, peak, cpu, code, err = timed(argv, cwd=out, stdout=subprocess.PIPE)
    if code:
        raise SystemExit(f"python rotation: {err}")
    inner = json.loads(open(os.path.join(out, ".python.json")).read())["seconds"]
    record(out, name, n, "python", inner, peak, cpu, load=load(), with_start=round(secs, 3))
    verify(backend, n, out, f"{name} {n} python")
    backend.drop()


def server_cpu_seconds():
    """User + system seconds of every database server process (postgres, mariadbd, mysqld),
    their reaped children included (a backend that exited is counted by the postmaster)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if name not in ("postgres", "mariadbd", "mysqld"):
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return total / ticks


def run_workers(name, n, pristine, out, counts):
    backend = BACKENDS[name](pristine, out, n)
    if hasattr(backend, "create"):
        say(f"{name} {n}: loading the pristine rows")
        backend.create(out)
    load = lambda: os.getloadavg()[0]  # noqa: E731
    backend.restore()
    # Its own floor, measured beside the worker runs (not the round's `raw_rewrite`).
    record(out, name, n, "workers_raw_rewrite", raw_rewrite(backend), load=load())
    for w in counts:
        backend.restore()
        before = server_cpu_seconds()
        secs, peak, cpu, code, err = timber(backend.url, "rotate", "--all", "--workers", str(w),
                                            "--format", "json", out=out)
        if code:
            raise SystemExit(f"timber rotate --workers {w}: {err}")
        server = server_cpu_seconds() - before
        rows = n + shape.sessions_for(n)
        record(out, name, n, f"workers_{w}", secs, peak, cpu, load=load(), workers=w,
               rows_per_second=round(rows / secs), server_cpu_seconds=round(server, 2))
        verify(backend, n, out, f"{name} {n} --workers {w}")
    backend.drop()


def python_rotate(name, url):
    """Python Timber's documented rotation on both models (timber-encryption-guide.md)."""
    from cryptography.fernet import Fernet, MultiFernet
    from sqlalchemy import JSON, DateTime, String, Text, create_engine
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

    class Base(DeclarativeBase):
        pass

    class UserProfile(Base):
        __tablename__ = "user_profiles"
        id: Mapped[str] = mapped_column(String(36), primary_key=True)
        user_id: Mapped[str] = mapped_column(String(36))
        email: Mapped[str] = mapped_column(String(255))
        email_hash: Mapped[str] = mapped_column(String(64))
        phone: Mapped[str] = mapped_column(String(100))
        research_notes: Mapped[str] = mapped_column(Text)

    class ResearchSession(Base):
        __tablename__ = "research_sessions"
        id: Mapped[str] = mapped_column(String(36), primary_key=True)
        user_id: Mapped[str] = mapped_column(String(36))
        ticker: Mapped[str] = mapped_column(String(20))
        analysis_data = mapped_column(JSON)
        proprietary_signals = mapped_column(JSON)
        ai_insights: Mapped[str] = mapped_column(Text)
        strategy_details = mapped_column(JSON)

    if name == "sqlite":
        engine = create_engine(url.replace("sqlite://", "sqlite:///", 1))
    elif name == "postgres":
        from common import pg_dsn

        engine = create_engine(pg_dsn().replace("postgresql://", "postgresql+psycopg2://", 1),
                               connect_args={"options": f"-c search_path={PG_SCHEMA}"})
    else:
        engine = create_engine(url.replace("mysql://", "mysql+pymysql://", 1))
    ring = MultiFernet([Fernet(NEW), Fernet(OLD)])
    primary = Fernet(NEW)
    started = time.perf_counter()
    with Session(engine) as session:
        for model, columns in ((UserProfile, shape.TABLES["user_profiles"]),
                               (ResearchSession, shape.TABLES["research_sessions"])):
            for row in session.query(model).all():
                for column in columns:
                    plain = ring.decrypt(getattr(row, column).encode())
                    setattr(row, column, primary.encrypt(plain).decode())
        session.commit()
    seconds = time.perf_counter() - started
    engine.dispose()
    with open(".python.json", "w") as f:
        json.dump({"seconds": seconds}, f)


def main():
    command = sys.argv[1]
    if command == "generate":
        generate(sys.argv[2], int(sys.argv[3]))
    elif command == "round":
        delay = 0
        if "--proxy-delay-ms" in sys.argv:
            delay = float(sys.argv[sys.argv.index("--proxy-delay-ms") + 1])
        run_round(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], delay)
    elif command == "workers":
        run_workers(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5],
                    [int(w) for w in sys.argv[6].split()])
    elif command == "python-rotate":
        python_rotate(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
