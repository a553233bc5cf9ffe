"""The FHIR R4 store and REST API: storage, search index, validation, Bundles.

Knows nothing of ``federation`` or ``hub``; they hook in through its registries.
"""
