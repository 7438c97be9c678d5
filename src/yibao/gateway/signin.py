"""【9001】签到 / 【9002】签退: the ``sign_no`` later calls carry."""

from __future__ import annotations

from yibao.gateway.registry import Call, transaction
from yibao.services import messages
from yibao.services.platform import Platform


@transaction("9001", "签到")
def sign_in(p: Platform, call: Call, tx) -> dict:
    d = call.read("signIn")
    signed = messages.sign_in(p, call.institution, d.opter_no, d.mac, d.ip, tx=tx)
    return {"signinoutb": {"sign_time": f"{signed.signed_in_at:%Y-%m-%d %H:%M:%S}", "sign_no": signed.sign_no}}


@transaction("9002", "签退", filled=("signOut.opter_no",))
def sign_out(p: Platform, call: Call, tx) -> dict:
    d = call.read("signOut")
    now = messages.sign_out(p, call.institution, d.sign_no, tx=tx)
    return {"sign_time": {"sign_time": f"{now:%Y-%m-%d %H:%M:%S}"}}  # the spec's node and field
