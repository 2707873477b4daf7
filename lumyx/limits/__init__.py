"""Rate limits: each API key's requests counted against its plan's limits
(``plans``), on counter stores every worker shares (``storage``: Redis, a file
beside a SQLite database, or a PostgreSQL table).

Imports ``db`` (the counters' table) and libraries only; no other feature.
"""
