"""Routing policy: which models and routes a call tries, and in what order.

The send loop over one model's routes is the gateway's (lumyx.gateway.routing).
This package decides what it loops over: the client's ``provider`` preferences
(:mod:`.preferences`), weights of balanced models, the route that served a
conversation last (:mod:`.sticky`) and the routes' circuit breakers
(:mod:`.breakers`), combined per call by :mod:`.plan`; :mod:`.measurements`
keeps what each route did lately. These import ``catalog``, ``limits`` (where the
shared state lives), ``db`` and libraries, never the gateway.

On top of the gateway sit the request's routing fields (:mod:`.request_fields`,
read by the views) and its fallback models (:mod:`.fallbacks`: the gateway's send
loop, once per model).
"""
