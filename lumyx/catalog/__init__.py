"""The model catalog: the file that defines it (:mod:`.file`), the in-memory
snapshot every worker serves from (:mod:`.snapshot`), the filters and sorting of
the catalog pages (:mod:`.filters`) and the docs' code samples filled in for
this instance (:mod:`.samples`).

May import db and money; it imports no other feature.
"""
