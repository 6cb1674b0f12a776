"""The preflight checks of `00_check_environment`: mode, secrets, reachability, TLS.

Each check records evidence and returns a table to display. In sandbox mode every
service is an emulator behind the sandbox CA; in live mode the system trust store
must accept the real services' certificates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

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


def _refused(wb: Workbook, criterion: str, error: Exception, fix: str) -> None:
    """Record a refused set-up check as FAIL, naming the fix."""
    action = getattr(error, "next_action", None) or fix
    observed = f"refused: {type(error).__name__}"
    wb.evidence.check(criterion, "accepted", observed, source=f"fix: {action}")


def entra_setup(wb: Workbook) -> Table:
    """Entra ID route: the app's Graph permissions, the Atlassian Cloud app and job.

    Each missing permission is a FAIL naming the fix (grant it and consent,
    README "Graph application permissions"). In the sandbox, the seeded app with too
    few permissions is checked as well, to show what that finding looks like.
    """
    from ssopoc.entra import REQUIRED_PERMISSIONS, EntraClient

    if wb.settings.params.route != "entra":
        wb.evidence.skip("Entra ID set-up", "the run's route is not entra")
        return Table(("Entra ID", "state"), [("set-up", "not this route")])
    rows: list[tuple[str, str]] = []
    try:
        entra = EntraClient.from_workbook(wb)
        granted = set(entra.granted_permissions())
    except (ConfigError, ServiceError) as error:
        _refused(wb, "the workbook app signs in to Graph", error, "check .env")
        return Table(("Entra ID", "state"), [("sign-in", str(error))])
    for name in sorted(REQUIRED_PERMISSIONS):
        state = "granted" if name in granted else "MISSING"
        wb.evidence.check(
            f"Graph permission {name}",
            "granted",
            state,
            source=f"fix: add {name} (Application) and grant admin consent",
        )
        rows.append((name, state))
    try:
        app = entra.apps.enterprise_app("Atlassian Cloud")
        job = entra.provisioning.job(str(app["id"]))
        found = f"found, job {job['status'].get('code')}"
    except ServiceError as error:
        fix = "add the Atlassian Cloud gallery app and set up provisioning (README)"
        _refused(wb, "the Atlassian Cloud app and its job exist", error, fix)
        found = f"missing: {error}"
    else:
        wb.evidence.check(
            "the Atlassian Cloud app and its job exist", "found", found.split(",")[0]
        )
    rows.append(("Atlassian Cloud app", found))
    entra.close()
    if wb.sandbox is not None:
        rows += _limited_app_demo(wb)
    return Table(("Entra ID", "state"), rows)


def _limited_app_demo(wb: Workbook) -> list[tuple[str, str]]:
    """Sandbox only: the permission check run on the seeded under-privileged app."""
    from ssopoc.entra import REQUIRED_PERMISSIONS, EntraClient

    assert wb.sandbox is not None
    try:
        limited = EntraClient.from_sandbox(
            wb.sandbox, app="entra_limited", prefix=wb.prefix, transcript=wb.transcript
        )
    except ConfigError:
        return []
    try:
        missing = sorted(set(REQUIRED_PERMISSIONS) - set(limited.granted_permissions()))
    finally:
        limited.close()
    wb.evidence.observe(
        "sandbox demo: an under-privileged app is reported MISSING", missing
    )
    return [("demo: limited app lacks", ", ".join(missing))]


def atlassian_setup(wb: Workbook) -> Table:
    """The three Atlassian keys are accepted, and the org has verified domains."""
    from ssopoc.atlassian import Atlassian

    try:
        atlassian = Atlassian.from_workbook(wb)
    except ConfigError as error:
        _refused(wb, "the Atlassian settings are complete", error, error.fix)
        return Table(("Atlassian", "state"), [("settings", str(error))])
    probe_name = f"{wb.prefix}preflight-probe"
    probes: dict[str, Callable[[], object]] = {
        "the SCIM directory key is accepted": lambda: atlassian.scim.find_user(
            user_name=probe_name
        ),
        "the org admin key is accepted": atlassian.admin.orgs,
        "the Jira API token is accepted": lambda: atlassian.jira.search_users("a"),
    }
    rows = []
    for criterion, probe in probes.items():
        try:
            probe()
        except ServiceError as error:
            _refused(wb, criterion, error, "check the key in .env (README)")
            rows.append((criterion, "refused"))
            continue
        wb.evidence.check(criterion, "accepted", "accepted")
        rows.append((criterion, "accepted"))
    try:
        domains = atlassian.admin.domains()
    except ServiceError as error:
        _refused(wb, "the org's domains can be read", error, "check the org key")
        return Table(("Atlassian", "state"), rows)
    finally:
        atlassian.close()
    verified = sorted(
        str((d.get("attributes") or {}).get("name"))
        for d in domains
        if ((d.get("attributes") or {}).get("claim") or {}).get("status") == "verified"
    )
    wb.evidence.check(
        "the org has a verified domain",
        "at least one",
        "at least one" if verified else "none",
        source="fix: verify a domain in admin.atlassian.com > Settings > Domains",
    )
    wb.evidence.observe("verified domains", verified)
    rows.append(("verified domains", ", ".join(verified) or "none"))
    return Table(("Atlassian", "state"), rows)
