"""The database schema, one module per concern."""

from lumyx.db.models.api_key import ApiKey
from lumyx.db.models.catalog import CatalogModel, Provider
from lumyx.db.models.ledger import LedgerEntry
from lumyx.db.models.payment import Payment
from lumyx.db.models.persona import Persona
from lumyx.db.models.stored_response import StoredResponse, StoredResponseItem
from lumyx.db.models.usage import FreeUsage, Hold, RateCounter, RoutingState, UsageHourly, UsageRecord
from lumyx.db.models.user import User

__all__ = [
    "ApiKey",
    "CatalogModel",
    "FreeUsage",
    "Hold",
    "LedgerEntry",
    "Payment",
    "Persona",
    "Provider",
    "RateCounter",
    "RoutingState",
    "StoredResponse",
    "StoredResponseItem",
    "UsageHourly",
    "UsageRecord",
    "User",
]
