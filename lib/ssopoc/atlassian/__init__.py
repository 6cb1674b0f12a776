"""The Atlassian client: SCIM directory, org admin API, Jira and Confluence.

`Atlassian.from_workbook(wb)` serves sandbox and live mode alike. The behaviour
it relies on is that of `/work/shared/docs/reference/atlassian.md`.
"""

from ssopoc.atlassian.admin import AccountProof, OrgAdmin
from ssopoc.atlassian.auth import BasicAuth, BearerAuth
from ssopoc.atlassian.client import Atlassian
from ssopoc.atlassian.config import AtlassianConfig
from ssopoc.atlassian.errors import (
    AtlassianAuthError,
    AtlassianError,
    AtlassianNotFoundError,
    AtlassianRateLimitError,
    ScimError,
    ScimInvalidFilterError,
    ScimInvalidValueError,
    ScimUniquenessError,
)
from ssopoc.atlassian.models import (
    AtlassianExternal,
    AtlassianUser,
    ScimUser,
    account_id_of,
    primary_email_of,
)
from ssopoc.atlassian.scim import ScimDirectory
from ssopoc.atlassian.sites import Confluence, Jira

__all__ = [
    "AccountProof",
    "Atlassian",
    "AtlassianAuthError",
    "AtlassianConfig",
    "AtlassianError",
    "AtlassianExternal",
    "AtlassianNotFoundError",
    "AtlassianRateLimitError",
    "AtlassianUser",
    "BasicAuth",
    "BearerAuth",
    "Confluence",
    "Jira",
    "OrgAdmin",
    "ScimDirectory",
    "ScimError",
    "ScimInvalidFilterError",
    "ScimInvalidValueError",
    "ScimUniquenessError",
    "ScimUser",
    "account_id_of",
    "primary_email_of",
]
