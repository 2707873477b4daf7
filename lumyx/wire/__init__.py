"""The two wire formats: what a valid request looks like, checked cheaply, and
what a model must be able to do to serve it (:mod:`.capabilities`).

May import ``errors`` only: the views call these before anything else runs.
"""
