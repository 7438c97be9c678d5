"""The settlement's one-round-trip family read agrees with the repositories it replaces."""

from datetime import timedelta

from support import family_world
from yibao.storage.family_reads import family_of


def test_family_of_reads_what_the_repositories_read(platform):
    fam = family_world(platform)
    now = platform.now()
    son, father, child = fam.son.person, fam.father.person, fam.child.person
    with platform.store.uow() as tx:
        ended = tx.family.grants_for(child.id)[0]
        tx.family.end_grant(ended, now - timedelta(days=1), "test")  # the son's grant to his child, ended
    for who in (son, father, child):
        for moment in (now, now - timedelta(days=400)):
            with platform.store.uow() as tx:
                got = family_of(tx, who.id, moment, 2025, "pharmacy")
                grants = tx.family.grants_for(who.id, active_at=moment)
                payer_ids = [g.payer_id for g in grants if g.payer_id != who.id]
                assert got.grants == grants
                assert got.payers == tx.people.many(payer_ids)
                assert got.payer_insurances == tx.people.insurances_of(payer_ids)
                assert set(got.relations) == set(tx.family.relations_of([who.id]))
                assert got.accumulator == tx.care.accumulator(who.id, 2025, "pharmacy")
    with platform.store.uow() as tx:
        tx.care.add_to_accumulator(son.id, 2025, "pharmacy", 123, 456)
        assert family_of(tx, son.id, now, 2025, "pharmacy").accumulator == (123, 456)
        assert [g.payer_id for g in family_of(tx, son.id, now, 2025, "pharmacy").grants] == [father.id]
        assert family_of(tx, child.id, now, 2025, "pharmacy").grants == []  # ended yesterday
