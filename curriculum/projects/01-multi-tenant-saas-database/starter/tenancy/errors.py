"""The exceptions the tenancy package raises; all of them derive from TenancyError."""


class TenancyError(Exception):
    """Base class: catch this to handle any refusal of the tenancy layer."""


class InvalidName(TenancyError, ValueError):
    """A namespace or slug that is not a safe PostgreSQL identifier; nothing was sent."""


class TenantNotFound(TenancyError, LookupError):
    """No tenant with this slug is registered in the namespace."""


class TenantExists(TenancyError):
    """A tenant with this slug is already registered; provisioning changed nothing."""


class CrossTenantWrite(TenancyError):
    """An object carries another tenant's id; it was refused before any SQL was sent."""


class RecordNotFound(TenancyError, LookupError):
    """A referenced row does not exist for this tenant (it may exist for another one)."""


class MigrationFailed(TenancyError):
    """One or more data schemas failed to migrate; each one failed alone and was rolled back."""

    def __init__(self, failures: dict[str, BaseException]) -> None:
        self.failures = failures
        names = ", ".join(
            f"{schema} ({error.__class__.__name__})" for schema, error in failures.items()
        )
        super().__init__(f"migration failed for {len(failures)} schema(s): {names}")
