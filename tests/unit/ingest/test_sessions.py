"""Sessions: a visit ends after the inactivity timeout; a client-supplied session id wins."""

from __future__ import annotations

from belvedere.ingest.enrich.visitor import IdentityMap, Sessionizer
from belvedere.store.base import ActiveSession, Alias

MIN = 60_000
T0 = 1_763_800_000_000


def test_events_within_timeout_share_a_session_and_a_gap_starts_a_new_one() -> None:
    s = Sessionizer()
    first = s.assign(1, "v", T0, 30 * MIN, None)
    assert s.assign(1, "v", T0 + 29 * MIN, 30 * MIN, None) == first
    # 29 minutes after the *last* event, not the first: the visit is still going.
    assert s.assign(1, "v", T0 + 58 * MIN, 30 * MIN, None) == first
    second = s.assign(1, "v", T0 + 89 * MIN, 30 * MIN, None)
    assert second != first


def test_visitors_and_projects_are_separate() -> None:
    s = Sessionizer()
    a = s.assign(1, "v", T0, 30 * MIN, None)
    assert s.assign(1, "w", T0, 30 * MIN, None) != a
    assert s.assign(2, "v", T0, 30 * MIN, None) != a


def test_project_timeout_is_respected() -> None:
    s = Sessionizer()
    a = s.assign(1, "v", T0, 5 * MIN, None)
    assert s.assign(1, "v", T0 + 6 * MIN, 5 * MIN, None) != a


def test_client_session_id_is_kept() -> None:
    s = Sessionizer()
    assert s.assign(1, "v", T0, 30 * MIN, "client-session") == "client-session"
    assert s.assign(1, "v", T0 + MIN, 30 * MIN, None) == "client-session"


def test_prune_forgets_timed_out_visits_and_resume_restores_open_ones() -> None:
    s = Sessionizer()
    s.assign(1, "old", T0, 30 * MIN, None)
    s.assign(1, "fresh", T0 + 40 * MIN, 30 * MIN, None)
    assert s.prune(T0 + 45 * MIN) == 1
    restored = Sessionizer()
    restored.resume([ActiveSession(1, "v", "sess-1", T0)], 30 * MIN)
    assert restored.assign(1, "v", T0 + 10 * MIN, 30 * MIN, None) == "sess-1"


def test_identity_map_follows_aliases() -> None:
    ids = IdentityMap()
    ids.load([Alias(1, "anon-1", "user-1")])
    assert ids.person(1, "anon-1") == "user-1"
    assert ids.person(2, "anon-1") == "anon-1"
    ids.link(1, "anon-2", "anon-1")  # aliasing to an alias lands on the person
    assert ids.person(1, "anon-2") == "user-1"


def test_a_resumed_visit_keeps_its_source() -> None:
    s = Sessionizer()
    source = ("google.com", "Organic Search", None, None, None, None, None)
    s.resume([ActiveSession(1, "v", "sess-1", T0, source)], 30 * MIN)
    visit = s.visit(1, "v", T0 + MIN, 30 * MIN, None)
    assert (visit.session_id, visit.source) == ("sess-1", source)


def test_an_alias_hands_the_anonymous_visit_to_the_person() -> None:
    s = Sessionizer()
    anonymous = s.assign(1, "anon-1", T0, 30 * MIN, None)
    s.carry(1, "anon-1", "user-1", T0 + MIN)  # the $alias event links anon-1 to user-1
    assert s.assign(1, "user-1", T0 + MIN, 30 * MIN, None) == anonymous
    # a person with a visit of their own keeps it; a timed-out anonymous visit is not carried
    own = s.assign(1, "user-2", T0, 30 * MIN, None)
    s.assign(1, "anon-2", T0, 30 * MIN, None)
    s.carry(1, "anon-2", "user-2", T0 + MIN)
    assert s.assign(1, "user-2", T0 + MIN, 30 * MIN, None) == own
    stale = s.assign(1, "anon-3", T0, 30 * MIN, None)
    s.carry(1, "anon-3", "user-3", T0 + 31 * MIN)
    assert s.assign(1, "user-3", T0 + 31 * MIN, 30 * MIN, None) != stale
