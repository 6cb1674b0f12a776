"""Parameters and secrets: where every value of a run comes from.

Parameters come from a YAML file under `params/` plus `-p key=value` overrides. They
are validated and typed, and they never hold a secret. Secrets come only from the
environment or the project's `.env` file, are held as `SecretStr`, and are registered
with the redactor the moment they load. Every problem is raised as a `ConfigError`
whose text is one line naming the field, the problem and the fix.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ssopoc import redact
from ssopoc.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """Return the workbook's top folder (the one holding `params/` and `notebooks/`).

    `SSOPOC_ROOT` wins; otherwise the folder above `lib/` of this (editable) install.
    """
    if env := os.environ.get("SSOPOC_ROOT"):
        return Path(env).resolve()
    return PACKAGE_DIR.parents[1]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Timeouts(_Strict):
    """Seconds to wait for a connection and for each read."""

    connect: float = Field(default=5.0, gt=0, le=120)
    read: float = Field(default=30.0, gt=0, le=600)


class Retries(_Strict):
    """The retry budget of every HTTP call (exponential backoff, Retry-After wins)."""

    attempts: int = Field(default=5, ge=1, le=10)
    wait_initial: float = Field(default=0.2, ge=0, le=30)
    wait_max: float = Field(default=30.0, gt=0, le=600)
    budget_seconds: float = Field(default=120.0, gt=0, le=3600)


class HttpSettings(_Strict):
    """Timeouts and retries of the one HTTP client factory."""

    timeouts: Timeouts = Timeouts()
    retries: Retries = Retries()


class Fault(_Strict):
    """A fault the sandbox injects into the next `count` requests of an emulator.

    `kind` is `status` (answer `status`, for example 429 or 503, with `Retry-After`
    when `retry_after` is set), `latency` (wait `latency_ms` first) or `drop` (close
    the connection without an answer). `path_prefix` limits it to some paths.
    """

    kind: Literal["status", "latency", "drop"]
    status: int = Field(default=503, ge=400, le=599)
    retry_after: int | None = Field(default=None, ge=0, le=3600)
    latency_ms: int = Field(default=0, ge=0, le=60_000)
    count: int = Field(default=1, ge=1, le=1_000_000)
    path_prefix: str = "/"


class SandboxSettings(_Strict):
    """Where the local sandbox listens and keeps its state."""

    host: str = "127.0.0.1"
    ports: dict[str, int] = Field(
        default_factory=lambda: {"entra": 8441, "atlassian": 8442, "keycloak": 8443}
    )
    state_dir: Path = Path("outputs/.sandbox")
    start_timeout: float = Field(default=30.0, gt=0, le=300)
    seed: int = 20261203
    faults: dict[str, list[Fault]] = Field(default_factory=dict)
    emulators: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        """Refuse a host off loopback and ports outside the unprivileged range."""
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = self.host == "localhost"
        if not loopback:
            raise ConfigError(
                "sandbox.host",
                f"{self.host!r} is not a loopback address",
                "use 127.0.0.1, ::1 or localhost",
            )
        for name, port in self.ports.items():
            if not 1024 <= port <= 65535:
                raise ConfigError(
                    f"sandbox.ports.{name}",
                    f"{port} is outside 1024-65535",
                    "pick a free unprivileged port",
                )


class LiveServices(_Strict):
    """Identifiers and URLs of the real tenants (not secret; secrets live in .env)."""

    entra_authority: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com"
    entra_tenant_id: str | None = None
    entra_client_id: str | None = None
    atlassian_api_url: str = "https://api.atlassian.com"
    atlassian_org_id: str | None = None
    atlassian_scim_directory_id: str | None = None
    jira_url: str | None = None
    confluence_url: str | None = None
    jira_email: str | None = None
    keycloak_url: str | None = None
    keycloak_realm: str = "openmrs"
    keycloak_admin_client_id: str | None = None


class Params(_Strict):
    """Every parameter a run reads; see `params/sandbox.yaml` for each one's meaning."""

    mode: Literal["sandbox", "live"] = "sandbox"
    route: Literal["entra", "keycloak"] = "entra"
    object_prefix: str = Field(default="ssopoc", pattern=r"^[a-z][a-z0-9]{2,15}$")
    allow_writes: bool = False
    outputs_dir: Path = Path("outputs")
    notebooks: dict[str, dict[str, Any]] = Field(default_factory=dict)
    http: HttpSettings = HttpSettings()
    sandbox: SandboxSettings = SandboxSettings()
    live: LiveServices = LiveServices()


# Which live settings each route needs before a live run may start.
LIVE_REQUIRED: dict[str, tuple[str, ...]] = {
    "entra": (
        "entra_tenant_id",
        "entra_client_id",
        "atlassian_org_id",
        "atlassian_scim_directory_id",
        "jira_url",
        "jira_email",
    ),
    "keycloak": (
        "keycloak_url",
        "keycloak_admin_client_id",
        "atlassian_org_id",
        "atlassian_scim_directory_id",
        "jira_url",
        "jira_email",
    ),
}


class Secrets(BaseSettings):
    """Secrets of the live tenants, from the environment or `.env` only.

    Each is named in `.env.example`. In sandbox mode they are listed by name in the
    preflight check but not used: the sandbox hands out its own credentials.
    """

    model_config = SettingsConfigDict(extra="ignore", env_file_encoding="utf-8")

    entra_client_secret: SecretStr | None = None
    atlassian_org_api_key: SecretStr | None = None
    atlassian_scim_token: SecretStr | None = None
    jira_api_token: SecretStr | None = None
    keycloak_admin_client_secret: SecretStr | None = None
    ldap_bind_password: SecretStr | None = None

    def present(self) -> dict[str, bool]:
        """Map each secret's environment name to whether it is set (never a value)."""
        return {
            name.upper(): getattr(self, name) is not None
            for name in type(self).model_fields
        }

    def values(self) -> list[str]:
        """Return the loaded secret values (only for the redactor and leak scan)."""
        found = []
        for name in type(self).model_fields:
            secret = getattr(self, name)
            if secret is not None:
                found.append(secret.get_secret_value())
        return found


SECRET_NAMES = frozenset(Secrets.model_fields)

LIVE_SECRETS: dict[str, tuple[str, ...]] = {
    "entra": (
        "entra_client_secret",
        "atlassian_org_api_key",
        "atlassian_scim_token",
        "jira_api_token",
    ),
    "keycloak": (
        "keycloak_admin_client_secret",
        "atlassian_org_api_key",
        "atlassian_scim_token",
        "jira_api_token",
    ),
}

_LOOKS_SECRET = re.compile(r"^(eyJ[\w-]{8,}\.|(bearer|basic)\s+\S{8,}$)", re.I)


class Settings:
    """Validated parameters, loaded secrets, and where they came from."""

    def __init__(
        self,
        params: Params,
        secrets: Secrets,
        params_file: Path,
        overrides: tuple[str, ...] = (),
    ) -> None:
        self.params = params
        self.secrets = secrets
        self.params_file = params_file
        self.overrides = overrides

    @property
    def mode(self) -> str:
        """`sandbox` or `live`."""
        return self.params.mode

    @property
    def root(self) -> Path:
        """The workbook's top folder."""
        return project_root()

    def path(self, value: Path) -> Path:
        """Resolve a parameter path against the workbook's top folder."""
        return value if value.is_absolute() else self.root / value

    def public(self) -> dict[str, Any]:
        """The parameters as plain data, safe to display and to record."""
        return self.params.model_dump(mode="json")


def default_params_file() -> Path:
    """Return `params/sandbox.yaml` of this workbook."""
    return project_root() / "params" / "sandbox.yaml"


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split one `-p key.sub=value` override into its key path and typed value.

    The value is read as YAML, so `8443` is a number and `true` a boolean.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or not re.fullmatch(r"[A-Za-z0-9_.-]+", key):
        raise ConfigError(
            "-p",
            f"{text!r} is not of the form key=value",
            "write -p section.name=value, for example -p mode=live",
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def load_settings(
    params_file: Path | str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    env_file: Path | None = None,
) -> Settings:
    """Read, merge and validate parameters, then load secrets.

    Raises `ConfigError` for a missing or unreadable params file, an unknown or
    mistyped parameter, a secret given as a parameter, and (in live mode) a missing
    live setting or secret.
    """
    path = Path(params_file) if params_file else default_params_file()
    raw = _read_params_file(path)
    for override in overrides:
        keys, value = parse_override(override)
        _set_path(raw, keys, value, override)

    secrets = _load_secrets(env_file)
    _refuse_secret_params(raw, secrets, [])
    params = _validate(raw)
    if params.mode == "live":
        _require_live(params, secrets)
    redact.register(*secrets.values())
    return Settings(params, secrets, path.resolve(), tuple(overrides))


def _read_params_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(
            "--params",
            f"file {str(path)!r} does not exist",
            "pass an existing file, for example params/sandbox.yaml",
        )
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        problem = f"file {str(path)!r} is not readable YAML ({type(error).__name__})"
        raise ConfigError("--params", problem, "fix the YAML syntax") from error
    if not isinstance(loaded, dict):
        raise ConfigError(
            "--params", f"file {str(path)!r} is not a mapping", "use key: value lines"
        )
    return loaded


def _set_path(raw: dict[str, Any], keys: list[str], value: Any, text: str) -> None:
    node = raw
    for depth, key in enumerate(keys[:-1]):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            where = ".".join(keys[: depth + 1])
            raise ConfigError(
                where, f"is a single value, so {text!r} cannot set inside it", "drop it"
            )
        node = child
    node[keys[-1]] = value


def _load_secrets(env_file: Path | None) -> Secrets:
    if env_file is None:
        named = os.environ.get("SSOPOC_ENV_FILE")
        env_file = Path(named) if named else project_root() / ".env"
    source = env_file if env_file.is_file() else None
    # pydantic-settings takes `_env_file` at run time; its stub does not declare it.
    secrets = Secrets(_env_file=source)  # type: ignore[call-arg]
    for name in SECRET_NAMES:
        value = getattr(secrets, name)
        if value is not None and len(value.get_secret_value()) < 6:
            raise ConfigError(
                name.upper(),
                "is shorter than 6 characters, too short to be a real secret",
                f"set the full value of {name.upper()} in .env",
            )
    return secrets


def _refuse_secret_params(node: Any, secrets: Secrets, where: list[str]) -> None:
    known = set(secrets.values())
    if isinstance(node, dict):
        for key, value in node.items():
            here = [*where, str(key)]
            if redact.is_secret_key(str(key)) or str(key).lower() in SECRET_NAMES:
                raise ConfigError(
                    ".".join(here),
                    "names a secret, and parameters are written into every notebook",
                    "remove it from params and set it in .env or the environment",
                )
            _refuse_secret_params(value, secrets, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _refuse_secret_params(item, secrets, [*where, str(index)])
    elif isinstance(node, str) and (node in known or _LOOKS_SECRET.match(node)):
        raise ConfigError(
            ".".join(where),
            "holds a secret value, and parameters are written into every notebook",
            "remove the value from params and set it in .env or the environment",
        )


_FIXES = {
    "extra_forbidden": "remove it, or check the spelling against params/sandbox.yaml",
    "int_parsing": "give a whole number",
    "int_type": "give a whole number",
    "float_parsing": "give a number",
    "bool_parsing": "give true or false",
    "bool_type": "give true or false",
    "literal_error": "use one of the allowed values",
    "string_pattern_mismatch": "use the documented format",
    "dict_type": "give a mapping of name: value lines",
    "model_type": "give a mapping of name: value lines",
}


def _validate(raw: dict[str, Any]) -> Params:
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "params"
        kind = first["type"]
        if kind == "extra_forbidden":
            problem = "is not a known parameter"
        else:
            shown = repr(first.get("input"))[:60]
            problem = f"{first['msg'].rstrip('.')} (got {shown})"
        fix = _FIXES.get(kind, "correct the value as the message says")
        raise ConfigError(field, problem, fix) from None
    except ConfigError:
        raise


def _require_live(params: Params, secrets: Secrets) -> None:
    for name in LIVE_REQUIRED[params.route]:
        if not getattr(params.live, name):
            raise ConfigError(
                f"live.{name}",
                f"is required for a live {params.route} run and is empty",
                f"set live.{name} in params/live-{params.route}.yaml",
            )
    for name in LIVE_SECRETS[params.route]:
        if getattr(secrets, name) is None:
            raise ConfigError(
                name.upper(),
                f"is required for a live {params.route} run and is not set",
                f"set {name.upper()} in .env (see .env.example)",
            )
