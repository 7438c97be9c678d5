"""What institutions sent (answered messages, for idempotency and 冲正), their sign-ins and credentials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

TOMBSTONE = "reversed-before-arrival"  # digest of a msgid reversed (2601) before it arrived


@dataclass(frozen=True)
class Message:
    institution_code: str
    msgid: str
    infno: str
    digest: str
    answer: str
    ref: str | None
    psn_no: str | None
    received_at: datetime
    reversed_by: str | None


@dataclass(frozen=True)
class SignIn:
    sign_no: str
    institution_code: str
    opter_no: str | None
    mac: str | None
    ip: str | None
    signed_in_at: datetime
    signed_out_at: datetime | None


@dataclass(frozen=True)
class InstitutionCredential:
    institution_code: str
    api_key_hash: str | None
    tif_paasid: str | None
    tif_token: str | None
    created_at: datetime
    gateway_ak: str | None = None
    gateway_sk: str | None = None  # encrypted with the platform secret
    variant: str = "plain"  # plain | sm
    sm4_key: str | None = None  # encrypted with the platform secret
    sm2_public_key: str | None = None  # the institution's
    sign_in: str = "required"  # required | optional
