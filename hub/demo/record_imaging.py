"""A synthetic head CT for the demo's stroke case: 20 axial slices of 256 x 256, written as DICOM with pydicom.

A phantom, not a patient: skull, brain, ventricles and a left middle cerebral artery territory that is a little
darker (early ischaemia) with a bright dot where the clot sits (the hyperdense MCA sign). Stored values are
Hounsfield units + 1024 (unsigned 16-bit, rescale intercept -1024), uncompressed (explicit VR little endian), the
form the hub's viewer reads.
"""

from __future__ import annotations

import io
import math
import sys
from array import array
from datetime import datetime
from functools import lru_cache

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

SIZE = 256
SLICES = 20
SLICE_MM = 5.0
PIXEL_MM = 0.9
UID_PREFIX = "1.2.826.0.1.3680043.10.1274."  # generate_uid's entropy makes them stable for a given seed


@lru_cache(maxsize=SLICES)
def slice_pixels(index: int) -> bytes:
    """One slice's stored values (HU + 1024), row by row; the same phantom for every demo patient (cached)."""
    z = index / max(1, SLICES - 1)
    scale = 0.55 + 0.4 * math.sin(math.pi * (0.15 + 0.75 * z))  # the head is widest in the middle
    rx2, ry2 = (0.78 * scale) ** 2, (0.92 * scale) ** 2
    ventricles = 0.35 < z < 0.7
    ischaemia = 0.3 < z < 0.75
    clot = 0.25 < z < 0.4
    half = SIZE / 2
    values = array("H")
    for row in range(SIZE):
        y = (row - half) / half
        for col in range(SIZE):
            x = (col - half) / half
            r = x * x / rx2 + y * y / ry2
            if r > 1.0:
                hu = -1000  # air
            elif r > 0.84:
                hu = 900  # skull
            elif r > 0.80:
                hu = 20  # CSF rim
            else:
                hu = 34 if abs(x) > 0.1 * scale else 38  # brain, a little denser at the midline
                if (
                    ischaemia
                    and x > 0.15 * scale
                    and ((x - 0.45 * scale) / (0.3 * scale)) ** 2 + (y / (0.45 * scale)) ** 2 < 1
                ):
                    hu = 24  # left MCA territory (image right = patient left): early ischaemia
                if clot and ((x - 0.2 * scale) / 0.03) ** 2 + ((y + 0.05) / 0.02) ** 2 < 1:
                    hu = 75  # the hyperdense MCA sign
                if (
                    ventricles
                    and min(((x - 0.12 * scale) / (0.07 * scale)) ** 2, ((x + 0.12 * scale) / (0.07 * scale)) ** 2)
                    + ((y + 0.05) / (0.28 * scale)) ** 2
                    < 1
                ):
                    hu = 6  # lateral ventricles
            values.append(hu + 1024)
    if sys.byteorder != "little":  # DICOM explicit VR little endian
        values.byteswap()
    return values.tobytes()


def head_ct(
    *, patient_name: str, patient_id: str, seed: str, when: datetime
) -> tuple[list[bytes], str, str, list[str]]:
    """(DICOM files, study UID, series UID, instance UIDs) of a 20-slice head CT."""
    study_uid = generate_uid(prefix=UID_PREFIX, entropy_srcs=[seed, "study"])
    series_uid = generate_uid(prefix=UID_PREFIX, entropy_srcs=[seed, "series"])
    files, uids = [], []
    for index in range(SLICES):
        uid = generate_uid(prefix=UID_PREFIX, entropy_srcs=[seed, "instance", str(index)])
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, uid
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.Modality = "CT"
        ds.PatientName, ds.PatientID = patient_name, patient_id
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = when.strftime("%Y%m%d")
        ds.StudyTime = ds.SeriesTime = when.strftime("%H%M%S")
        ds.StudyDescription = "HEAD CT WO CONTRAST"
        ds.SeriesDescription = "Axial 5mm"
        ds.BodyPartExamined = "HEAD"
        ds.SeriesNumber, ds.InstanceNumber = 1, index + 1
        ds.ImagePositionPatient = [-(SIZE * PIXEL_MM) / 2, -(SIZE * PIXEL_MM) / 2, index * SLICE_MM]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.SliceThickness = SLICE_MM
        ds.SliceLocation = index * SLICE_MM
        ds.PixelSpacing = [PIXEL_MM, PIXEL_MM]
        ds.Rows = ds.Columns = SIZE
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
        ds.WindowCenter, ds.WindowWidth = 40, 80
        ds.PixelData = slice_pixels(index)
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        files.append(buffer.getvalue())
        uids.append(uid)
    return files, study_uid, series_uid, uids
