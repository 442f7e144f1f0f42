"""Who owns a follow-up: the contact's account manager, as the linked system names them.

The source field BOUNCES_OWNER_FIELD (default `account_manager`) is matched to an active user in
the Account manager or Admin role by username, then e-mail address, then full name (first and
last name), each ignoring case and surrounding spaces. The first of these that names exactly one
user decides; a value that names no one, or several people, leaves the follow-up unmatched: it
goes to BOUNCES_DEFAULT_OWNER (or stays unassigned) and is flagged for an Admin to assign.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q

from contacts.models import Contact
from spotlersync.roles import Role

MATCH_RULE = (
    "The contact's “{field}” field is matched to an active user in the Account manager or Admin "
    "role: by user name, then e-mail address, then full name, ignoring case. When it names no "
    "one (or more than one person), the follow-up goes to the default owner, or stays "
    "unassigned, and is flagged for an Admin to assign."
)


@dataclass(frozen=True)
class OwnerMatch:
    owner: User | None
    unmatched: bool
    source: str  # the field's value, as the linked system sent it


def match_rule() -> str:
    return MATCH_RULE.format(field=settings.BOUNCES_OWNER_FIELD)


def possible_owners() -> list[User]:
    """Users who may own follow-ups: active, in the Account manager or Admin role."""
    roles = Q(groups__name__in=[Role.ACCOUNT_MANAGER, Role.ADMIN]) | Q(is_superuser=True)
    return list(User.objects.filter(roles, is_active=True).distinct().order_by("username"))


def owner_source(contact: Contact) -> str:
    value = (contact.fields or {}).get(settings.BOUNCES_OWNER_FIELD)
    return value.strip() if isinstance(value, str) else ""


def find_owner(contact: Contact, *, users: list[User] | None = None) -> OwnerMatch:
    """The follow-up owner for `contact`, by the rule in the module docstring (`users`: the
    possible owners, when the caller matches many contacts)."""
    users = possible_owners() if users is None else users
    source = owner_source(contact)
    owner = match_name(source, users=users) if source else None
    if owner is not None:
        return OwnerMatch(owner=owner, unmatched=False, source=source)
    return OwnerMatch(owner=default_owner(users), unmatched=True, source=source)


def match_name(name: str, *, users: list[User]) -> User | None:
    wanted = _folded(name)
    ways = [
        lambda u: u.username,
        lambda u: u.email,
        lambda u: f"{u.first_name} {u.last_name}",
    ]
    for way in ways:
        found = [u for u in users if _folded(way(u)) == wanted]
        if len(found) == 1:
            return found[0]
        if found:
            return None  # ambiguous: an Admin decides
    return None


def display_name(user: User) -> str:
    """How pages and history name a user: the full name, or the user name when there is none."""
    return user.get_full_name().strip() or user.get_username()


def default_owner(users: list[User]) -> User | None:
    username = settings.BOUNCES_DEFAULT_OWNER.strip()
    if not username:
        return None
    return next((u for u in users if u.username.casefold() == username.casefold()), None)


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()
