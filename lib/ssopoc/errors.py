"""The exception tree of the library, documented in one place.

- `SsopocError`: the base of everything raised on purpose.
  - `ConfigError`: bad parameters, a missing params file or a missing secret. Its
    text is one line naming the field, the problem and the fix.
  - `ServiceError`: a service answered with an error, or did not answer at all.
    - `ServiceUnreachableError`: no answer after the retry budget.
  - `SecretLeakError`: a loaded secret value was found in a file the run wrote.
  - `SandboxError`: the local sandbox could not be started or reached.
"""

from __future__ import annotations


class SsopocError(Exception):
    """Base class of the errors the library raises on purpose."""


class ConfigError(SsopocError):
    """A parameter, params file or secret is wrong; the text says which and the fix.

    `field` names the parameter or environment variable, `fix` the next action.
    """

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}; fix: {fix}")


class ServiceError(SsopocError):
    """A service answered with an error status.

    Carries the HTTP `status`, the service's own error `code` where it gives one,
    a short `detail`, and the `next_action` a person should take.
    """

    def __init__(
        self,
        service: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        detail: str | None = None,
        next_action: str | None = None,
    ) -> None:
        self.service = service
        self.status = status
        self.code = code
        self.detail = detail
        self.next_action = next_action
        text = f"{service}: {message}"
        if next_action:
            text += f"; next: {next_action}"
        super().__init__(text)


class ServiceUnreachableError(ServiceError):
    """No response came back within the retry budget (refused, dropped, timed out)."""


class SecretLeakError(SsopocError):
    """A loaded secret value appears in a file that a run wrote."""


class SandboxError(SsopocError):
    """The local sandbox could not be started, or did not answer its health check."""
