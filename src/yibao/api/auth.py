"""Who is calling: institutions (API key or TIF signed headers) and agency staff (admin token).

TIF: ``x-tif-signature`` = hex SHA-256 of ``timestamp + token + nonce + timestamp``, the timestamp
within ``SKEW`` of the server clock, each nonce usable once per paasid (kept for twice the skew).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime

from yibao.errors import DomainError, refuse
from yibao.limits import CLOCK_SKEW
from yibao.services.platform import CHINA, Platform
from yibao.storage.gateway_repo import InstitutionCredential

SKEW = CLOCK_SKEW


def key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def tif_signature(timestamp: str, token: str, nonce: str) -> str:
    return hashlib.sha256(f"{timestamp}{token}{nonce}{timestamp}".encode()).hexdigest()


def issue_credentials(p: Platform, institution: str, *, tx=None) -> dict[str, str]:
    """A fresh API key and TIF token for an institution (shown once; the key is stored hashed)."""
    api_key = "yb_" + secrets.token_urlsafe(24)
    token = secrets.token_hex(24)
    with p.unit(tx) as tx:
        if tx.care.institution(institution) is None:
            raise refuse("E0000-004", code=institution)
        tx.gateway.put_credential(InstitutionCredential(institution, key_digest(api_key), institution, token, p.now()))
    return {"institution": institution, "api_key": api_key, "tif_paasid": institution, "tif_token": token}


def authenticate_institution(p: Platform, headers: Mapping[str, str], now: datetime) -> str:
    """The institution code the headers prove, or a refusal (``E0000-006``)."""
    api_key = headers.get("x-api-key")
    if api_key:
        with p.store.uow(read_only=True) as tx:
            cred = tx.gateway.credential_by_key_hash(key_digest(api_key))
        if cred is None:
            raise refuse("E0000-006", detail="API key 无效")
        return cred.institution_code
    paasid, stamp = headers.get("x-tif-paasid"), headers.get("x-tif-timestamp")
    nonce, signature = headers.get("x-tif-nonce"), headers.get("x-tif-signature")
    if not (paasid and stamp and nonce and signature):
        raise refuse(
            "E0000-006",
            detail="缺少认证信息（x-api-key，或 x-tif-paasid / x-tif-timestamp / x-tif-nonce / x-tif-signature）",
        )
    if len(nonce) > 64 or len(paasid) > 64:
        raise refuse("E0000-006", detail="x-tif-nonce 或 x-tif-paasid 过长")
    try:
        sent = int(stamp)
    except ValueError:
        raise refuse("E0000-006", detail="x-tif-timestamp 应为秒级Unix时间戳") from None
    # The platform clock is Beijing time without a zone; a Unix timestamp has none to mistake.
    if abs(sent - now.replace(tzinfo=CHINA).timestamp()) > SKEW.total_seconds():
        raise refuse("E0000-006", detail=f"x-tif-timestamp 与平台时间相差超过{int(SKEW.total_seconds())}秒")
    with p.store.uow() as tx:
        cred = tx.gateway.credential_by_paasid(paasid)
        if cred is None or not cred.tif_token:
            raise refuse("E0000-006", detail="x-tif-paasid 未登记")
        if not hmac.compare_digest(signature.lower(), tif_signature(stamp, cred.tif_token, nonce)):
            raise refuse("E0000-006", detail="x-tif-signature 签名不符")
        if not tx.gateway.use_nonce(paasid, nonce, now):
            raise refuse("E0000-006", detail="x-tif-nonce 已使用（重放）")
        tx.gateway.forget_nonces_before(now - 2 * SKEW)
        return cred.institution_code


def check_admin(expected: str | None, authorization: str | None) -> None:
    if expected is None:
        raise DomainError("E0000-006", "管理接口未配置令牌")
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not given or not hmac.compare_digest(given, expected):
        raise DomainError("E0000-006", "管理令牌无效（Authorization: Bearer <token>）")
