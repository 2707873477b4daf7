"""The database schema, one module per concern."""
from .api_key import ApiKey
from .catalog import CatalogModel, Provider
from .ledger import LedgerEntry
from .payment import Payment
from .persona import Persona
from .usage import FreeUsage, Hold, RateCounter, UsageHourly, UsageRecord
from .user import User

__all__ = ["ApiKey", "CatalogModel", "FreeUsage", "Hold", "LedgerEntry", "Payment", "Persona", "Provider", "RateCounter", "UsageHourly",
           "UsageRecord", "User"]
