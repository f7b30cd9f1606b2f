#!/usr/bin/env python3
"""Python `cryptography` Fernet on the payloads, keys, timestamp and IV of benches/codec.rs.

Prints one JSON object: nanoseconds per operation (median of REPEATS timed loops of
ITERATIONS calls each) for encrypt and decrypt at 24 B and 1 KiB, and MultiFernet decrypt
among three keys with the token under the first and under the last key (what Python does
where we identify a token's key by HMAC). The tokens decrypted are built from the same
timestamp and IV as the bench's, so both sides decrypt byte-for-byte the same tokens; they
are printed too, for the record.

Usage: fernet_bench.py [ITERATIONS] [REPEATS]
"""

import json
import statistics
import sys
import time

import cryptography
from cryptography.fernet import Fernet, MultiFernet

PRIMARY = b"YzpZgClxLl3CBp3nBLueMYrq95oNaQFcXsF3P122yPw="
OLD_1 = b"fOND_spZ8wI-KrYha05MCmNPnCFRDjgkOwnancajTEQ="
OLD_2 = b"80JmBCWN2hWg9fUDOdWEpVRhucxuJkgGDaLaqT5K5c4="
TIMESTAMP = 1_764_000_000
IV = b"timber-bench-iv!"

PAYLOADS = {
    "24B": b"person.12345@example.com",
    "1KB": bytes(ord("a") + (i % 26) for i in range(1024)),
}


def per_op_ns(fn, iterations, repeats):
    """Median over `repeats` loops of the mean time of one call, in ns."""
    fn()  # warm up (imports, caches)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(iterations):
            fn()
        samples.append((time.perf_counter_ns() - start) / iterations)
    return statistics.median(samples)


def fixed_token(fernet, payload):
    # The same token our bench builds with encrypt_at(payload, TIMESTAMP, IV).
    return fernet._encrypt_from_parts(payload, TIMESTAMP, IV)


def main():
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    primary = Fernet(PRIMARY)
    results = {}
    tokens = {}
    for label, payload in PAYLOADS.items():
        token = fixed_token(primary, payload)
        assert primary.decrypt(token) == payload
        tokens[label] = token.decode()
        results[f"encrypt/{label}"] = per_op_ns(
            lambda: primary.encrypt(payload), iterations, repeats
        )
        results[f"decrypt/{label}"] = per_op_ns(
            lambda: primary.decrypt(token), iterations, repeats
        )
    ring = MultiFernet([Fernet(PRIMARY), Fernet(OLD_1), Fernet(OLD_2)])
    for label, key in [("first_key", PRIMARY), ("last_key", OLD_2)]:
        token = fixed_token(Fernet(key), PAYLOADS["24B"])
        results[f"multifernet_decrypt_3_keys/{label}"] = per_op_ns(
            lambda: ring.decrypt(token), iterations, repeats
        )
    print(
        json.dumps(
            {
                "python": sys.version.split()[0],
                "cryptography": cryptography.__version__,
                "iterations": iterations,
                "repeats": repeats,
                "ns_per_op": results,
                "tokens": tokens,
            }
        )
    )


if __name__ == "__main__":
    main()
