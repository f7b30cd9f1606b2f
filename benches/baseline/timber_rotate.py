#!/usr/bin/env python3
"""Python Timber's documented key rotation (timber-encryption-guide.md, "Key Rotation").

The guide's method: one session, `session.query(Model).all()`, each encrypted attribute
decrypted on load (Timber's encryption service tries the primary key, then the old ones),
re-encrypted under the new primary on flush, and one `session.commit()`. Timber does the
decrypt and encrypt in SQLAlchemy attribute and flush events; here the same calls are made
inline on the same ORM objects, which is the same work without the event dispatch (so this
baseline is, if anything, slightly faster than Timber itself).

  timber_rotate.py sqlite PATH
  timber_rotate.py postgres          (PG_SCHEMA on TIMBER_TEST_POSTGRES_URL)

Prints one JSON line: rows, seconds (load + decrypt + encrypt + commit, without the
interpreter's start and imports), and the versions used.
"""

import json
import sys
import time

import cryptography
import sqlalchemy
from cryptography.fernet import Fernet, MultiFernet
from sqlalchemy import Integer, String, Text, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from common import NEW, OLD, PG_SCHEMA, TABLE, pg_dsn


class Base(DeclarativeBase):
    pass


class CompareRow(Base):
    __tablename__ = TABLE
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    notes: Mapped[str] = mapped_column(Text)


def engine_for(argv):
    if argv[1] == "sqlite":
        return create_engine(f"sqlite:///{argv[2]}")
    return create_engine(
        pg_dsn().replace("postgresql://", "postgresql+psycopg2://", 1),
        connect_args={"options": f"-c search_path={PG_SCHEMA}"},
    )


def main():
    engine = engine_for(sys.argv)
    # Timber's service: the new primary first, then the old key for data not yet rotated.
    ring = MultiFernet([Fernet(NEW), Fernet(OLD)])
    primary = Fernet(NEW)
    started = time.perf_counter()
    with Session(engine) as session:
        rows = session.query(CompareRow).all()
        for row in rows:
            email = ring.decrypt(row.email.encode())
            notes = ring.decrypt(row.notes.encode())
            row.email = primary.encrypt(email).decode()
            row.notes = primary.encrypt(notes).decode()
        session.commit()
    seconds = time.perf_counter() - started
    engine.dispose()
    print(
        json.dumps(
            {
                "rows": len(rows),
                "seconds": seconds,
                "python": sys.version.split()[0],
                "sqlalchemy": sqlalchemy.__version__,
                "cryptography": cryptography.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
