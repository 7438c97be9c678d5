"""How the gateway dialects sign and encrypt, for both sides (the platform and an HIS).

- **Provincial service gateway** (spec 4.5): headers ``_api_access_key``, ``_api_name``,
  ``_api_timestamp`` (13-digit ms), ``_api_version`` sorted by key and joined ``k=v&k=v``;
  ``_api_signature`` = Base64(HMAC-SHA1(SK, that text)).
- **SM2/SM4 variant**: ``input`` and ``output`` are Base64(SM4-ECB-PKCS7(key, UTF-8 JSON)) (hex is
  accepted too), ``enc_type`` "SM4", ``signtype`` "SM2", and ``cainfo`` is the SM3-with-SM2
  signature (user id ``1234567812345678``, hex ``r||s``) over the envelope's other non-empty
  fields sorted by key and joined ``k=v&k=v``, ``input``/``output`` as the ciphertext sent.

SM4 and SM3 come from ``cryptography`` (OpenSSL); SM2 signatures from ``gmssl``, wrapped so that its
nonce comes from ``secrets`` (gmssl's default draws from ``random``) and its public key is set
exactly (its constructor's ``lstrip("04")`` mangles keys whose X coordinate starts with 0 or 4).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from typing import Any

import simplejson
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from gmssl import sm2

API_HEADERS = ("_api_access_key", "_api_name", "_api_timestamp", "_api_version")
SM2_N = int(sm2.default_ecc_table["n"], 16)

# Provincial service gateway ---------------------------------------------------------------------


def api_signature(sk: str, headers: dict[str, str]) -> str:
    """Base64(HmacSHA1(SK, "k=v&…")) over the four ``_api_*`` headers sorted naturally."""
    text = "&".join(f"{k}={headers[k]}" for k in sorted(API_HEADERS))
    return base64.b64encode(hmac.new(sk.encode(), text.encode(), hashlib.sha1).digest()).decode()


def api_headers(ak: str, sk: str, name: str, *, timestamp_ms: int, version: str = "1.0.0") -> dict[str, str]:
    """What an HIS sends (for clients, tests and the docs)."""
    h = {"_api_access_key": ak, "_api_name": name, "_api_timestamp": str(timestamp_ms), "_api_version": version}
    h["_api_signature"] = api_signature(sk, h)
    return h


# SM4 ------------------------------------------------------------------------------------------------


def sm4_encrypt(key: bytes, plain: bytes) -> str:
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain) + padder.finalize()
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


def sm4_decrypt(key: bytes, text: str) -> bytes:
    """Ciphertext as Base64 or hex → plaintext; ValueError when it is neither or does not decrypt."""
    text = text.strip()
    try:
        raw = (
            bytes.fromhex(text) if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", text) else base64.b64decode(text, validate=True)
        )
    except (binascii.Error, ValueError) as exc:
        raise ValueError("密文应为 Base64 或十六进制") from exc
    if not raw or len(raw) % 16:
        raise ValueError("密文长度不是16字节的整数倍")
    dec = Cipher(algorithms.SM4(key), modes.ECB()).decryptor()
    data = dec.update(raw) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(data) + unpadder.finalize()
    except ValueError as exc:
        raise ValueError("SM4 解密失败（密钥不符或密文损坏）") from exc


def new_sm4_key() -> str:
    return secrets.token_hex(16)


# SM2 (SM3 with SM2) --------------------------------------------------------------------------------


def _crypt(private_hex: str, public_hex: str) -> sm2.CryptSM2:
    c = sm2.CryptSM2(private_key=private_hex, public_key="00")
    c.public_key = public_hex[2:] if len(public_hex) == 130 else public_hex  # exactly X||Y
    return c


def sm2_keypair() -> tuple[str, str]:
    """(private key hex, public key hex "04"+X+Y)."""
    d = secrets.randbelow(SM2_N - 2) + 1
    c = _crypt(f"{d:064x}", "0" * 128)
    point = c._kg(d, sm2.default_ecc_table["g"])
    return f"{d:064x}", "04" + point


def sm2_sign(private_hex: str, public_hex: str, data: bytes) -> str:
    c = _crypt(private_hex, public_hex)
    while True:
        k = f"{secrets.randbelow(SM2_N - 2) + 1:064x}"
        sig = c.sign_with_sm3(data, k)
        if sig:
            return sig


def sm2_verify(public_hex: str, signature: str, data: bytes) -> bool:
    sig = signature.strip()
    if not re.fullmatch(r"[0-9a-fA-F]{128}", sig):
        try:
            raw = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            return False
        if len(raw) != 64:
            return False
        sig = raw.hex()
    try:
        return bool(_crypt("0" * 64, public_hex).verify_with_sm3(sig.lower(), data))
    except (ValueError, TypeError, IndexError):
        return False


def signed_text(envelope: dict[str, Any]) -> bytes:
    """What ``cainfo`` signs: every other non-empty field, sorted by key, ``k=v`` joined with ``&``."""
    parts = []
    for k in sorted(envelope):
        v = envelope[k]
        if k == "cainfo" or v is None or (isinstance(v, str) and v.strip().lower() in ("", "null")):
            continue
        if isinstance(v, dict | list):
            v = simplejson.dumps(v, ensure_ascii=False, use_decimal=True, separators=(",", ":"), sort_keys=True)
        parts.append(f"{k}={v}")
    return "&".join(parts).encode("utf-8")


def _json(value: Any) -> bytes:
    return simplejson.dumps(value, ensure_ascii=False, use_decimal=True).encode("utf-8")


def seal(envelope: dict[str, Any], node: str, sm4_key: str, private_hex: str, public_hex: str) -> dict[str, Any]:
    """Encrypt ``envelope[node]`` (input or output) and sign: what the sender of the SM variant does."""
    out = dict(envelope)
    out[node] = sm4_encrypt(bytes.fromhex(sm4_key), _json(envelope[node]))
    out["enc_type"], out["signtype"] = "SM4", "SM2"
    out["cainfo"] = sm2_sign(private_hex, public_hex, signed_text(out))
    return out


def unseal(envelope: dict[str, Any], node: str, sm4_key: str, public_hex: str) -> Any:
    """Verify ``cainfo`` and decrypt ``envelope[node]``; ValueError saying what is wrong."""
    signature = envelope.get("cainfo")
    if not isinstance(signature, str) or not sm2_verify(public_hex, signature, signed_text(envelope)):
        raise PermissionError("cainfo 的 SM2 签名不符")
    cipher = envelope.get(node)
    if not isinstance(cipher, str):
        raise ValueError(f"{node} 应为 SM4 密文")
    plain = sm4_decrypt(bytes.fromhex(sm4_key), cipher)
    return simplejson.loads(plain.decode("utf-8"), use_decimal=True)
