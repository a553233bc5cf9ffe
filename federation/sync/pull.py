"""The pull engine: an incremental sync of one site from its FHIR endpoint.

For each resource type: search ``_lastUpdated=ge<cursor>`` sorted by ``_lastUpdated``, follow ``next``
links, and store page by page; the cursor moves in the same database transaction as the page, so a
crash or an outage resumes where it stopped (http://hl7.org/fhir/R4/search.html#lastUpdated).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.db import connection, transaction
from django.utils import timezone

from federation.sites.health import health_failure, health_note, health_success
from federation.sites.sync_config import SiteSync
from federation.sync.client import RetryPolicy, SiteUnavailable, json_fetch, site_client
from federation.sync.deletions import (
    capabilities_fetch,
    deletions_from_history,
    reconcile,
    reconcile_due,
    site_offers_history,
)
from federation.sync.intake import records_store
from federation.sync.models import DeadLetter, SyncCursor, SyncRun
from fhir_gateway.public import instant


def _first_url(sync: SiteSync, resource_type: str, since: str) -> str:
    query = {"_sort": "_lastUpdated", "_count": str(sync.page_size)}
    if since:
        query["_lastUpdated"] = f"ge{since}"
    return f"{sync.base_url.rstrip('/')}/{resource_type}?{urlencode(query)}"


def _next_url(bundle: dict, base_url: str) -> str | None:
    for link in bundle.get("link") or []:
        if link.get("relation") == "next" and isinstance(link.get("url"), str):
            # Follow only links back to the site itself, never elsewhere.
            return link["url"] if link["url"].startswith(base_url.rstrip("/") + "/") else None
    return None


def _newest(resources: list[dict]) -> str:
    stamps = []
    for resource in resources:
        value = (resource.get("meta") or {}).get("lastUpdated")
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            stamps.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return instant(max(stamps)) if stamps else ""


def _page_resources(bundle: dict) -> list[dict]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise SiteUnavailable("the site answered a search with something other than a Bundle")
    return [
        e["resource"] for e in bundle.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]


def _lock_key(sync_id: int, resource_type: str) -> int:
    digest = hashlib.blake2b(f"federation-sync:{sync_id}:{resource_type}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _try_lock(key: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        return cursor.fetchone()[0]


def _locks_take(sync_id: int, wanted: list[str]) -> list[tuple[str, int]]:
    """The types of ``wanted`` no other run holds, locked for this one.

    Taken all at once under the site's own lock: two runs asking for the same types at the same moment must not
    split them between themselves (one runs, the other finds nothing to do).
    """
    site_key = _lock_key(sync_id, "*")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [site_key])
        try:
            return [(t, key) for t, key in ((t, _lock_key(sync_id, t)) for t in wanted) if _try_lock(key)]
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [site_key])


def _unlock(key: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def site_sync_run(
    *, sync_id: int, resource_types: list[str] | None = None, policy: RetryPolicy | None = None
) -> SyncRun | None:
    """Pull everything new from one site (or only ``resource_types`` of it, so that workers share a site).

    Each resource type is synced by one run at a time; ``None`` when other runs hold every type asked for.
    """
    sync = SiteSync.objects.select_related("site").get(pk=sync_id)
    wanted = [t for t in sync.types if resource_types is None or t in resource_types]
    held = _locks_take(sync_id, wanted)
    if not held:
        return None
    try:
        return _run(sync, [t for t, _key in held], policy or RetryPolicy.from_settings())
    finally:
        for _t, key in held:
            _unlock(key)


def _run(sync: SiteSync, resource_types: list[str], policy: RetryPolicy) -> SyncRun:
    site = sync.site.code
    sync.last_attempt_at = timezone.now()
    sync.save(update_fields=["last_attempt_at"])
    run = SyncRun.objects.create(sync=sync)
    retried = False
    notes: list[str] = []
    reconciling = reconcile_due(sync)
    try:
        with (
            site_client(token=sync.bearer_token, timeout=sync.timeout_seconds) as client,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sync-{site}") as prefetch,
        ):
            for resource_type in resource_types:
                cursor, _ = SyncCursor.objects.get_or_create(sync=sync, resource_type=resource_type)
                # The next page is fetched while this one is stored; a failed fetch surfaces after the store.
                pending = prefetch.submit(
                    json_fetch, client, _first_url(sync, resource_type, cursor.since), policy=policy
                )
                while pending is not None:
                    fetched = pending.result()
                    retried = retried or fetched.attempts > 1
                    resources = _page_resources(fetched.body)
                    url = _next_url(fetched.body, sync.base_url)
                    pending = prefetch.submit(json_fetch, client, url, policy=policy) if url else None
                    with transaction.atomic():
                        result = records_store(site=site, base_url=sync.base_url, resources=resources)
                        newest = _newest(resources)
                        if newest and newest != cursor.since:
                            cursor.since = newest
                            cursor.save(update_fields=["since", "updated_at"])
                        run.pages += 1
                        run.fetched += len(resources)
                        run.stored += result.stored
                        run.unchanged += result.unchanged
                        run.dead_lettered += result.dead_lettered
                        run.save(update_fields=["pages", "fetched", "stored", "unchanged", "dead_lettered"])
            # Deletions, once every type's changes are in: from the site's history when it offers one, else by
            # reconciling ids now and then.
            capabilities = capabilities_fetch(client, sync, policy)
            for resource_type in resource_types:
                if site_offers_history(capabilities, resource_type):
                    cursor = SyncCursor.objects.get(sync=sync, resource_type=resource_type)
                    run.deleted += deletions_from_history(client=client, sync=sync, cursor=cursor, policy=policy)
                elif reconciling:
                    outcome = reconcile(client=client, sync=sync, resource_type=resource_type, policy=policy)
                    run.deleted += outcome.deleted
                    if outcome.refused:
                        notes.append(outcome.refused)
                run.save(update_fields=["deleted"])
            if reconciling or sync.last_reconciled_at is None:  # the first sync starts the clock
                sync.last_reconciled_at = timezone.now()
                sync.save(update_fields=["last_reconciled_at"])
    except SiteUnavailable as error:
        run.error = str(error)
        health_failure(sync=sync, error=str(error))
    else:
        run.ok = True
        open_letters = DeadLetter.objects.filter(site_code=site, resolved=False).exists()
        health_success(sync=sync, degraded=retried or open_letters or bool(notes))
        if notes:
            health_note(sync=sync, message="; ".join(notes))
    run.finished_at = timezone.now()
    run.save(update_fields=["ok", "error", "finished_at"])
    return run


def dead_letter_retry(*, letter: DeadLetter) -> bool:
    """Fetch the record again from its site and store it if the site has fixed it; True when stored."""
    sync = SiteSync.objects.select_related("site").get(site__code=letter.site_code)
    url = f"{sync.base_url.rstrip('/')}/{letter.resource_type}/{letter.source_id}"
    with site_client(token=sync.bearer_token, timeout=sync.timeout_seconds) as client:
        fetched = json_fetch(client, url, policy=RetryPolicy(retries=0))
    with transaction.atomic():
        result = records_store(site=letter.site_code, base_url=sync.base_url, resources=[fetched.body])
    letter.refresh_from_db()
    return result.stored == 1 or result.unchanged == 1
