"""Users and roles in the audit trail: every change of a user (the Django admin, a command, the
shell) and of a user's roles, through signals, since Django makes these changes itself.

The actor is whoever is logged in to the request that made the change; outside a request, the
system. A password change is recorded as masked, and a login's `last_login` not at all.
"""

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from audit import trail

USER_FIELDS = (
    "username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser",
    "password",
)  # fmt: skip


def connect() -> None:
    user_model = get_user_model()
    pre_save.connect(remember_user, sender=user_model, dispatch_uid="audit-user-pre")
    post_save.connect(record_user, sender=user_model, dispatch_uid="audit-user-post")
    post_delete.connect(record_user_deleted, sender=user_model, dispatch_uid="audit-user-del")
    m2m_changed.connect(
        record_roles, sender=user_model.groups.through, dispatch_uid="audit-user-roles"
    )


def remember_user(sender, instance, update_fields=None, **kwargs) -> None:
    if instance.pk is None or _only_login(update_fields):
        return
    old = sender.objects.filter(pk=instance.pk).first()
    instance._audit_before = trail.snapshot(old, USER_FIELDS) if old is not None else {}


def record_user(sender, instance, created, update_fields=None, raw=False, **kwargs) -> None:
    if raw or _only_login(update_fields):
        return
    before = {} if created else getattr(instance, "_audit_before", {})
    after = trail.snapshot(instance, USER_FIELDS)
    if not created and not trail.changes(before, after):
        return
    trail.record(
        actor=None, action="created" if created else "changed", object_type="user",
        obj=instance, object_label=instance.get_username(), before=before, after=after,
    )  # fmt: skip


def record_user_deleted(sender, instance, **kwargs) -> None:
    trail.record(
        actor=None, action="deleted", object_type="user", object_id=instance.pk,
        object_label=instance.get_username(),
        before={"username": instance.get_username()}, after={},
    )  # fmt: skip


def record_roles(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    """A user's roles (groups) changed; from either side (user.groups or group.user_set)."""
    if action == "pre_clear":
        users = [instance] if not reverse else list(instance.user_set.all())
        for user in users:
            user._audit_roles = _roles(user)
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    # From a group's side (reverse) `instance` is the group and `pk_set` its users.
    user_model = get_user_model()
    users = list(user_model.objects.filter(pk__in=pk_set or ())) if reverse else [instance]
    for user in users:
        now = _roles(user)
        if action == "post_clear":
            before = getattr(user, "_audit_roles", [])
        elif reverse:
            changed = {instance.name}
            before = sorted(set(now) - changed if action == "post_add" else set(now) | changed)
        else:
            changed = set(model.objects.filter(pk__in=pk_set or ()).values_list("name", flat=True))
            before = sorted(set(now) - changed if action == "post_add" else set(now) | changed)
        if before == now:
            continue
        trail.record(
            actor=None, action="roles changed", object_type="user", obj=user,
            object_label=user.get_username(), before={"roles": before}, after={"roles": now},
        )  # fmt: skip


def _roles(user) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def _only_login(update_fields) -> bool:
    return bool(update_fields) and set(update_fields) <= {"last_login"}
