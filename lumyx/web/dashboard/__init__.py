"""The account dashboard: usage, API keys, credits, personas, settings. One
blueprint (:mod:`.blueprint`), one small module per page; importing the package
registers every page's routes on :data:`bp`.

May import accounts, billing, usage, agents, the catalog and the web side's
forms and rendering.
"""

from lumyx.web.dashboard import credits, keys, personas, settings, usage  # noqa: F401  (routes register on import)
from lumyx.web.dashboard.blueprint import bp

__all__ = ["bp"]
