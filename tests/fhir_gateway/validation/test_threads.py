"""The validator is built once per process even when a worker's threads all write at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# In a fresh interpreter: nothing built yet, eight threads validate a Bundle and a Patient at the same moment.
SCRIPT = """
import threading
from fhir_gateway.validation import envelope_check, resource_check
bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
    {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "gender": "female"},
     "request": {"method": "POST", "url": "Patient"}}]}
start = threading.Barrier(8)
failures = []
def write():
    start.wait()
    try:
        envelope_check(bundle)
        resource_check({"resourceType": "Patient", "birthDate": "1970-01-01"})
    except Exception as error:
        failures.append(repr(error))
threads = [threading.Thread(target=write) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(failures or "ok")
"""


def test_threads_validating_at_once_in_a_fresh_process_all_get_a_complete_validator():
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.stdout.strip() == "ok", done.stdout + done.stderr
