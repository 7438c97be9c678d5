from decimal import Decimal

from support import balances, call, family_world, ledger_problems, pharmacy_input


def test_pharmacy_purchase_with_mutual_aid(platform):
    fam = family_world(platform)
    answer = call(platform, "2102", pharmacy_input(fam.son, "300.00"), password="123456")
    assert answer["infcode"] == 0, answer["err_msg"]
    info = answer["output"]["setlinfo"]
    assert info["acct_pay"] == Decimal("100.00")
    assert info["acct_mulaid_pay"] == Decimal("200.00")
    assert balances(platform, fam.son) == (0, 0)
    assert balances(platform, fam.father) == (10000, 50000)
    assert ledger_problems(platform) == []
