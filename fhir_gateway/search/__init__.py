"""FHIR search: index extraction on write, query building, searchset Bundles.

A Django app of its own (label ``fhir_search``) so that its index tables have their own migrations.
"""
