"""The proof-of-concept steps that notebooks call, one method per notebook step.

- `EntraRoute`: notebooks 01 and 02, Entra ID → Atlassian Cloud over SCIM.
- `EmailMapping`: notebook 02's mapping edit, its follow-ups and the restore.
- `Cleanup`: notebook 08, removing what runs created and restoring snapshots.
"""

from ssopoc.poc.cleanup import Cleanup
from ssopoc.poc.email_mapping import EmailMapping
from ssopoc.poc.entra_route import EntraRoute

__all__ = ["Cleanup", "EmailMapping", "EntraRoute"]
