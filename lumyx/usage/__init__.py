"""Usage: what each request used, recorded and reported.

:mod:`.recording` writes each request's usage row and its hour on the request
path; :mod:`.report` reads them for the Usage API and the usage page;
:mod:`.health` summarises recent rows per model for the catalog pages.

May import ``db``, ``money`` and ``billing.free_cap`` (the report shows the
free-model cap); never the gateway or the views.
"""
