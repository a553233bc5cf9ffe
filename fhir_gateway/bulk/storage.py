"""Where export files live: the ``fhir_exports`` storage when the project defines one (e.g. object storage
shared by every server), else a folder (``FHIR_EXPORT_DIR``) that every server process and worker of the
hub must share (the deploy files mount one volume)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, InvalidStorageError, Storage, storages


def export_storage() -> Storage:
    try:
        return storages["fhir_exports"]
    except InvalidStorageError:
        folder = getattr(settings, "FHIR_EXPORT_DIR", None) or Path(settings.BASE_DIR) / "var" / "exports"
        return FileSystemStorage(location=str(folder))


def file_open_for_write(name: str):
    """A binary file to write ``name`` into, stored when closed."""
    storage = export_storage()
    if hasattr(storage, "path"):
        try:
            path = Path(storage.path(name))
        except NotImplementedError:
            path = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            return open(path, "wb")  # noqa: SIM115 - the caller closes it
    return _Spooled(storage, name)


class _Spooled:
    """For storages without local paths: spooled to a temporary file, saved on close."""

    def __init__(self, storage: Storage, name: str):
        import tempfile

        self.storage, self.name = storage, name
        self.temp = tempfile.TemporaryFile()

    def write(self, data: bytes) -> None:
        self.temp.write(data)

    def close(self) -> None:
        from django.core.files import File

        self.temp.seek(0)
        self.storage.save(self.name, File(self.temp))
        self.temp.close()
