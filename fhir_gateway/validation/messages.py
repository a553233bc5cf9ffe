"""The validator's messages (translated where a translation exists) and the OperationOutcome issues it makes.

Each issue has ``severity``, ``code`` (http://hl7.org/fhir/R4/valueset-issue-type.html), ``details.text``
and the same text as ``diagnostics`` (in the request's language), ``expression`` (the FHIRPath location)
and the R4 ``operationoutcome-message-id`` extension naming the rule: the constraint key (``pat-1``) or
one of the message ids below.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

MESSAGE_ID = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"

MESSAGES = {
    "unknown-element": _("Unknown element '%(name)s'"),
    "not-array": _("'%(name)s' must be a JSON array"),
    "not-single": _("'%(name)s' must not be a JSON array"),
    "empty-array": _("An array must not be empty"),
    "null": _("null is not allowed here"),
    "not-object": _("'%(name)s' must be a JSON object"),
    "too-many": _("'%(name)s' has %(count)s values, at most %(max)s are allowed"),
    "prohibited": _("'%(name)s' is not allowed here"),
    "missing": _("'%(name)s' is required"),
    "choice-many": _("Only one type of '%(name)s[x]' may be given"),
    "primitive": _("%(value)s is not a valid %(type)s"),
    "string-too-long": _("A string may hold at most 1 MB"),
    "markdown-html": _("markdown must not contain HTML (found %(tag)s)"),
    "shadow-mismatch": _("'_%(name)s' must line up with '%(name)s'"),
    "binding-required": _("%(code)s is not in the value set %(value_set)s, which is required here"),
    "binding-no-code": _("No code is given; a code from the value set %(value_set)s is required here"),
    "binding-soft": _("%(code)s is not in the value set %(value_set)s (%(strength)s binding)"),
    "binding-not-checked": _("The value set %(value_set)s bound here is not checked: %(reason)s"),
    "invariant": _("Constraint %(key)s failed: %(human)s"),
    "invariant-not-checked": _("Constraint %(key)s (%(human)s) is not checked: %(reason)s"),
    "invariant-error": _("Constraint %(key)s could not be evaluated: %(error)s"),
    "reference-target": _("A reference to a %(type)s is not allowed here (allowed: %(allowed)s)"),
    "unknown-type": _("Unknown resource type %(type)r"),
    "no-resource-type": _("The resource has no resourceType"),
    "type-mismatch": _("resourceType %(type)r does not match the URL's type %(expected)r"),
    "not-a-resource": _("The body must be a JSON object holding a FHIR resource"),
    "bad-id": _("The resource id is not a valid FHIR id"),
    "document-reference": _("The reference %(reference)s does not resolve to an entry of the document"),
    "narrative-doctype": _("The narrative may not contain a DOCTYPE, entity declarations or processing instructions"),
    "narrative-xml": _("The narrative is not well-formed XHTML: %(error)s"),
    "narrative-root": _("The narrative must be a <div> in the XHTML namespace (found %(element)s)"),
    "narrative-element": _("The element <%(element)s> is not allowed in a narrative"),
    "narrative-attribute": _("The attribute %(attribute)s is not allowed on <%(element)s> in a narrative"),
    "narrative-url": _("The link %(url)s is not allowed in a narrative (http, https, mailto, tel, ftp or relative)"),
    "narrative-image": _("The image %(url)s is not allowed in a narrative (only #id or data:image/...)"),
    "narrative-style": _("A style on <%(element)s> may not load anything (url(), @import, expression())"),
    "narrative-empty": _("The narrative must have some non-whitespace content"),
    "narrative-depth": _("The narrative is nested too deeply"),
    "profile-unknown": _("The hub stores no StructureDefinition with a snapshot for %(profile)s"),
    "profile-fixed": _("The value must be exactly %(value)s (fixed by the profile)"),
    "profile-pattern": _("The value must match %(value)s (pattern of the profile)"),
    "profile-not-checked": _("%(what)s of the profile %(profile)s is not checked"),
    "mode-delete": _("The resource can be deleted"),
    "all-ok": _("All OK"),
}

# The R4 constraints' own text for the frequent ones, so that a translation can be given; the others are
# reported in the specification's English.
HUMAN = {
    "ele-1": _("All FHIR elements must have a @value or children"),
    "ext-1": _("Must have either extensions or value[x], not both"),
    "dom-2": _("If the resource is contained in another resource, it SHALL NOT contain nested Resources"),
    "dom-3": _(
        "If the resource is contained in another resource, it SHALL be referred to from elsewhere in the "
        "resource or SHALL refer to the containing resource"
    ),
    "dom-4": _(
        "If a resource is contained in another resource, it SHALL NOT have a meta.versionId or a meta.lastUpdated"
    ),
    "dom-5": _("If a resource is contained in another resource, it SHALL NOT have a security label"),
    "dom-6": _("A resource should have narrative for robust management"),
    "ref-1": _("SHALL have a contained resource if a local reference is provided"),
    "per-1": _("If present, start SHALL have a lower value than end"),
    "pat-1": _("SHALL at least contain a contact's details or a reference to an organization"),
    "obs-6": _("dataAbsentReason SHALL only be present if Observation.value[x] is not present"),
    "obs-7": _(
        "If Observation.code is the same as an Observation.component.code then the value element associated "
        "with the code SHALL NOT be present"
    ),
    "org-1": _("The organization SHALL at least have a name or an identifier, and possibly more than one"),
    "qty-3": _("If a code for the unit is present, the system SHALL also be present"),
    "cpt-2": _("A system is required if a value is provided."),
    "att-1": _("If the Attachment has data, it SHALL have a contentType"),
    "rng-2": _("If present, low SHALL have a lower value than high"),
    "bdl-1": _("total only when a search or history"),
    "bdl-2": _("entry.search only when a search"),
    "bdl-3": _("entry.request mandatory for batch/transaction/history, otherwise prohibited"),
    "bdl-4": _("entry.response mandatory for batch-response/transaction-response/history, otherwise prohibited"),
    "bdl-5": _("must be a resource unless there's a request or response"),
    "bdl-7": _(
        "FullUrl must be unique in a bundle, or else entries with the same fullUrl must have different "
        "meta.versionId (except in history bundles)"
    ),
    "bdl-8": _("fullUrl cannot be a version specific reference"),
    "bdl-9": _("A document must have an identifier with a system and a value"),
    "bdl-10": _("A document must have a date"),
    "bdl-11": _("A document must have a Composition as the first resource"),
    "bdl-12": _("A message must have a MessageHeader as the first resource"),
    "con-3": _(
        "Condition.clinicalStatus SHALL be present if verificationStatus is not entered-in-error and category "
        "is problem-list-item"
    ),
    "con-4": _("If condition is abated, then clinicalStatus must be either inactive, resolved, or remission"),
    "con-5": _("Condition.clinicalStatus SHALL NOT be present if verification Status is entered-in-error"),
    "ait-1": _("AllergyIntolerance.clinicalStatus SHALL be present if verificationStatus is not entered-in-error."),
    "ait-2": _("AllergyIntolerance.clinicalStatus SHALL NOT be present if verification Status is entered-in-error"),
}


def message(message_id: str, **params) -> str:
    return str(MESSAGES[message_id]) % params if params else str(MESSAGES[message_id])


def human(key: str, text: str) -> str:
    translated = HUMAN.get(key)
    return str(translated) if translated is not None else text


def issue(severity: str, code: str, text: str, expression: str | None, message_id: str) -> dict:
    built = {
        "extension": [{"url": MESSAGE_ID, "valueString": message_id}],
        "severity": severity,
        "code": code,
        "details": {"text": text},
        "diagnostics": text,
    }
    if expression:
        built["expression"] = [expression]
    return built
