"""The preflight checks of `00_check_environment`: mode, secrets, reachability, TLS.

Each check records evidence and returns a table to display. In sandbox mode every
service is an emulator behind the sandbox CA; in live mode the system trust store
must accept the real services' certificates.
"""

from __future__ import annotations

import logging

import httpx

from ssopoc.display import Table
from ssopoc.errors import ConfigError, ServiceError
from ssopoc.settings import LIVE_SECRETS
from ssopoc.workbook import Workbook

log = logging.getLogger(__name__)

TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def parameters(wb: Workbook) -> Table:
    """The run's mode and main parameters (no secret is ever a parameter)."""
    p = wb.settings.params
    timeouts = p.http.timeouts
    rows = [
        ("mode", p.mode),
        ("route", p.route),
        ("params file", wb.settings.params_file.name),
        ("object prefix", f"{p.object_prefix}-<run id>-"),
        ("allow writes", str(p.allow_writes).lower()),
        ("retries", f"{p.http.retries.attempts} attempts"),
        ("timeouts", f"connect {timeouts.connect}s, read {timeouts.read}s"),
    ]
    return Table(("parameter", "value"), rows)


def secrets(wb: Workbook) -> Table:
    """Record which secrets are set, by name only, and whether this mode needs them.

    In live mode a required secret that is missing is a FAIL naming the fix; in
    sandbox mode secrets are listed but not used.
    """
    route = wb.settings.params.route
    needed = {name.upper() for name in LIVE_SECRETS[route]}
    rows = []
    for name, present in wb.settings.secrets.present().items():
        state = "set" if present else "not set"
        criterion = f"secret {name}"
        if wb.mode == "sandbox":
            wb.evidence.observe(criterion, f"{state} (sandbox: unused)")
            use = "unused in sandbox mode"
        elif name in needed:
            wb.evidence.check(
                criterion,
                "set",
                state,
                source=f"needed for the {route} route; fix: set {name} in .env",
            )
            use = f"needed for the {route} route"
        else:
            wb.evidence.observe(criterion, f"{state} (not needed)")
            use = "not needed for this route"
        rows.append((name, state, use))
    return Table(("secret", "state", "use"), rows)


def services(wb: Workbook, min_tls: str = "TLSv1.2") -> Table:
    """Check that each service answers over verified TLS of at least `min_tls`.

    Sandbox: `GET /_sandbox/health` must answer 200 from the expected emulator.
    Live: any HTTP answer from the base URL proves reachability; the certificate
    must verify against the system trust store (httpx verifies by default).
    """
    if min_tls not in TLS_VERSIONS:
        raise ConfigError(
            "min_tls", f"{min_tls!r} is not a TLS version", f"use one of {TLS_VERSIONS}"
        )
    accepted = TLS_VERSIONS[TLS_VERSIONS.index(min_tls) :]
    rows = []
    for endpoint in wb.endpoints():
        path = "/_sandbox/health" if endpoint.emulator else "/"
        trust = "sandbox CA" if endpoint.emulator else "system trust store"
        criterion = f"{endpoint.service} answers over verified TLS"
        try:
            with wb.client(endpoint.service, endpoint.base_url) as client:
                response = client.get(path)
        except (ServiceError, httpx.HTTPError) as error:
            observed = f"no answer ({type(error).__name__})"
            fix = f"fix: check that {endpoint.base_url} is reachable and trusted"
            wb.evidence.check(criterion, "an answer", observed, source=fix)
            rows.append((endpoint.service, endpoint.base_url, observed, "—"))
            continue
        if endpoint.emulator:
            expected = f"200 from {endpoint.emulator}"
            observed = f"{response.status_code} from {response.json().get('emulator')}"
        else:
            expected = observed = "an answer"
        wb.evidence.check(criterion, expected, observed, source=f"trusted: {trust}")
        version = response.extensions.get("tls_version") or "unknown"
        wb.evidence.check(
            f"{endpoint.service} TLS version",
            f">= {min_tls}",
            version,
            compare=lambda _expected, seen: seen in accepted,
        )
        rows.append((endpoint.service, endpoint.base_url, observed, version))
    return Table(("service", "base URL", "answer", "TLS"), rows)
