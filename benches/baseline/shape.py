"""The Timber-shaped data of benches/shape_bench.py (issue 17): the schema of a real Python
Timber application (shape_models/app.yaml, the fixture's) with values of the fixture's sizes.

Row i's plaintexts are pure functions of i, so any script can check a value, and the tokens
(Fernet under OLD, written by Python's `cryptography` as Python Timber writes them) have the
fixture's lengths: email ~120 B, phone ~100 B, research_notes ~310 B, and the research
session's four columns ~110-190 B (JSON columns hold the token as a JSON string).
"""

import hashlib
import json

from common import OLD

# Encrypted columns per table, in model order; JSON columns store `"token"`.
TABLES = {
    "user_profiles": ["email", "phone", "research_notes"],
    "research_sessions": ["analysis_data", "proprietary_signals", "ai_insights", "strategy_details"],
}
JSON_COLUMNS = {"analysis_data", "proprietary_signals", "strategy_details"}
TICKERS = ["MSFT", "AAPL", "NVDA", "AMZN", "GOOG", "TSLA", "META", "BRK.B"]
CREATED = "2025-01-01 00:00:00.000000"


def uid(namespace, i):
    """A UUID-shaped text key that names its row number (the last group) and its kind (the
    second). The first group is a hash of both: like the uuid4 keys of a real Python Timber
    table (the fixture's app.db), key order is not the order rows were written in, so a read
    in key order visits the table's pages out of order, as it does on a user's table. (Keys
    in row order had made every key-ordered scan and rotation here read its table front to
    back: a friendlier shape than users have.)"""
    mixed = hashlib.sha256(f"{namespace}:{i}".encode()).hexdigest()[:8]
    return f"{mixed}-{namespace:04x}-4b57-9e2f-{i:012x}"


def row_number(key):
    return int(key.rsplit("-", 1)[1], 16)


def sessions_for(n):
    """research_sessions rows for n user_profiles rows (the issue's 30k + 15k)."""
    return n // 2


# user_profiles ---------------------------------------------------------------------------
def email(i):
    return f"user{i:06d}@example.com"  # 22 B: a 120-character token


def phone(i):
    return f"+1-555-{i % 10000:04d}"  # 11 B: a 100-character token


def research_notes(i):
    head = f"Research note {i}: follow-up on the quarterly review, risk appetite and mandate. "
    return (head * 3)[:170]  # 170 B: a 312-character token


# research_sessions -------------------------------------------------------------------------
def analysis_data(i):
    return {"ticker": TICKERS[i % 8], "rsi": 40 + i % 30, "pe": round(10 + (i % 400) / 10, 1), "trend": "up"}


def proprietary_signals(i):
    return {"momentum": i % 7, "flow": "in", "score": i % 100}


def ai_insights(i):
    return f"Hold {TICKERS[i % 8]} {i % 1000}: trim on strength"  # Text: a 120-character token


def strategy_details(i):
    return {"entry": 100 + i % 50, "exit": 120 + i % 60, "stop": 90, "horizon": "6m", "size": i % 9}


PLAINTEXT = {
    "email": email,
    "phone": phone,
    "research_notes": research_notes,
    "analysis_data": analysis_data,
    "proprietary_signals": proprietary_signals,
    "ai_insights": ai_insights,
    "strategy_details": strategy_details,
}


def plaintext_bytes(column, i):
    """What Python Timber encrypts: strings as they are, other values json.dumps'd."""
    value = PLAINTEXT[column](i)
    return (value if isinstance(value, str) else json.dumps(value)).encode()


def stored(column, token):
    """The column's stored text for a token (a JSON column holds it as a JSON string)."""
    return json.dumps(token) if column in JSON_COLUMNS else token


def token_of(column, text):
    return json.loads(text) if column in JSON_COLUMNS else text


def rows(table, n, fernet):
    """(columns, row tuples) of `table` for n user_profiles rows, tokens under `fernet`."""
    enc = lambda c, i: stored(c, fernet.encrypt(plaintext_bytes(c, i)).decode())  # noqa: E731
    if table == "user_profiles":
        cols = ["id", "user_id", "email", "email_hash", "phone", "research_notes", "created_at"]
        import hashlib

        def make(i):
            return (uid(1, i), uid(2, i), enc("email", i), hashlib.sha256(email(i).lower().encode()).hexdigest(),
                    enc("phone", i), enc("research_notes", i), CREATED)

        return cols, (make(i) for i in range(1, n + 1))
    cols = ["id", "user_id", "ticker", "session_type"] + TABLES["research_sessions"] + ["created_at"]

    def make(i):
        return (uid(3, i), uid(2, i), TICKERS[i % 8], "stock_research",
                *[enc(c, i) for c in TABLES["research_sessions"]], CREATED)

    return cols, (make(i) for i in range(1, sessions_for(n) + 1))


def old_fernet():
    from cryptography.fernet import Fernet

    return Fernet(OLD)
