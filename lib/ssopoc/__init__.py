"""ssopoc: a workbook that tests single sign-on routes for the OpenMRS community.

Notebooks import from this package; the package talks to the real services or to the
local sandbox over HTTPS, and records what it saw as evidence.
"""

from ssopoc.errors import ConfigError, SsopocError

__all__ = ["ConfigError", "SsopocError", "__version__"]
__version__ = "0.1.0"
