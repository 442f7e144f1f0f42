"""Our temporary lists in Spotler (spotler-api.md §10), and the one row that serialises the
budget check (lists/budget.py)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

# Ids we choose for our lists start with this, so the lists page can tell a list of ours that
# the ledger lost from another system's.
LIST_ID_PREFIX = "spotlersync-"


class TempListState(models.TextChoices):
    DRAFT = "draft", "Waiting to send"
    # Contacts of the selection not yet in Spotler are pushed before the list names them.
    PUSHING = "pushing", "Pushing contacts to Spotler first"
    SENDING = "sending", "Sending"
    COMPLETE = "complete", "Complete"
    FAILED = "failed", "Failed"
    DELETING = "deleting", "Deleting"
    DELETE_PENDING_IN_USE = "delete_pending_in_use", "Delete pending: in use"
    DELETED = "deleted", "Deleted"


# States of a list that still exists in Spotler (and so uses a slot of the budget).
IN_SPOTLER = (
    TempListState.DRAFT,
    TempListState.PUSHING,
    TempListState.SENDING,
    TempListState.COMPLETE,
    TempListState.FAILED,
    TempListState.DELETING,
    TempListState.DELETE_PENDING_IN_USE,
)
# States the queue moves on by itself (the list's page polls while in one).
MOVING = (
    TempListState.DRAFT,
    TempListState.PUSHING,
    TempListState.SENDING,
    TempListState.DELETING,
)
DELETABLE = (
    TempListState.DRAFT,
    TempListState.COMPLETE,
    TempListState.FAILED,
    TempListState.DELETE_PENDING_IN_USE,
)


class TempListQuerySet(models.QuerySet):
    def in_spotler(self) -> "TempListQuerySet":
        return self.filter(state__in=IN_SPOTLER)

    def expired(self, now) -> "TempListQuerySet":
        return self.filter(
            state__in=(TempListState.COMPLETE, TempListState.FAILED), expires_at__lte=now
        )


class TempList(models.Model):
    """A temporary list we made in Spotler: its selection, how far sending got, its end."""

    name = models.CharField(max_length=200)
    spotler_id = models.CharField(max_length=100, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_via = models.CharField(max_length=20, default="dashboard")  # or "api"
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=30, choices=TempListState.choices, default=TempListState.DRAFT
    )
    # The selection, as external ids, fixed when the list was made; `checkpoint` of them are
    # in Spotler (sending resumes there after a failure).
    contact_ids = models.JSONField(default=list, blank=True)
    checkpoint = models.PositiveIntegerField(default=0)
    # Contacts of the selection Spotler did not have yet: `to_push` of them still wait to be
    # pushed (the worker counts them down), `pushed_first` were pushed before the list named
    # them. Those whose push Spotler refused for good are left out ("push_failed").
    to_push = models.PositiveIntegerField(default=0)
    pushed_first = models.PositiveIntegerField(default=0)
    # Contacts of the selection left out, per reason ({"inactive": 3, ...}), and ids the
    # linked system named that the ledger does not know.
    left_out = models.JSONField(default=dict, blank=True)
    unknown_ids = models.JSONField(default=list, blank=True)
    filters = models.JSONField(default=dict, blank=True)
    # The external ids the list was named by (an uploaded file, the API), in their order; empty
    # for a list selected by filters. A refresh selects from these (or the filters) again.
    named_ids = models.JSONField(default=list, blank=True)
    # A refresh that must drop contacts makes a new list that replaces this one.
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaced_by"
    )
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # Touched by the worker while it pushes or sends: a list whose heartbeat stopped was left
    # by a worker that died, and is picked up again (lists/send.py).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Spotler's own words for the last failure.")
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    next_delete_at = models.DateTimeField(null=True, blank=True)
    delete_attempts = models.PositiveIntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = TempListQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Spotler refuses a second list of the same name; a deleted list frees its name.
            models.UniqueConstraint(
                fields=["name"],
                condition=~models.Q(state="deleted"),
                name="templist_name_unique_while_kept",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def total(self) -> int:
        return len(self.contact_ids)

    @property
    def sent(self) -> int:
        return self.checkpoint

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.checkpoint * 100 // self.total

    @property
    def left_out_total(self) -> int:
        return sum(self.left_out.values())

    @property
    def push_failed(self) -> int:
        """Contacts left out because Spotler refused their push."""
        return self.left_out.get("push_failed", 0)

    @property
    def can_delete(self) -> bool:
        return self.state in DELETABLE

    @property
    def is_moving(self) -> bool:
        """Being sent or deleted by the queue: its page follows it."""
        return self.state in MOVING

    @property
    def replacement(self) -> "TempList | None":
        """The list a refresh made to replace this one, while it stands (not deleted)."""
        made = getattr(self, "replaced_by", None)
        return made if made is not None and made.state != TempListState.DELETED else None

    @property
    def can_refresh(self) -> bool:
        return self.state == TempListState.COMPLETE and self.replacement is None

    @property
    def can_resume(self) -> bool:
        return self.state == TempListState.FAILED and self.checkpoint < self.total


class ListBudget(models.Model):
    """One row (pk=1), locked while a list is counted against the budget and created, so two
    creators never both take the last free slot."""

    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Temporary list budget"
