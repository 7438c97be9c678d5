"""How each institution reaches the gateway: its credentials, its dialect and its sign-in rule.

One credentials call issues everything an institution may use, shown once: an API key (stored as a
SHA-256 hash), a TIF paasid and token, a provincial-gateway AK/SK pair and, for an institution
registered on the SM2/SM4 variant, an SM4 key and an SM2 key pair. The SK and the SM4 key must be
known to verify an HMAC or decrypt a message, so they cannot be hashed: they are stored encrypted
(AES-256-GCM) under the platform secret, taken from ``YIBAO_SECRET_KEY`` (any text; set it outside
the database in production). Without it the platform generates a secret and keeps it in the
settings table, which then protects the SK only as well as the database itself is protected.

The variant is the institution's registration, never the message: a plain institution that sends
``signtype: "SM2"`` with an empty ``cainfo`` is served as plain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from yibao.care.messages import InstitutionCredential
from yibao.errors import refuse
from yibao.limits import CLOCK_SKEW
from yibao.nhsa import dialects
from yibao.services.platform import Platform
from yibao.storage.uow import Tx

log = logging.getLogger("yibao.gateway")
VARIANTS = ("plain", "sm")
SIGN_IN = ("required", "optional")
_SECRET_SETTING = "platform_secret_key"
_SM2_SETTING = "platform_sm2_key"
_lock = threading.Lock()


def key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


# The platform secret -------------------------------------------------------------------------------


def _secret(platform: Platform, tx: Tx | None = None) -> bytes:
    cached = getattr(platform, "_secret_key", None)
    if cached is not None:
        return cached
    configured = os.environ.get("YIBAO_SECRET_KEY")
    with _lock:
        if configured:
            key = hashlib.sha256(configured.encode()).digest()
        else:
            with platform.unit(tx) as t:
                stored = t.config.get(_SECRET_SETTING)
                if stored is None:  # another process's, if it kept one first
                    stored = t.config.put_new(_SECRET_SETTING, base64.b64encode(secrets.token_bytes(32)).decode())
                    log.warning(
                        "YIBAO_SECRET_KEY 未设置：平台密钥保存在数据库中，AK/SK 与 SM4 密钥的加密保护仅等同于数据库本身"
                    )
            key = base64.b64decode(stored)
        platform._secret_key = key
        return key


def seal_secret(platform: Platform, text: str, tx: Tx | None = None) -> str:
    nonce = secrets.token_bytes(12)
    return "v1:" + base64.b64encode(nonce + AESGCM(_secret(platform, tx)).encrypt(nonce, text.encode(), None)).decode()


def open_secret(platform: Platform, sealed: str, tx: Tx | None = None) -> str:
    raw = base64.b64decode(sealed.removeprefix("v1:"))
    try:
        return AESGCM(_secret(platform, tx)).decrypt(raw[:12], raw[12:], None).decode()
    except InvalidTag:
        raise refuse(
            "E0000-006", detail="机构密钥无法解密（平台密钥 YIBAO_SECRET_KEY 已更换？请重新签发凭据）"
        ) from None


def platform_sm2(platform: Platform, tx: Tx | None = None) -> tuple[str, str]:
    """The platform's SM2 key pair (private, public hex): it signs every answer to an SM institution."""
    cached = getattr(platform, "_sm2_key", None)
    if cached is not None:
        return cached
    with platform.unit(tx) as t:
        stored = t.config.get(_SM2_SETTING)
        if stored is None:  # another process's, if it kept one first
            private, public = dialects.sm2_keypair()
            stored = t.config.put_new(_SM2_SETTING, f"{seal_secret(platform, private, t)} {public}")
        sealed, public = stored.split(" ")
        private = open_secret(platform, sealed, t)
    platform._sm2_key = (private, public)
    return private, public


# Issuing ----------------------------------------------------------------------------------------------


def issue_credentials(
    platform: Platform, institution: str, *, variant: str = "plain", sign_in: str = "required", tx: Tx | None = None
) -> dict[str, Any]:
    """Fresh credentials for every dialect (shown once); earlier ones stop working."""
    if variant not in VARIANTS or sign_in not in SIGN_IN:
        raise refuse("E0000-008", detail=f"variant 应为 {'/'.join(VARIANTS)}，sign_in 应为 {'/'.join(SIGN_IN)}")
    api_key = "yb_" + secrets.token_urlsafe(24)
    token = secrets.token_hex(24)
    ak, sk = "ak" + secrets.token_hex(15), secrets.token_urlsafe(30)
    out: dict[str, Any] = {
        "institution": institution,
        "api_key": api_key,
        "tif_paasid": institution,
        "tif_token": token,
        "gateway_ak": ak,
        "gateway_sk": sk,
        "variant": variant,
        "sign_in": sign_in,
    }
    _PROVEN.clear()  # the institution's earlier key stops working: nothing ahead on its word either
    with platform.unit(tx) as tx:
        if tx.care.institution(institution) is None:
            raise refuse("E0000-004", code=institution)
        sm4_sealed = sm2_public = None
        if variant == "sm":
            sm4 = dialects.new_sm4_key()
            his_private, his_public = dialects.sm2_keypair()
            sm4_sealed, sm2_public = seal_secret(platform, sm4, tx), his_public
            out.update(
                sm4_key=sm4,
                sm2_private_key=his_private,
                sm2_public_key=his_public,
                platform_sm2_public_key=platform_sm2(platform, tx)[1],
            )
        tx.gateway.put_credential(
            InstitutionCredential(
                institution,
                key_digest(api_key),
                institution,
                token,
                platform.now(),
                gateway_ak=ak,
                gateway_sk=seal_secret(platform, sk, tx),
                variant=variant,
                sm4_key=sm4_sealed,
                sm2_public_key=sm2_public,
                sign_in=sign_in,
            )
        )
    return out


# Using ------------------------------------------------------------------------------------------------


def secret_of_ak(platform: Platform, ak: str) -> tuple[str, str] | None:
    """(institution, SK) for a provincial-gateway access key, or None."""
    with platform.store.uow(read_only=True) as tx:
        cred = tx.gateway.credential_by_ak(ak)
    if cred is None or not cred.gateway_sk:
        return None
    return cred.institution_code, open_secret(platform, cred.gateway_sk)


@dataclass(frozen=True)
class Access:
    """An institution's registration as the gateway needs it on each call."""

    institution: str
    variant: str = "plain"
    sign_in: str = "required"
    sm4_key: str | None = None  # decrypted
    sm2_public_key: str | None = None

    @property
    def encrypted(self) -> bool:
        return self.variant == "sm"

    def open_request(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The decrypted ``input`` of an SM institution's request, after checking its signature."""
        assert self.sm4_key and self.sm2_public_key
        try:
            inp = dialects.unseal(doc, "input", self.sm4_key, self.sm2_public_key)
        except PermissionError as exc:
            raise refuse("E0000-006", detail=str(exc)) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise refuse("E0000-002", detail=f"input 无法解密：{exc}") from None
        if not isinstance(inp, dict):
            raise refuse("E0000-002", detail="input 解密后应为JSON对象")
        return inp

    def seal_answer(self, platform: Platform, answer: dict[str, Any]) -> dict[str, Any]:
        assert self.sm4_key
        private, public = platform_sm2(platform)
        return dialects.seal(answer, "output", self.sm4_key, private, public)


def access(platform: Platform, tx: Tx, institution: str, *, api_key: str | None = None) -> Access | None:
    """The institution's registration (None: none), read in the unit's first round trip.

    ``api_key``: the caller's API key, not yet checked (``api.app`` leaves it to the unit that reads
    the registration anyway — one round trip and one transaction fewer per call): it must be the
    one issued to ``institution``, or the call is refused before anything of the registration is
    used (an SM key opened, a recorded answer replayed)."""
    cred = tx.gateway.credential(institution)
    if api_key is not None:
        digest = key_digest(api_key)
        if not key_matches(cred, digest):
            _PROVEN.pop(digest, None)
            raise refuse("E0000-006", detail="API key 无效")
        _remember(digest, institution)
    if cred is None:
        return None
    sm4 = open_secret(platform, cred.sm4_key, tx) if cred.variant == "sm" and cred.sm4_key else None
    return Access(institution, cred.variant, cred.sign_in, sm4, cred.sm2_public_key)


# Who is calling (``api.auth``) ---------------------------------------------------------------------


def tif_signature(timestamp: str, token: str, nonce: str) -> str:
    """TIF: hex SHA-256 of ``timestamp + token + nonce + timestamp``."""
    return hashlib.sha256(f"{timestamp}{token}{nonce}{timestamp}".encode()).hexdigest()


def key_matches(cred: InstitutionCredential | None, digest: str) -> bool:
    """Whether the key whose ``key_digest`` is ``digest`` is the one issued with ``cred`` (compared
    in constant time)."""
    if cred is None or cred.api_key_hash is None:
        return False
    return hmac.compare_digest(cred.api_key_hash, digest)


def institution_of_api_key(platform: Platform, api_key: str) -> str | None:
    """The institution an API key was issued to, or None."""
    digest = key_digest(api_key)
    with platform.unit(read_only=True) as tx:
        cred = tx.gateway.credential_by_key_hash(digest)
    if cred is None:
        return None
    _remember(digest, cred.institution_code)
    return cred.institution_code


# Keys this process saw prove an institution, and when (monotonic seconds). Never an authorisation:
# every writing call's key is checked against the registration in its own unit of work. What this
# decides is only whether a call's work ahead of its unit (a cainfo's RSA decryption) may be done
# before that check — for a key seen valid within PROVEN_S, so a revoked key in another server
# process can cause that work for at most PROVEN_S, and is refused all the same.
PROVEN_S = 60.0
PROVEN_MAX = 10_000  # keys remembered at most (then forgotten all at once)
_PROVEN: dict[str, tuple[str, float]] = {}


def _remember(digest: str, institution: str) -> None:
    if len(_PROVEN) >= PROVEN_MAX:
        _PROVEN.clear()
    _PROVEN[digest] = (institution, time.monotonic())


def recently_proven(api_key: str) -> str | None:
    """The institution ``api_key`` proved in this process within ``PROVEN_S``, or None."""
    got = _PROVEN.get(key_digest(api_key))
    if got is None or time.monotonic() - got[1] > PROVEN_S:
        return None
    return got[0]


def institution_of_tif(platform: Platform, paasid: str, stamp: str, nonce: str, signature: str, now: datetime) -> str:
    """The institution whose TIF token signed ``stamp``/``nonce`` (the caller checked the stamp's
    age), using up the nonce: each is accepted once per paasid, and kept for twice the clock skew."""
    with platform.unit() as tx:
        cred = tx.gateway.credential_by_paasid(paasid)
        if cred is None or not cred.tif_token:
            raise refuse("E0000-006", detail="x-tif-paasid 未登记")
        if not hmac.compare_digest(signature.lower(), tif_signature(stamp, cred.tif_token, nonce)):
            raise refuse("E0000-006", detail="x-tif-signature 签名不符")
        if not tx.gateway.use_nonce(paasid, nonce, now):
            raise refuse("E0000-006", detail="x-tif-nonce 已使用（重放）")
        tx.gateway.forget_nonces_before(now - 2 * CLOCK_SKEW)
        return cred.institution_code
