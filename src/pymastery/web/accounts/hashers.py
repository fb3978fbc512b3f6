"""Password hashing cost fit for a shared server with 2 cores."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class TunedArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's minimum recommended cost: 19 MiB of memory, 2 passes, 1 lane.

    Django's default (100 MiB, 2 passes, 8 lanes) took 0.5-1 s per hash on this machine kind, so a
    burst of logins could occupy every worker; this costs tens of milliseconds
    (benchmarks/password_hashing.py). Hashes made with other parameters still verify, and Django
    upgrades them to these on the next successful login.
    """

    algorithm = "argon2"
    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1
