"""The reference data an institution exchanges with the platform: the national catalogue's entries
(1301–1321), the institution's own items matched to them (3301/3302), and files uploaded or
offered for download (9101/9102). Plain immutable values; ``storage.reference_repo`` keeps them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class CatalogEntry:
    list_type: str
    code: str
    name: str
    ver: int
    columns: dict[str, str]
    vali_flag: str
    begndate: date | None
    enddate: date | None
    loaded_at: datetime


@dataclass(frozen=True)
class NewMatch:
    """3301: an institution's own code (and name) matched to a national catalogue code for a period,
    under the columns' (national) names; ``info`` keeps what else the HIS sent."""

    medins_list_codg: str
    medins_list_name: str
    list_type: str
    med_list_codg: str
    begndate: date
    enddate: date | None
    info: dict


@dataclass(frozen=True)
class Match(NewMatch):
    """A match as kept: which institution made it, when, and whether it is cancelled (3302)."""

    id: int
    institution_code: str
    created_at: datetime
    cancelled_at: datetime | None


@dataclass(frozen=True)
class StoredFile:
    file_qury_no: str
    filename: str
    institution_code: str
    purpose: str
    content: bytes
    created_at: datetime
    expires_at: datetime
