"""Personas and agents: saved presets an account owns (:mod:`.personas`), the
tools the gateway runs for a model (:mod:`.tools`) and the agents chat loop
(:mod:`.loop`, with its own request fields in :mod:`.options`), which makes each of
its model calls through the gateway.

May import the gateway, accounts, the catalog, translate, wire, providers,
db and errors; nothing imports it but the API's views and the web dashboard.
"""
