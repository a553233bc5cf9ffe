"""Errors the gateway raises; the API turns each into an ``OperationOutcome`` in one place."""

from __future__ import annotations


class FhirError(Exception):
    """A refused interaction: HTTP ``status`` plus OperationOutcome issues."""

    def __init__(
        self,
        status: int,
        diagnostics: str,
        *,
        code: str = "invalid",
        severity: str = "error",
        expression: list[str] | None = None,
        issues: list[dict] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(diagnostics)
        self.status = status
        self.diagnostics = diagnostics
        self.headers = headers or {}
        if issues is None:
            issue = {"severity": severity, "code": code, "diagnostics": diagnostics}
            if expression:
                issue["expression"] = expression
            issues = [issue]
        self.issues = issues

    def outcome(self) -> dict:
        return {"resourceType": "OperationOutcome", "issue": self.issues}


class NotFound(FhirError):
    def __init__(self, diagnostics: str):
        super().__init__(404, diagnostics, code="not-found")


class Gone(FhirError):
    def __init__(self, diagnostics: str, *, headers: dict[str, str] | None = None):
        super().__init__(410, diagnostics, code="deleted", headers=headers)


class Forbidden(FhirError):
    def __init__(self, diagnostics: str):
        super().__init__(403, diagnostics, code="forbidden")


class Unauthorized(FhirError):
    def __init__(self, diagnostics: str):
        super().__init__(401, diagnostics, code="login", headers={"WWW-Authenticate": "Bearer"})


class Conflict(FhirError):
    def __init__(self, diagnostics: str):
        super().__init__(409, diagnostics, code="conflict")


class PreconditionFailed(FhirError):
    def __init__(self, diagnostics: str):
        super().__init__(412, diagnostics, code="conflict")
