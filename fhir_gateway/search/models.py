"""The search index: one table per parameter type, rows replaced on every write of a resource.

Rows exist only for the current, non-deleted version of each resource, so no search can find a
deleted resource or an old version. ``resource_id`` is ``fhir_gateway.Resource.pk`` (no foreign key:
the index is written in bulk with COPY and dropped by resource). Values are written and read with
raw SQL (``indexer`` and ``query``); the models give the tables their migrations.
"""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Func
from django.utils.translation import gettext_lazy as _


class SearchResource(models.Model):
    """One searchable resource: its type, id, owner and last update (a slim copy of the resource row)."""

    resource_id = models.BigIntegerField(primary_key=True)
    rtype = models.TextField()
    fhir_id = models.TextField()
    owner = models.TextField(default="")
    last_updated = models.DateTimeField()

    class Meta:
        db_table = "fhir_search_res"
        verbose_name = _("searchable resource")
        constraints = [models.UniqueConstraint(fields=["rtype", "fhir_id"], name="fhir_search_res_type_id")]
        indexes = [
            models.Index(fields=["rtype", "last_updated"], name="fhir_search_res_type_lu"),
            models.Index(fields=["rtype", "owner", "resource_id"], name="fhir_search_res_type_owner"),
            # Covering: a candidate found in an index table is checked and named without visiting the table.
            models.Index(fields=["rtype", "resource_id"], include=["fhir_id", "owner"], name="fhir_search_res_type_pk"),
        ]

    def __str__(self) -> str:
        return f"{self.rtype}/{self.fhir_id}"


class IndexRowBase(models.Model):
    pk = models.CompositePrimaryKey("resource_id", "param", "seq")
    resource_id = models.BigIntegerField()
    param = models.TextField()
    seq = models.IntegerField()
    rtype = models.TextField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.rtype} {self.resource_id} {self.param}"


class TokenIndex(IndexRowBase):
    """Token values: system, code and the normalized display text (``:text``)."""

    system = models.TextField(null=True)
    code = models.TextField(null=True)
    text = models.TextField(null=True)

    class Meta:
        db_table = "fhir_search_token"
        indexes = [models.Index(fields=["param", "code", "system"], name="fhir_search_token_code")]


class StringIndex(IndexRowBase):
    """String values: normalized for prefix matching, and as written (``:exact``; null for pinyin forms)."""

    norm = models.TextField()
    exact = models.TextField(null=True)

    class Meta:
        db_table = "fhir_search_string"
        indexes = [
            models.Index(fields=["param", "norm"], name="fhir_search_string_norm", opclasses=["text_pattern_ops"] * 2)
        ]


class DateIndex(IndexRowBase):
    """Date values as half-open ranges ``[lo, hi)``."""

    lo = models.DateTimeField()
    hi = models.DateTimeField()

    class Meta:
        db_table = "fhir_search_date"
        indexes = [
            models.Index(fields=["param", "lo"], name="fhir_search_date_lo"),
            models.Index(fields=["param", "hi"], name="fhir_search_date_hi"),
        ]


class NumberIndex(IndexRowBase):
    """Number values (and Location positions)."""

    value = models.FloatField()

    class Meta:
        db_table = "fhir_search_number"
        indexes = [models.Index(fields=["param", "value"], name="fhir_search_number_value")]


class QuantityIndex(IndexRowBase):
    """Quantity values with their unit system, code and text; UCUM ones also in canonical units."""

    value = models.FloatField()
    system = models.TextField(null=True)
    code = models.TextField(null=True)
    unit = models.TextField(null=True)
    canon_value = models.FloatField(null=True)
    canon_unit = models.TextField(null=True)

    class Meta:
        db_table = "fhir_search_quantity"
        indexes = [
            models.Index(fields=["param", "value"], name="fhir_search_quantity_value"),
            models.Index(
                fields=["param", "canon_unit", "canon_value"],
                name="fhir_search_quantity_canon",
                condition=models.Q(canon_unit__isnull=False),
            ),
        ]


class ReferenceIndex(IndexRowBase):
    """References: the target's type and id, or the URL of an absolute or canonical reference."""

    target_type = models.TextField(null=True)
    target_id = models.TextField(null=True)
    url = models.TextField(null=True)

    class Meta:
        db_table = "fhir_search_reference"
        indexes = [
            # Covering: a reverse chain (``_has``) or an include finds the referring rows of one type
            # without visiting the table.
            models.Index(
                fields=["param", "target_id", "target_type", "rtype"],
                include=["resource_id"],
                name="fhir_search_ref_target",
            ),
            models.Index(fields=["target_id", "target_type"], name="fhir_search_ref_any"),
            models.Index(fields=["param", "url"], name="fhir_search_ref_url", condition=models.Q(url__isnull=False)),
        ]


class UriIndex(IndexRowBase):
    """URI values."""

    value = models.TextField()

    class Meta:
        db_table = "fhir_search_uri"
        indexes = [
            models.Index(fields=["param", "value"], name="fhir_search_uri_value", opclasses=["text_pattern_ops"] * 2)
        ]


class CompositeIndex(IndexRowBase):
    """Composite pairs: a token and a second value (quantity, token, date, string or reference)."""

    c1_system = models.TextField(null=True)
    c1_code = models.TextField(null=True)
    c2_system = models.TextField(null=True)
    c2_code = models.TextField(null=True)
    c2_num = models.FloatField(null=True)
    c2_lo = models.DateTimeField(null=True)
    c2_hi = models.DateTimeField(null=True)
    c2_text = models.TextField(null=True)
    c2_canon_num = models.FloatField(null=True)
    c2_canon_unit = models.TextField(null=True)

    class Meta:
        db_table = "fhir_search_composite"
        indexes = [models.Index(fields=["param", "c1_code"], name="fhir_search_composite_c1")]


class TextIndex(IndexRowBase):
    """Words of a resource for ``_content`` (all its text) and ``_text`` (its narrative).

    ``terms`` are the lexemes ``values.content`` makes (words, Chinese characters and character pairs,
    pinyin); a GIN index on ``array_to_tsvector(terms)`` per parameter finds them.
    """

    terms = ArrayField(models.TextField())

    class Meta:
        db_table = "fhir_search_text"
        indexes = [
            GinIndex(
                Func("terms", function="array_to_tsvector"),
                name=f"fhir_search_text{param}",
                condition=models.Q(param=param),
            )
            for param in ("_content", "_text")
        ]


class ReindexState(models.Model):
    """How far a ``fhir_reindex`` run got, so that an interrupted one resumes."""

    name = models.CharField(max_length=100, unique=True)
    last_pk = models.BigIntegerField(default=0)
    done = models.BooleanField(default=False)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "fhir_search_reindex_state"
        verbose_name = _("search reindex state")

    def __str__(self) -> str:
        return f"{self.name}: {self.last_pk}"


class SearchCount(models.Model):
    """Signed changes to the number of searchable resources per type and owner; their sum is the count.

    Statement triggers on ``fhir_search_res`` (migration 0006) append one row per (type, owner) a write
    statement changes, in the writer's transaction, so a count read from here is exact under the same
    snapshot as the index. Appending instead of updating one counter row keeps concurrent writers from
    waiting on each other; ``counts.total`` folds the rows of a type when they pile up.
    """

    rtype = models.TextField()
    owner = models.TextField()
    n = models.BigIntegerField()

    class Meta:
        db_table = "fhir_search_count"
        verbose_name = _("searchable resource count")
        indexes = [models.Index(fields=["rtype", "owner"], name="fhir_search_count_type")]

    def __str__(self) -> str:
        return f"{self.rtype} {self.owner}: {self.n:+d}"
