from django.contrib.auth.models import Group
from django.urls import reverse

from spotlersync.roles import ROLE_PERMISSIONS, Role


def test_the_migration_creates_the_three_roles_with_their_permissions(db):
    for role, codenames in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        assert set(group.permissions.values_list("codename", flat=True)) == set(codenames)


def test_only_admins_may_run_syncs_and_only_marketers_and_admins_edit_the_mapping(
    marketer, account_manager, admin_user
):
    assert admin_user.has_perm("spotlersync.run_syncs")
    assert not marketer.has_perm("spotlersync.run_syncs")
    assert not account_manager.has_perm("spotlersync.run_syncs")
    assert marketer.has_perm("spotlersync.edit_mapping")
    assert not account_manager.has_perm("spotlersync.edit_mapping")
    assert account_manager.has_perm("spotlersync.work_bounces")


def test_admins_hold_every_model_permission_for_the_django_admin(admin_user, marketer):
    assert admin_user.has_perm("auth.change_user")
    assert admin_user.has_perm("django_q.delete_schedule")
    assert not marketer.has_perm("auth.change_user")


def test_a_deactivated_admin_loses_every_permission(admin_user):
    admin_user.is_active = False
    admin_user.save()
    assert not admin_user.has_perm("spotlersync.run_syncs")


def nav_of(client) -> str:
    html = client.get(reverse("home")).content.decode()
    start = html.index('data-testid="main-nav"')
    return html[start : html.index("</ul>", start)]


def test_navigation_shows_each_role_only_what_it_may_open(client, marketer, admin_user):
    client.force_login(marketer)
    nav = nav_of(client)
    assert "Home" in nav
    assert "Queue" not in nav
    assert "Django admin" not in nav
    client.force_login(admin_user)
    nav = nav_of(client)
    assert "Queue" in nav
    assert "Django admin" in nav


def test_the_header_names_the_users_role(client, account_manager):
    client.force_login(account_manager)
    assert f"({Role.ACCOUNT_MANAGER})" in client.get(reverse("home")).content.decode()


def test_login_with_a_wrong_password_says_so(client, marketer):
    response = client.post(reverse("login"), {"username": "marketer", "password": "wrong"})
    assert response.status_code == 200
    assert "do not match" in response.content.decode()


def test_a_user_can_change_their_password(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "correct horse battery staple",
            "new_password1": "a new and long passphrase 42",
            "new_password2": "a new and long passphrase 42",
        },
    )
    assert response.status_code == 302
    marketer.refresh_from_db()
    assert marketer.check_password("a new and long passphrase 42")


def test_login_page_is_protected_against_cross_site_posts(db, marketer):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        reverse("login"), {"username": "marketer", "password": "correct horse battery staple"}
    )
    assert response.status_code == 403


def test_usernames_from_outside_are_escaped(client, db):
    from tests.conftest import make_user

    user = make_user("<script>alert(1)</script>", role=Role.MARKETER)
    client.force_login(user)
    html = client.get(reverse("home")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
