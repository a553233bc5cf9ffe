from django.contrib import admin

from federation.sites.models import Department, Site


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "kind", "parent", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name", "name_en"]
    inlines = [DepartmentInline]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "site", "specialty"]
    list_filter = ["site", "specialty"]
    search_fields = ["code", "name", "name_en"]
