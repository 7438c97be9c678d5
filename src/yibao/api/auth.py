"""Who is calling: institutions (API key, TIF or provincial-gateway signed headers) and agency
staff (admin token).

TIF: ``x-tif-signature`` = hex SHA-256 of ``timestamp + token + nonce + timestamp``, the timestamp
within ``SKEW`` of the server clock, each nonce usable once per paasid (kept for twice the skew).
Provincial service gateway: ``_api_signature`` = Base64(HmacSHA1(SK, "k=v&…")) over
``_api_access_key``, ``_api_name``, ``_api_timestamp`` (13-digit ms, within ``SKEW``) and
``_api_version`` (``nhsa.dialects.api_signature``).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime

from yibao.errors import refuse
from yibao.limits import CLOCK_SKEW
from yibao.nhsa.dialects import API_HEADERS, api_signature
from yibao.services.gateway_access import institution_of_tif, secret_of_ak, tif_signature
from yibao.services.platform import CHINA, Platform

__all__ = ["SKEW", "api_key_of", "authenticate_institution", "tif_signature"]
SKEW = CLOCK_SKEW


def api_key_of(headers: Mapping[str, str]) -> str | None:
    """The API key, when the headers authenticate with one (no provincial gateway's headers, which
    come first): the gateway leaves its check to the call's unit of work (``dispatch(api_key=…)``)."""
    if headers.get("_api_access_key") or headers.get("_api_signature"):
        return None
    return headers.get("x-api-key") or None


def authenticate_institution(p: Platform, headers: Mapping[str, str], now: datetime) -> str:
    """The institution code the provincial gateway's or TIF's headers prove, or a refusal
    (``E0000-006``). An API key (``api_key_of``) is checked by ``dispatch`` itself, in one place."""
    if headers.get("_api_access_key") or headers.get("_api_signature"):
        return _provincial(p, headers, now)
    paasid, stamp = headers.get("x-tif-paasid"), headers.get("x-tif-timestamp")
    nonce, signature = headers.get("x-tif-nonce"), headers.get("x-tif-signature")
    if not (paasid and stamp and nonce and signature):
        raise refuse(
            "E0000-006",
            detail="缺少认证信息（x-api-key；或 x-tif-paasid / x-tif-timestamp / x-tif-nonce / x-tif-signature；"
            "或 _api_access_key / _api_name / _api_timestamp / _api_version / _api_signature）",
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
    return institution_of_tif(p, paasid, stamp, nonce, signature, now)


def _provincial(p: Platform, headers: Mapping[str, str], now: datetime) -> str:
    sent = {k: headers.get(k) or "" for k in API_HEADERS}
    signature = headers.get("_api_signature") or ""
    missing = [k for k, v in (*sent.items(), ("_api_signature", signature)) if not v]
    if missing:
        raise refuse("E0000-006", detail=f"缺少服务网关认证头 {'、'.join(missing)}")
    if any(len(v) > 300 for v in (*sent.values(), signature)):
        raise refuse("E0000-006", detail="服务网关认证头过长")
    stamp = sent["_api_timestamp"]
    if not stamp.isdigit() or len(stamp) != 13:
        raise refuse("E0000-006", detail="_api_timestamp 应为13位毫秒时间戳")
    if abs(int(stamp) / 1000 - now.replace(tzinfo=CHINA).timestamp()) > SKEW.total_seconds():
        raise refuse("E0000-006", detail=f"_api_timestamp 与平台时间相差超过{int(SKEW.total_seconds())}秒")
    found = secret_of_ak(p, sent["_api_access_key"])
    if found is None:
        raise refuse("E0000-006", detail="_api_access_key 非法用户")
    institution, sk = found
    if not hmac.compare_digest(signature.strip(), api_signature(sk, sent)):
        raise refuse("E0000-006", detail="_api_signature 签名不一致")
    return institution
