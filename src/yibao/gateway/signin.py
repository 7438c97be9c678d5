"""【9001】签到 / 【9002】签退: the ``sign_no`` later calls carry."""

from __future__ import annotations

import secrets

from yibao.care.messages import SignIn
from yibao.errors import refuse
from yibao.gateway.registry import Call, transaction
from yibao.services.platform import Platform


@transaction("9001", "签到")
def sign_in(p: Platform, call: Call, tx) -> dict:
    d = call.read("signIn")
    now = p.now()
    sign_no = f"{now:%Y%m%d%H%M%S}{secrets.randbelow(10**16):016d}"
    tx.gateway.add_sign_in(SignIn(sign_no, call.institution, d.opter_no, d.mac, d.ip, now, None))
    return {"signinoutb": {"sign_time": f"{now:%Y-%m-%d %H:%M:%S}", "sign_no": sign_no}}


@transaction("9002", "签退", filled=("signOut.opter_no",))
def sign_out(p: Platform, call: Call, tx) -> dict:
    d = call.read("signOut")
    found = tx.gateway.sign_in(d.sign_no)
    if found is None or found.institution_code != call.institution:
        raise refuse("E9001-001", sign_no=d.sign_no)
    now = p.now()
    if found.signed_out_at is None:
        tx.gateway.sign_out(d.sign_no, now)
    return {"sign_time": {"sign_time": f"{now:%Y-%m-%d %H:%M:%S}"}}  # the spec's node and field
