"""医保电子凭证 QR codes and tokens, signed with the platform's voucher key (HMAC-SHA256).

A QR code names the person and the moment it was drawn and expires quickly (it is redrawn on the
phone); decoding one (1162) yields an ``ecToken`` that settles for a short while. Both carry a MAC,
so a forged or altered string is refused before any lookup.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta

QR_PREFIX = "YBEC1:"
QR_LIFETIME = timedelta(minutes=5)


def _mac(key: bytes, text: str, length: int) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:length]


def qr_content(key: bytes, psn_no: str, at: datetime) -> str:
    body = base64.urlsafe_b64encode(
        json.dumps({"p": psn_no, "t": at.strftime("%Y%m%d%H%M%S"), "n": secrets.token_hex(4)}).encode()
    ).decode()
    return f"{QR_PREFIX}{body}.{_mac(key, body, 32)}"


def read_qr(key: bytes, text: str, now: datetime) -> str | None:
    """The psn_no a genuine, unexpired QR string names; None for anything else."""
    if not isinstance(text, str) or not text.startswith(QR_PREFIX) or "." not in text:
        return None
    body, mac = text[len(QR_PREFIX) :].rsplit(".", 1)
    if not hmac.compare_digest(mac, _mac(key, body, 32)):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body.encode()))
        drawn = datetime.strptime(payload["t"], "%Y%m%d%H%M%S")
        psn_no = str(payload["p"])
    except (ValueError, KeyError, TypeError):
        return None
    if not (drawn - timedelta(minutes=1) <= now <= drawn + QR_LIFETIME):
        return None
    return psn_no


def signed_token(key: bytes, admdvs: str) -> str:
    """An ecToken shaped like the national one (区划 + ``ecmec`` + opaque), 40 characters, with a MAC."""
    head = f"{admdvs[:2]}0000ecmec{secrets.token_hex(10)}"
    return head + _mac(key, head, 9)


def token_is_signed(key: bytes, token: str) -> bool:
    return len(token) == 40 and hmac.compare_digest(token[-9:], _mac(key, token[:-9], 9))
