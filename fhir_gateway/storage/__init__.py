"""Resource storage: a repository interface and its one PostgreSQL implementation.

Writes are batched (one multi-row statement per table per Bundle) so that ingest makes no
per-resource round trips; reads return the stored JSON text so the API can serve it as is.
"""

from fhir_gateway.storage.postgres import PostgresRepository
from fhir_gateway.storage.repository import Current, Repository, Stored, VersionRow

repository: Repository = PostgresRepository()

__all__ = ["Current", "PostgresRepository", "Repository", "Stored", "VersionRow", "repository"]
