#!/usr/bin/env bash
# Ours next to the alternatives, in one run, on the same inputs (BENCHMARKS.md, "Summary" and
# "Comparison with Python"):
#   1. codec: `cargo bench --bench codec` (ours and the primitives' floor), then straight
#      after it Python `cryptography`'s Fernet on the same payloads, keys, timestamp and IV;
#   2. rotation, for each row count in ROWS and each backend (SQLite file, PostgreSQL schema):
#      the same pristine rows (written once by Python's cryptography under the old key) are
#      restored before each contender, then rewritten by
#        - the database alone: one UPDATE of both columns with no crypto (the floor),
#        - ours: the release binary, `timber rotate --all`,
#        - Python Timber's documented method (SQLAlchemy, load all, decrypt, encrypt, commit);
#      after ours and Python's, `timber census` and a sampled decryption prove every value is
#      under the new key with its original plaintext (the census is timed as well).
#   3. Timber-shaped data (issue 17; benches/baseline/shape_bench.py): the schema of a real
#      Python Timber application with the fixture's value sizes, SHAPE_ROWS user_profiles (and
#      half as many research_sessions) on each of SHAPE_BACKENDS: the raw read of every
#      encrypted column beside `timber census` and `timber health`, the census again through a
#      proxy delaying PROXY_DELAY_MS each way (PostgreSQL), the raw rewrite of the same columns
#      beside `timber rotate --all` and Python Timber's method, each rotation checked;
#   4. benches/baseline/report.py and shape_report.py print every number with its baseline
#      and the ratios.
#
# Usage: benches/compare.sh
#   ROWS="20000 100000"   row counts (two, so peak memory can be compared across sizes)
#   SKIP_CODEC=1 | SKIP_ROTATION=1 | SKIP_POSTGRES=1 | SKIP_SHAPE=1 | SKIP_WORKERS=1
#   WORKERS_ROWS=300000  WORKERS_BACKENDS=postgres  WORKER_COUNTS="1 2 4"  (issue 18's scaling)
#   SHAPE_ROWS="30000 300000"  SHAPE_BACKENDS="sqlite postgres mysql"  PROXY_DELAY_MS=25
#   TIMBER_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test)
#   MEASURE="--warm-up-time 1 --measurement-time 3"   criterion flags
#   NO_BUILD=1   use target/release/timber and the newest codec bench as built (no cargo)
#   CARGO_TARGET_DIR   honoured (binary, criterion results, venv, data, output)
# Output: target/compare/<time>/ (raw results, logs) and summary.md there; the summary is
# also printed. Python packages are installed into target/bench-venv on first use.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1 # keep benches/baseline/ free of __pycache__

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BASE="$ROOT/benches/baseline"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET/compare/$(date +%Y%m%d-%H%M%S)"
VENV="$TARGET/bench-venv"
PY="$VENV/bin/python"
ROWS="${ROWS:-20000 100000}"
SHAPE_ROWS="${SHAPE_ROWS:-30000 300000}"
SHAPE_BACKENDS="${SHAPE_BACKENDS:-sqlite postgres mysql}"
PROXY_DELAY_MS="${PROXY_DELAY_MS:-25}"
WORKERS_ROWS="${WORKERS_ROWS:-300000}"
WORKERS_BACKENDS="${WORKERS_BACKENDS:-postgres}"
WORKER_COUNTS="${WORKER_COUNTS:-1 2 4}"
MEASURE="${MEASURE:---warm-up-time 1 --measurement-time 3}"
PG_ADMIN="${TIMBER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
PG_SCHEMA=timber_bench_compare
TABLE=bench_rotation_compare
SOURCE=bench_rotation_source
# The raw rewrite: every value of both columns replaced by a same-length value, no crypto.
RAW_SET="email = 'x' || substr(email, 2), notes = 'x' || substr(notes, 2)"
mkdir -p "$OUT" "$TARGET/bench-data"
say() { echo "compare: $*" >&2; }

# --- the machine, recorded with the results -------------------------------------------------
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') x $(nproc)"
    echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
    echo "rustc: $(rustc --version)"
    echo "sqlite3: $(sqlite3 --version | cut -d' ' -f1)"
    echo "postgres: $(psql "$PG_ADMIN" -Atc 'SHOW server_version' 2>/dev/null || echo unavailable)"
    echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"

if ! "$PY" -c 'import sqlalchemy, psycopg2, pymysql, cryptography' 2>/dev/null; then
    say "installing Python Timber's stack into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$BASE/requirements.txt"
fi
"$PY" -c 'import sys, sqlalchemy, cryptography; print("python:", sys.version.split()[0], "sqlalchemy:", sqlalchemy.__version__, "cryptography:", cryptography.__version__)' >>"$OUT/machine.txt"

# --- 1. codec: ours, the floor, then Python on the same tokens --------------------------------
if [ -z "${SKIP_CODEC:-}" ]; then
    # shellcheck disable=SC2086 # MEASURE is a list of flags
    if [ -n "${NO_BUILD:-}" ]; then
        # The newest built codec bench, as it is: on a shared machine another engineer's
        # edit would otherwise mean a ten-minute rebuild before the measurement.
        bench=$(ls -t "$TARGET"/release/deps/codec-* | grep -v '\.d$' | head -n 1)
        say "$bench --bench $MEASURE"
        CARGO_TARGET_DIR="$TARGET" "$bench" --bench $MEASURE >"$OUT/codec.txt" 2>"$OUT/codec.err"
    else
        say "cargo bench --bench codec -- $MEASURE"
        cargo bench --bench codec -- $MEASURE >"$OUT/codec.txt" 2>"$OUT/codec.err"
    fi
    say "Python cryptography Fernet on the same payloads"
    (cd "$BASE" && "$PY" fernet_bench.py 20000 5) >"$OUT/python_fernet.json"
    echo "load after codec: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
fi

# --- 2. rotation -------------------------------------------------------------------------------
key() { (cd "$BASE" && "$PY" -c "import common; print(common.$1.decode())"); }
NEW="$(key NEW)"
OLD="$(key OLD)"
MASTER="$(key MASTER)"

# The release binary with the bench keys and models. Run from $OUT (see below), so no stray
# .env is read.
TIMBER_ENV=(ENCRYPTION_KEY="$NEW" ENCRYPTION_KEY_OLD="$OLD" MASTER_ENCRYPTION_KEY="$MASTER"
    TIMBER_MODELS="$BASE/models" TIMBER_POLICY="$BASE/policy.yaml" TIMBER_USER=bench)
# timber URL ARGS...: as a command word for /usr/bin/time too (no shell function there).
timber_cmd() {
    local url="$1"
    shift
    TIMBER_CMD=(env -u OAK_ENV DATABASE_URL="$url" "${TIMBER_ENV[@]}" "$TARGET/release/timber" "$@")
}
timber() {
    timber_cmd "$@"
    "${TIMBER_CMD[@]}"
}

now() { date +%s.%N; }
# record BACKEND ROWS CONTENDER SECONDS PEAK_KIB [CPU_SECONDS]
record() {
    printf '{"backend": "%s", "rows": %s, "contender": "%s", "seconds": %s, "peak_kib": %s, "cpu_seconds": %s}\n' \
        "$1" "$2" "$3" "$4" "$5" "${6:-null}" >>"$OUT/rotation.jsonl"
}

# Times `timber` (or python) under /usr/bin/time; sets SECS (wall) PEAK (KiB) CPU (user+sys).
timed() {
    local log="$1"
    shift
    local start
    start=$(now)
    /usr/bin/time -f '%M %U %S' -o "$log.time" "$@"
    SECS=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.4f", b - a }')
    read -r PEAK user sys <"$log.time"
    CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}

# census_and_verify BACKEND URL ROWS LABEL [sqlite path]: the census after our rotation is
# recorded as `census` (its rate), the one after Python's only checks.
census_and_verify() {
    local backend="$1" url="$2" n="$3" label="$4"
    timber_cmd "$url" census --format json
    timed "$OUT/census-$label" "${TIMBER_CMD[@]}" >"$OUT/census-$label.json"
    case "$label" in ours-*) record "$backend" "$n" "census" "$SECS" "$PEAK" "$CPU" ;; esac
    (cd "$BASE" && "$PY" verify.py "$OUT/census-$label.json" "$n" "$backend" "${5:-}")
}

rotate_ours() {
    local backend="$1" url="$2" n="$3" label="$4"
    say "$label: timber rotate --all"
    timber_cmd "$url" rotate --all --format json
    timed "$OUT/ours-$label" "${TIMBER_CMD[@]}" >"$OUT/ours-$label.jsonl"
    record "$backend" "$n" "ours" "$SECS" "$PEAK" "$CPU"
}

rotate_python() {
    local backend="$1" n="$2" label="$3"
    shift 3
    say "$label: Python Timber rotation (SQLAlchemy)"
    timed "$OUT/python-$label" bash -c 'cd "$0" && "$1" timber_rotate.py "${@:2}"' \
        "$BASE" "$PY" "$backend" "$@" >"$OUT/python-$label.json"
    # Python's own clock (load + crypto + commit, without interpreter start and imports).
    local inner
    inner=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$OUT/python-$label.json")
    record "$backend" "$n" "python" "$inner" "$PEAK" "$CPU"
}

sqlite_round() {
    local n="$1" pristine="$TARGET/bench-data/compare_$1.db" db
    if [ ! -f "$pristine" ]; then
        say "generating $n rows under the old key (Python cryptography)"
        rm -f "$pristine.tmp"
        timber "sqlite://$pristine.tmp" init >/dev/null
        (cd "$BASE" && "$PY" make_data.py sqlite "$pristine.tmp" "$n")
        mv "$pristine.tmp" "$pristine"
    fi
    db="$OUT/raw-sqlite-$n.db"
    cp "$pristine" "$db"
    say "sqlite $n: raw UPDATE"
    local t
    t=$(printf '.timer on\nUPDATE %s SET %s;\n' "$TABLE" "$RAW_SET" | sqlite3 "$db" |
        awk '/Run Time/ {print $4}')
    record sqlite "$n" raw "$t" null
    rm -f "$db"
    db="$OUT/ours-sqlite-$n.db"
    cp "$pristine" "$db"
    rotate_ours sqlite "sqlite://$db" "$n" "sqlite-$n"
    census_and_verify sqlite "sqlite://$db" "$n" "ours-sqlite-$n" "$db"
    rm -f "$db"
    db="$OUT/python-sqlite-$n.db"
    cp "$pristine" "$db"
    rotate_python sqlite "$n" "sqlite-$n" "$db"
    census_and_verify sqlite "sqlite://$db" "$n" "python-sqlite-$n" "$db"
    rm -f "$db"
}

pg() { psql "$PG_ADMIN" -v ON_ERROR_STOP=1 -qAt "$@"; }
restore_pg() {
    pg -c "SET search_path TO $PG_SCHEMA" -c "TRUNCATE $TABLE" \
        -c "INSERT INTO $TABLE SELECT * FROM $SOURCE" -c "VACUUM ANALYZE $TABLE" >/dev/null
}

postgres_round() {
    local n="$1" sep url
    sep='?'
    case "$PG_ADMIN" in *\?*) sep='&' ;; esac
    url="$PG_ADMIN${sep}options=-c%20search_path%3D$PG_SCHEMA"
    pg -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" -c "CREATE SCHEMA $PG_SCHEMA" >/dev/null
    timber "$url" init >/dev/null
    (cd "$BASE" && SQLITE_SOURCE="$TARGET/bench-data/compare_$n.db" "$PY" make_data.py postgres "$n")
    restore_pg
    say "postgres $n: raw UPDATE"
    local t
    t=$(pg -c "SET search_path TO $PG_SCHEMA" -c '\timing on' \
        -c "UPDATE $TABLE SET $RAW_SET" |
        awk '/^Time:/ {print $2 / 1000}')
    record postgres "$n" raw "$t" null
    restore_pg
    rotate_ours postgres "$url" "$n" "postgres-$n"
    census_and_verify postgres "$url" "$n" "ours-postgres-$n"
    restore_pg
    rotate_python postgres "$n" "postgres-$n"
    census_and_verify postgres "$url" "$n" "python-postgres-$n"
    pg -c "DROP SCHEMA $PG_SCHEMA CASCADE" >/dev/null
}

if [ -z "${SKIP_ROTATION:-}" ]; then
    if [ -z "${NO_BUILD:-}" ]; then
        say "cargo build --release --bin timber"
        cargo build --release --bin timber 2>"$OUT/build.err"
    fi
    cd "$OUT"
    for n in $ROWS; do
        sqlite_round "$n"
        if [ -z "${SKIP_POSTGRES:-}" ]; then
            if pg -c 'SELECT 1' >/dev/null 2>&1; then
                postgres_round "$n"
            else
                say "SKIP: PostgreSQL at $PG_ADMIN not reachable; PostgreSQL rotation not measured"
            fi
        fi
    done
fi
# --- 3. Timber-shaped data (issue 17): rotation, census, health beside the database's floor ---
if [ -z "${SKIP_SHAPE:-}" ]; then
    if [ -z "${NO_BUILD:-}" ] && [ -n "${SKIP_ROTATION:-}" ]; then
        say "cargo build --release --bin timber"
        cargo build --release --bin timber 2>"$OUT/build.err"
    fi
    cd "$OUT"
    export TIMBER="$TARGET/release/timber"
    for n in $SHAPE_ROWS; do
        pristine="$TARGET/bench-data/shape_$n.db"
        if [ ! -f "$pristine" ]; then
            say "generating the Timber-shaped $n + $((n / 2)) rows under the old key (Python cryptography)"
            rm -f "$pristine.tmp"
            (cd "$BASE" && "$PY" shape_bench.py generate "$pristine.tmp" "$n")
            mv "$pristine.tmp" "$pristine"
        fi
        for backend in $SHAPE_BACKENDS; do
            say "Timber-shaped, $backend, $n rows"
            (cd "$BASE" && "$PY" shape_bench.py round "$backend" "$n" "$pristine" "$OUT" \
                --proxy-delay-ms "$PROXY_DELAY_MS") || say "shape round $backend $n failed (see above)"
        done
    done
fi
# --- 3b. many workers on one job (issue 18): rows/s and the server's CPU at 1, 2, 4 workers ---
if [ -z "${SKIP_WORKERS:-}" ]; then
    if [ -z "${NO_BUILD:-}" ] && [ ! -x "$TARGET/release/timber" ]; then
        cargo build --release --bin timber 2>"$OUT/build.err"
    fi
    cd "$OUT"
    export TIMBER="$TARGET/release/timber"
    pristine="$TARGET/bench-data/shape_$WORKERS_ROWS.db"
    if [ ! -f "$pristine" ]; then
        say "generating the Timber-shaped $WORKERS_ROWS + $((WORKERS_ROWS / 2)) rows under the old key"
        rm -f "$pristine.tmp"
        (cd "$BASE" && "$PY" shape_bench.py generate "$pristine.tmp" "$WORKERS_ROWS")
        mv "$pristine.tmp" "$pristine"
    fi
    for backend in $WORKERS_BACKENDS; do
        say "workers $WORKER_COUNTS on $backend, $WORKERS_ROWS rows"
        (cd "$BASE" && "$PY" shape_bench.py workers "$backend" "$WORKERS_ROWS" "$pristine" "$OUT" \
            "$WORKER_COUNTS") || say "workers round $backend failed (see above)"
    done
fi
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"

# --- 4. the summary ------------------------------------------------------------------------------
"$PY" "$BASE/report.py" "$OUT" "$TARGET/criterion" | tee "$OUT/summary.md"
"$PY" "$BASE/shape_report.py" "$OUT" | tee -a "$OUT/summary.md"
say "results in $OUT"
