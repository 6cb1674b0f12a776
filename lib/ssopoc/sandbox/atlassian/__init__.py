"""The Atlassian Cloud emulator of the sandbox (atlassian.md §8).

Modules by concern: `tenant` (accounts, org, domains), `directory` (SCIM records
and the Atlassian rules), `scim` (scim2-server underneath), `admin` (org admin
and SCIM-link APIs), `sites` (Jira and Confluence), `login` (simulated sign-in),
`assumptions` (the (U) settings) and `emulator` (routing, seeding, state).
"""

from ssopoc.sandbox.atlassian.emulator import AtlassianEmulator

__all__ = ["AtlassianEmulator"]
