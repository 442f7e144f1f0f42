"""Spotler's property catalogue and the versions of the field mapping."""

from django.conf import settings
from django.db import models


class SpotlerPropertyQuerySet(models.QuerySet):
    def present(self) -> "SpotlerPropertyQuerySet":
        return self.filter(gone_at__isnull=True)


class SpotlerProperty(models.Model):
    """One contact property as the last catalogue refresh found it in the Spotler account."""

    name = models.CharField(max_length=200, unique=True)
    description = models.CharField(max_length=500, blank=True)
    type = models.CharField(max_length=20)
    # For set-type properties (permissions): [{"bit": 1, "description": "Newsletter", "rank": 1}]
    entries = models.JSONField(default=list, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    # Set when a refresh no longer finds the property; cleared if it comes back.
    gone_at = models.DateTimeField(null=True, blank=True)

    objects = SpotlerPropertyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "Spotler properties"

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"

    @property
    def bits(self) -> dict[int, str]:
        return {int(e["bit"]): e.get("description", "") for e in self.entries}


class CatalogueRefresh(models.Model):
    """One fetch of `contact/properties/list`, compared with the one before."""

    fetched_at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField(default=True)
    error = models.TextField(blank=True)
    added = models.JSONField(default=list, blank=True)
    removed = models.JSONField(default=list, blank=True)
    # [{"name": ..., "was": "string", "now": "int"}] and changed permission entries
    changed = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-fetched_at"]
        get_latest_by = "fetched_at"

    def __str__(self) -> str:
        return f"catalogue refresh {self.fetched_at:%Y-%m-%d %H:%M}"


class MappingVersion(models.Model):
    """A saved mapping. Versions are never edited; restoring one saves a new version."""

    number = models.PositiveIntegerField(unique=True)
    # The rows as the editor saved them (see mapping.rows for the shape).
    rows = models.JSONField(default=list)
    # The e-mail is the linked system's login: changes to it from Spotler are reported only.
    email_owned_by_linked_system = models.BooleanField(default=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=300, blank=True)
    restored_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Readable lines: "added first_name → firstName", "dob → birthday: conversion auto → ..."
    diff = models.JSONField(default=list, blank=True)
    # "Push the affected contacts now" is taken once per version (mapping/push_offer.py): set
    # by a conditional update, so a double click or a second tab never starts a second run.
    # Kept apart from the run, which the nightly pruning may delete one day.
    push_started_at = models.DateTimeField(null=True, blank=True)
    push_run = models.ForeignKey(
        "sync.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-number"]
        get_latest_by = "number"

    def __str__(self) -> str:
        return f"mapping v{self.number}"
