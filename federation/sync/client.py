"""Talking to a site's FHIR endpoint: quick retries with the federation's one ``RetryPolicy`` (backoff, jitter)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from federation.outbox.policy import RetryPolicy

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


__all__ = ["RETRYABLE_STATUS", "Fetched", "RetryPolicy", "SiteUnavailable", "json_fetch", "site_client"]


class SiteUnavailable(Exception):
    """The site did not answer usefully after every retry."""


@dataclass
class Fetched:
    body: dict
    attempts: int


def site_client(*, token: str = "", timeout: float = 10.0) -> httpx.Client:
    headers = {"Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(headers=headers, timeout=timeout)


def json_fetch(client: httpx.Client, url: str, *, policy: RetryPolicy) -> Fetched:
    """GET ``url`` as JSON; transport errors, timeouts and 5xx/429 are retried, other 4xx are not."""
    last = ""
    for attempt in range(policy.retries + 1):
        if attempt:
            time.sleep(policy.wait(attempt))
        try:
            response = client.get(url)
        except httpx.HTTPError as error:
            last = f"{type(error).__name__}: {error}"
            continue
        if response.status_code in RETRYABLE_STATUS:
            last = f"HTTP {response.status_code} from {url}"
            continue
        if response.status_code >= 400:
            raise SiteUnavailable(f"HTTP {response.status_code} from {url}: {response.text[:300]}")
        try:
            return Fetched(response.json(), attempt + 1)
        except ValueError:
            last = f"invalid JSON from {url}"
    raise SiteUnavailable(f"{last} (after {policy.retries + 1} attempts)")
