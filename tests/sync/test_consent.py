from datetime import UTC, datetime, timedelta

from sync.consent import guard_permissions

MONDAY = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
LATER = MONDAY + timedelta(days=1)
EARLIER = MONDAY - timedelta(days=1)
ON_1 = {"bit": 1, "enabled": True}


def test_a_push_never_switches_on_a_permission_the_contact_switched_off_in_spotler():
    allowed, held = guard_permissions(
        [ON_1, {"bit": 2, "enabled": True}],
        spotler_off_at={1: MONDAY},
        shop_changed_at={1: EARLIER},
    )
    assert allowed == [{"bit": 2, "enabled": True}]
    assert [h.bit for h in held] == [1]
    assert "switched it off in Spotler on 2026-11-16 09:00" in str(held[0])


def test_a_consent_given_again_in_the_shop_after_the_unsubscribe_is_sent():
    allowed, held = guard_permissions(
        [ON_1], spotler_off_at={1: MONDAY}, shop_changed_at={1: LATER}
    )
    assert allowed == [ON_1]
    assert held == []


def test_when_the_shop_change_time_is_unknown_spotlers_off_wins():
    allowed, held = guard_permissions([ON_1], spotler_off_at={1: MONDAY}, shop_changed_at={})
    assert allowed == []
    assert held[0].bit == 1


def test_a_change_at_the_very_same_moment_does_not_override_the_unsubscribe():
    allowed, _ = guard_permissions([ON_1], spotler_off_at={1: MONDAY}, shop_changed_at={1: MONDAY})
    assert allowed == []


def test_switching_off_and_bits_spotler_never_switched_off_always_go_through():
    off = {"bit": 1, "enabled": False}
    assert guard_permissions([off], spotler_off_at={1: MONDAY}, shop_changed_at={}) == ([off], [])
    assert guard_permissions([ON_1], spotler_off_at={}, shop_changed_at={}) == ([ON_1], [])
