"""A toy drill family that lives only in the tests: it proves that a family plugs in without an edit under drtool/.

It writes one tagged, drill-named SSM parameter in the DR region and times how long it takes to read it back.
"""
