from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from federation.auth.models import SiteClient
from federation.identity.models import GoldenRecord, LinkEvent, MatchReview, MpiRecord, ReviewStatus
from federation.identity.services import IdentityError, link_event_revert, patient_link, review_reject
from federation.sites.directory import directory_publish
from federation.sites.health import health_of
from federation.sites.models import Department, Site
from federation.sites.sync_config import SiteSync
from federation.sync.client import SiteUnavailable
from federation.sync.models import DeadLetter, SyncRun


def _county_of(request) -> Site | None:
    """The county of a county's admin: they see their own site's rows only (None: no restriction)."""
    site = getattr(request.user, "site", None)
    return None if request.user.is_superuser or site is None or not site.is_county else site


def _publish_later(site: Site) -> None:
    transaction.on_commit(lambda: directory_publish(sites=[Site.objects.select_related("parent").get(pk=site.pk)]))


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "kind", "parent", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name", "name_en"]
    inlines = [DepartmentInline]
    actions = ["publish"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        _publish_later(form.instance)  # the site and its departments, as mCSD resources

    @admin.action(description=_("Publish to the FHIR directory"))
    def publish(self, request, queryset):
        count = directory_publish(sites=list(queryset.select_related("parent")))
        self.message_user(request, _("%(n)d directory resources written.") % {"n": count}, messages.SUCCESS)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "site", "specialty"]
    list_filter = ["site", "specialty"]
    search_fields = ["code", "name", "name_en"]


@admin.register(SiteSync)
class SiteSyncAdmin(admin.ModelAdmin):
    list_display = [
        "site", "base_url", "enabled", "health", "last_success_at", "lag", "open_dead_letters", "consecutive_failures",
        "next_attempt_at",
    ]  # fmt: skip
    list_filter = ["state", "enabled"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _publish_later(obj.site)  # its Endpoint

    @admin.display(description=_("health"), ordering="state")
    def health(self, obj):
        colour = {"healthy": "#1a7f37", "degraded": "#b35900", "down": "#c62828"}.get(obj.state, "#666")
        return format_html('<strong style="color:{}">{}</strong>', colour, obj.get_state_display())

    @admin.display(description=_("lag"))
    def lag(self, obj):
        seconds = health_of(obj)["lag_seconds"]
        return "-" if seconds is None else f"{seconds:.0f} s"

    @admin.display(description=_("dead letters"))
    def open_dead_letters(self, obj):
        return DeadLetter.objects.filter(site_code=obj.site.code, resolved=False).count()

    readonly_fields = [
        "state", "last_attempt_at", "last_success_at", "consecutive_failures", "next_attempt_at", "last_error",
        "recent_errors",
    ]  # fmt: skip
    actions = ["sync_now"]

    @admin.action(description=_("Sync the selected sites now"))
    def sync_now(self, request, queryset):
        from federation.tasks import site_sync

        for sync in queryset:
            site_sync.delay(sync.pk)
        self.message_user(request, _("Sync started."), messages.SUCCESS)


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["sync", "started_at", "finished_at", "ok", "pages", "fetched", "stored", "dead_lettered", "error"]
    list_filter = ["ok", "sync"]

    def has_add_permission(self, request):
        return False


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ["site_code", "resource_type", "source_id", "attempts", "resolved", "updated_at"]
    list_filter = ["resolved", "site_code", "resource_type"]
    readonly_fields = ["site_code", "resource_type", "source_id", "content", "error", "attempts", "resolved"]
    actions = ["retry"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        site = _county_of(request)
        return queryset if site is None else queryset.filter(site_code=site.code)

    @admin.action(description=_("Fetch again from the site and store if fixed"))
    def retry(self, request, queryset):
        from federation.sync.pull import dead_letter_retry

        fixed = 0
        for letter in queryset.filter(resolved=False):
            try:
                fixed += dead_letter_retry(letter=letter)
            except SiteUnavailable as error:
                self.message_user(request, str(error), messages.ERROR)
        self.message_user(request, _("%(n)d record(s) stored.") % {"n": fixed}, messages.INFO)


@admin.register(SiteClient)
class SiteClientAdmin(admin.ModelAdmin):
    list_display = ["site", "application", "scopes", "active", "created_at"]
    list_filter = ["active", "site"]


class MpiRecordInline(admin.TabularInline):
    model = MpiRecord
    fields = ["site_code", "patient_id", "method", "score"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(GoldenRecord)
class GoldenRecordAdmin(admin.ModelAdmin):
    list_display = ["uid", "active", "merged_into", "created_at"]
    list_filter = ["active"]
    search_fields = ["uid", "records__patient_id"]
    inlines = [MpiRecordInline]


@admin.register(MatchReview)
class MatchReviewAdmin(admin.ModelAdmin):
    """The review queue: probable matches a site admin links or rejects."""

    list_display = ["record", "candidate", "score", "status", "decided_by", "created_at"]
    list_filter = ["status", "record__site_code"]
    readonly_fields = ["record", "candidate", "score", "details", "status", "decided_by", "decided_at"]
    actions = ["link", "reject"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        site = _county_of(request)
        return queryset if site is None else queryset.filter(record__site_code=site.code)

    @admin.action(description=_("Same person: link"))
    def link(self, request, queryset):
        for review in queryset.filter(status=ReviewStatus.PENDING).select_related("record", "candidate"):
            try:
                patient_link(
                    patient_id=review.record.patient_id, golden=review.candidate, actor=request.user.get_username()
                )
            except IdentityError as error:
                self.message_user(request, str(error), messages.ERROR)

    @admin.action(description=_("Different people: reject"))
    def reject(self, request, queryset):
        for review in queryset.filter(status=ReviewStatus.PENDING):
            review_reject(review=review, actor=request.user.get_username())


@admin.register(LinkEvent)
class LinkEventAdmin(admin.ModelAdmin):
    list_display = ["action", "record", "from_golden", "to_golden", "actor", "reason", "reverted_by", "created_at"]
    list_filter = ["action"]
    readonly_fields = [
        "action", "record", "from_golden", "to_golden", "moved_records", "actor", "reason", "reverted_by",
    ]  # fmt: skip
    actions = ["revert"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revert the selected decisions"))
    def revert(self, request, queryset):
        for event in queryset:
            try:
                link_event_revert(event=event, actor=request.user.get_username())
            except IdentityError as error:
                self.message_user(request, str(error), messages.ERROR)
