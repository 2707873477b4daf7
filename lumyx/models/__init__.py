"""The database schema, one module per concern."""
from .api_key import ApiKey
from .catalog import CatalogModel, Provider
from .ledger import LedgerEntry
from .user import User

__all__ = ["ApiKey", "CatalogModel", "LedgerEntry", "Provider", "User"]
