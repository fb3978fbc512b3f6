"""How long one password hash takes: the cohort server's tuned Argon2id against Django's default.

.venv/bin/python benchmarks/password_hashing.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pymastery.web.settings")
os.environ.setdefault("PYMASTERY_MODE", "cohort")

import django

django.setup()

from django.contrib.auth.hashers import Argon2PasswordHasher, BasePasswordHasher  # noqa: E402

from pymastery.web.accounts.hashers import TunedArgon2PasswordHasher  # noqa: E402


def median_ms(hasher: BasePasswordHasher, runs: int) -> float:
    timings = []
    for run in range(runs):
        started = time.perf_counter()
        hasher.encode(f"a passphrase of a learner {run}", hasher.salt())
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    tuned = median_ms(TunedArgon2PasswordHasher(), runs)
    default = median_ms(Argon2PasswordHasher(), runs)
    print(f"tuned Argon2id (m=19 MiB, t=2, p=1): {tuned:7.1f} ms per hash (median of {runs})")
    print(f"Django's default Argon2id:            {default:7.1f} ms per hash (median of {runs})")
    per_second = f"{1000 / tuned:.0f} tuned, {1000 / default:.0f} default"
    print(f"logins one core can check per second: {per_second}")


if __name__ == "__main__":
    main()
