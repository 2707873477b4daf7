"""Accounts: users (sign-up, log-in check, settings), API keys (create, list,
revoke, touch, and the per-worker look-up cache), web sessions (which one is
still valid, ending them), the owner's changes to the account (password, e-mail,
closing it), the admin's changes to an account, and the account's credit history
as its pages show it.

May import billing's ledger (credits are granted through it), db and money.
"""
