"""Reference data an HIS reads every day: institution info (1201), dictionaries (1901), the policy
items a settlement applied (100001), the catalogue (1312, 1316–1319, downloads 1301–1327), its
matching to an institution's own codes (3301/3302), and files exchanged with 9101/9102.

The catalogue the settlement prices by is ``catalog_items``; the agency's import (``yibao catalog
import``) writes it and, per download transaction, a versioned entry with the spec's file columns,
so a download "newer than ver" is every entry of a higher version.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from yibao.care.ids import visit_public_id
from yibao.care.reference import NewMatch
from yibao.errors import DomainError, refuse
from yibao.limits import parse_time
from yibao.money import MoneyFormatError, parse_price, parse_ratio
from yibao.nhsa.dictionary import Dictionary
from yibao.nhsa.files import (
    MAX_FILE_BYTES,
    FileFormatError,
    file_columns,
    query_columns,
    read_zipped_text,
    zipped_text,
)
from yibao.nhsa.spec import interfaces
from yibao.services.care import institution_or_refuse, person_or_refuse
from yibao.services.platform import Platform
from yibao.services.settle import settlement_or_refuse, view_of
from yibao.settlement.model import CatalogItem
from yibao.storage.uow import Tx

# The downloads whose entries are also priced by the settlement, with their national list_type.
PRICED = {
    "1301": "101",
    "1302": "102",
    "1303": "103",
    "1305": "201",
    "1306": "301",
    "1306A": "301",
    "1320": "106",
    "1321": "201",
}
KIND_TYPES = {"hospital": "1", "pharmacy": "2"}
LEVELS = {3: "12", 2: "13", 1: "14", 0: "11"}  # 三级无等, 二级无等, 一级无等, 无等级 (yibao keeps no grade)
FILE_DAYS = 1  # how long a produced or uploaded file may be fetched (dld_end_time)
MAX_PAGE = 1000
PLC = "plc"  # the fixmedins_code 9102 takes for catalogue files
CATALOGUE_NO = re.compile(r"^C(\d{4}A?)-(\d{1,9})-(\d{1,9})$")

# Extra columns an import may carry beyond the spec's file columns (code or label).
EXTRA = {
    "chrgitm_lv": "收费项目等级",
    "selfpay_prop": "先行自付比例",
    "price_ceiling": "最高限价",
    "name": "名称",
    "vali_flag": "有效标志",
    "begndate": "开始日期",
    "enddate": "结束日期",
}


def downloads() -> tuple[str, ...]:
    """The file-based catalogue downloads of the edition (1301–1327 without the query ones)."""
    return tuple(sorted(i for i in interfaces() if file_columns(i)))


# 1201 -----------------------------------------------------------------------------------------


def institution_info(tx: Tx, asking: str, kind_code: str, name: str | None, code: str | None) -> dict:
    """One designated institution, by code or by exact name, of the kind asked (an HIS checks itself
    or the institution it transfers to)."""
    institution_or_refuse(tx, asking)
    if not code and not name:
        code = asking  # nothing named: the asking institution's own record
    found = tx.care.institution(code) if code else None
    if found is None and name and not code:
        found = next((i for i in tx.care.institutions() if i.name == name), None)
    if found is None or not found.active or KIND_TYPES.get(found.kind) != kind_code:
        raise refuse("E1201-001", detail=f"类型{kind_code} 编号{code or '（空）'} 名称{name or '（空）'}")
    return {
        "fixmedins_code": found.code,
        "fixmedins_name": found.name,
        "uscc": "",
        "fixmedins_type": KIND_TYPES[found.kind],
        "hosp_lv": LEVELS.get(found.level, "11") if found.kind == "hospital" else "",
        "exp_content": {"admdvs": found.admdvs},
    }


# 1901 -----------------------------------------------------------------------------------------


def dictionary_rows(dictionary: Dictionary, key: str, parent: str | None, vali_flag: str | None, day: date) -> list:
    """A code table as the region uses it on ``day``: the edition's codes plus the region's
    extensions (``dictionary.<key>`` in its policy). Codes have no parents in the edition."""
    table = dictionary.values(key)
    if table is None:
        raise refuse("E1901-001", type=key)
    if vali_flag == "0" or (parent and parent not in ("0", "")):
        return []
    return [
        {
            "type": key,
            "label": meaning,
            "value": code,
            "parentValue": parent or "0",
            "sort": i,
            "valiFlag": "1",
            "createUser": "yibao",
            "createDate": day,
            "version": 1,
        }
        for i, (code, meaning) in enumerate(sorted(table.items()), start=1)
    ]


# 100001 ---------------------------------------------------------------------------------------


def policy_items(platform: Platform, tx: Tx, asking: str, psn_no: str, setl_id: str, mdtrt_id: str) -> list[dict]:
    """The policy items one settlement applied, each with the parameter key of the policy file and
    its amounts: 全自费, 超限价, 先行自付, 起付线, 统筹支付比例, 封顶线."""
    person = person_or_refuse(tx, psn_no)
    row = settlement_or_refuse(tx, setl_id)
    if row.institution_code != asking or row.person_id != person.id:
        raise refuse("E2208-003", setl_id=setl_id)
    if visit_public_id(person.admdvs, row.visit_id) != mdtrt_id:
        raise refuse("E2208-003", setl_id=setl_id)
    view = view_of(tx, row)
    r = view.result
    policy = platform.policy(tx, person.admdvs)
    day = row.setl_time.date()
    base = f"benefit.{r.scheme}.{r.category}"

    def described(key: str, fallback: str) -> str:
        param = policy.parameters.get(key)
        return (param.description if param else fallback)[:50]

    cap = policy.value(f"{base}.cap", day, default=None, person_class=r.person_class, hospital_level=r.hospital_level)
    ratio = Decimal(r.ratio_bp) / 10000
    items = [
        ("catalog.ownpay", "全自费（目录外及丙类项目）", r.ownpay, Decimal(1), 0, Decimal(0)),
        ("catalog.price_ceiling", "超限价自付", r.overlimit, Decimal(1), 0, Decimal(0)),
        ("catalog.selfpay_prop", "乙类先行自付", r.preselfpay, Decimal(1), 0, Decimal(0)),
        (f"{base}.deductible", described(f"{base}.deductible", "起付标准"), r.deductible, Decimal(1), 0, Decimal(0)),
        (f"{base}.ratio", described(f"{base}.ratio", "统筹基金支付比例"), r.coinsurance, 1 - ratio, r.fund_pay, ratio),
        (f"{base}.cap", described(f"{base}.cap", "年度最高支付限额"), r.over_cap, Decimal(1), 0, Decimal(0)),
    ]
    out = []
    for code, name, selfpay, selfprop, fund, fundprop in items:
        paysum = cap if code.endswith(".cap") and cap is not None else selfpay + fund
        out.append(
            {
                "setlId": setl_id,
                "mdtrtId": mdtrt_id,
                "psnNo": psn_no,
                "polItemCode": code,
                "polItemName": name,
                "selfPayAmt": Decimal(selfpay) / 100,
                "selfPayProp": selfprop,
                "fundPayAmt": Decimal(fund) / 100,
                "fundPayProp": fundprop,
                "polItemPaySum": Decimal(paysum) / 100,
            }
        )
    return out


# Catalogue downloads (1301–1327) and the queries (1312, 1316–1319) -----------------------------


def parse_ver(text: str) -> int:
    """The HIS's highest version held: digits, optionally after letters ("v0000", "20250601")."""
    digits = re.sub(r"^[A-Za-z_]*", "", text.strip())
    if not digits.isdigit() or len(digits) > 9:
        raise refuse("E1301-001", ver=text, latest="—")
    return int(digits)


def catalogue_download(platform: Platform, tx: Tx, asking: str, infno: str, ver_text: str) -> dict:
    """The file the HIS fetches with 9102: every entry newer than ``ver``, up to the latest."""
    institution_or_refuse(tx, asking)
    after = parse_ver(ver_text)
    latest = tx.reference.latest_version(infno)
    if after > latest:
        raise refuse("E1301-001", ver=ver_text, latest=latest)
    count = tx.reference.count_between(infno, after, latest)
    return {
        "file_qury_no": f"C{infno}-{after}-{latest}",
        "filename": f"{infno}_{after}_{latest}.zip",
        "dld_end_time": (platform.now() + timedelta(days=FILE_DAYS)).date(),
        "dld_endtime": (platform.now() + timedelta(days=FILE_DAYS)).date(),
        "data_cnt": count,
    }


def catalogue_file(tx: Tx, infno: str, after: int, upto: int) -> bytes:
    cols = file_columns(infno)
    rows = [[e.columns.get(c) for c in cols] for e in tx.reference.entries_between(infno, after, upto)]
    return zipped_text(f"{infno}_{after}_{upto}.txt", rows)


def _page(page_num: int, page_size: int) -> tuple[int, int]:
    if page_num < 1 or page_size < 1 or page_size > MAX_PAGE:
        raise refuse("E1312-001", detail=f"page_num={page_num}，page_size={page_size}（每页1–{MAX_PAGE}条）")
    return (page_num - 1) * page_size, page_size


def list_type_of(code: str, entry_type: str | None = None) -> str:
    """The national list_type: from the download the entry came in, else from the code's first letter
    (X/Z 西药中成药, T 中药饮片, C 医用耗材, a digit 医疗服务项目)."""
    if entry_type in PRICED:
        return PRICED[entry_type]
    head = code[:1]
    return {"X": "101", "Z": "101", "T": "102", "C": "301"}.get(head, "201" if head.isdigit() else "105")


MED_CHRGITM = {"101": "09", "102": "10", "103": "09", "106": "10", "201": "05", "301": "08", "105": "14"}


@dataclass(frozen=True)
class CatalogRow:
    item: CatalogItem
    list_type: str
    begndate: date
    enddate: date | None
    vali_flag: str
    ver: int
    loaded_at: datetime | None
    columns: Mapping[str, str]


def catalogue_page(
    tx: Tx,
    *,
    code: str | None,
    name: str | None,
    chrgitm_lv: str | None,
    page_num: int,
    page_size: int,
    with_ceiling: bool = False,
    with_selfpay: bool = False,
) -> tuple[int, list[CatalogRow]]:
    offset, limit = _page(page_num, page_size)
    total, items = tx.reference.items_page(
        code=code,
        name=name,
        chrgitm_lv=chrgitm_lv,
        with_ceiling=with_ceiling,
        with_selfpay=with_selfpay,
        offset=offset,
        limit=limit,
    )
    entries = tx.reference.newest_entries([i.code for i in items])
    rows = []
    for item in items:
        e = entries.get(item.code)
        rows.append(
            CatalogRow(
                item,
                list_type_of(item.code, e.list_type if e else None),
                (e.begndate if e and e.begndate else date(2000, 1, 1)),
                e.enddate if e else None,
                e.vali_flag if e else "1",
                e.ver if e else 0,
                e.loaded_at if e else None,
                e.columns if e else {},
            )
        )
    return total, rows


def matches_page(tx: Tx, *, institution: str | None, medins_code: str | None, code: str | None, page_num, page_size):
    offset, limit = _page(page_num, page_size)
    return tx.reference.matches(
        institution=institution, medins_code=medins_code, med_list_codg=code, offset=offset, limit=limit
    )


# 3301 / 3302 ---------------------------------------------------------------------------------


def add_match(platform: Platform, tx: Tx, asking: str, m: NewMatch) -> int:
    """An institution's own code matched to a national code that is in the catalogue."""
    institution_or_refuse(tx, asking)
    if not tx.care.catalog([m.med_list_codg]):
        raise refuse("E3301-001", code=m.med_list_codg)
    if m.enddate is not None and m.enddate < m.begndate:
        raise refuse("E3301-003", detail=f"{m.begndate} 至 {m.enddate}")
    existing = tx.reference.active_match(asking, m.medins_list_codg, m.list_type)
    if existing is not None:
        raise refuse("E3301-002", medins=m.medins_list_codg, code=existing.med_list_codg)
    return tx.reference.add_match(**asdict(m), institution_code=asking, created_at=platform.now())


def cancel_match(platform: Platform, tx: Tx, asking: str, medins_code: str, list_type: str, code: str) -> None:
    institution_or_refuse(tx, asking)
    existing = tx.reference.active_match(asking, medins_code, list_type)
    if existing is None or existing.med_list_codg != code:
        raise refuse("E3302-001", medins=medins_code, code=code)
    tx.reference.cancel_match(existing.id, platform.now())


# Files: 9101 and 9102 ---------------------------------------------------------------------------


def file_bytes(value: object) -> bytes:
    """``in`` as the SDKs send it: base64 text, or a JSON array of byte values."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, list):
        if not all(isinstance(b, int) and not isinstance(b, bool) and -128 <= b <= 255 for b in value):
            raise refuse("E9101-001", detail="in 应为字节数组或Base64文本")
        return bytes(b & 0xFF for b in value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise refuse("E9101-001", detail="in 不是合法的Base64文本") from None
    raise refuse("E9101-001", detail="in 应为字节数组或Base64文本")


def upload_file(platform: Platform, tx: Tx, asking: str, filename: str, content: bytes) -> dict:
    """Keep an uploaded ZIP (its TXT members are read by the transaction it is for, e.g. 3202)."""
    institution_or_refuse(tx, asking)
    if not content:
        raise refuse("E9101-001", detail="文件为空")
    if len(content) > MAX_FILE_BYTES:
        raise refuse("E9101-001", detail=f"文件超过{MAX_FILE_BYTES // 1024 // 1024}MB")
    try:
        read_zipped_text(content)
    except FileFormatError as exc:
        raise refuse("E9101-001", detail=str(exc)) from None
    number, expires = _keep_file(platform, tx, "F", "upload", asking, filename, content)
    return {"file_qury_no": number, "filename": filename, "fixmedins_code": asking, "dld_endtime": expires}


def keep_result_file(platform: Platform, tx: Tx, institution: str, filename: str, content: bytes) -> str:
    """A file the platform produced for the institution to fetch with 9102 (3202's result)."""
    number, _ = _keep_file(platform, tx, "R", "result", institution, filename, content)
    return number


def _keep_file(
    platform: Platform, tx: Tx, prefix: str, purpose: str, institution: str, filename: str, content: bytes
) -> tuple[str, datetime]:
    """Keep a file for ``FILE_DAYS`` under a new number (29 characters: within the 30 the answer
    allows); the number and when it expires."""
    now = platform.now()
    number = f"{prefix}{secrets.token_hex(14)}"
    expires = now + timedelta(days=FILE_DAYS)
    tx.reference.add_file(
        file_qury_no=number,
        filename=filename,
        institution_code=institution,
        purpose=purpose,
        content=content,
        created_at=now,
        expires_at=expires,
    )
    return number, expires


def uploaded_rows(platform: Platform, tx: Tx, institution: str, file_qury_no: str) -> list[list[str | None]]:
    """The records of a file this institution uploaded with 9101 (for the transaction that names it)."""
    stored = tx.reference.file(file_qury_no)
    if stored is None or stored.institution_code != institution or stored.purpose != "upload":
        raise refuse("E9102-001", file_qury_no=file_qury_no)
    return read_zipped_text(stored.content)


def download_file(
    platform: Platform, tx: Tx, asking: str, file_qury_no: str, filename: str, owner: str
) -> tuple[str, bytes]:
    """A catalogue file (``fixmedins_code`` = ``plc``) or a file kept for this institution."""
    institution_or_refuse(tx, asking)
    m = CATALOGUE_NO.match(file_qury_no)
    if m and owner == PLC:
        infno, after, upto = m.group(1), int(m.group(2)), int(m.group(3))
        if not file_columns(infno) or after > upto or upto > tx.reference.latest_version(infno):
            raise refuse("E9102-001", file_qury_no=file_qury_no)
        return f"{infno}_{after}_{upto}.zip", catalogue_file(tx, infno, after, upto)
    stored = tx.reference.file(file_qury_no)
    if stored is None or stored.expires_at < platform.now():
        raise refuse("E9102-001", file_qury_no=file_qury_no)
    if stored.institution_code != asking or owner not in (asking, PLC):
        raise refuse("E9102-002", file_qury_no=file_qury_no)
    return stored.filename, stored.content


# The agency's import (yibao catalog import) ------------------------------------------------------


def _column(row: Mapping[str, str | None], code: str) -> str | None:
    for key in (code, EXTRA.get(code)):
        v = row.get(key) if key else None
        if v is not None and str(v).strip() != "":
            return str(v).strip()
    return None


def import_catalogue(
    platform: Platform, infno: str, rows: Iterable[Mapping[str, str | None]], *, tx: Tx | None = None
) -> tuple[int, int]:
    """Load one catalogue (a download transaction's entries) as a new version: (version, rows).

    Columns are the spec's file columns by label, plus ``EXTRA``; the first file column is the code.
    For the catalogues the settlement prices by (``PRICED``) each row must carry 收费项目等级, and
    the settlement catalogue takes the row's level, 先行自付比例 and 最高限价 from this version on.
    """
    cols = file_columns(infno) or tuple(label for _, label in query_columns(infno))
    if not cols:
        raise refuse("E1301-002", detail=f"{infno} 不是目录下载交易（可用：{'、'.join(downloads())}、1304）")
    rows = list(rows)
    if not rows:
        raise refuse("E1301-002", detail="文件中没有数据行")
    known = set(cols) | set(EXTRA) | set(EXTRA.values())
    unknown = sorted({k for r in rows for k in r if k not in known})
    if unknown:
        raise refuse("E1301-002", detail=f"不认识的列：{'、'.join(unknown[:5])}")
    name_col = next(
        (c for c in cols[1:] if c.endswith(("名称", "商品名", "通用名"))), cols[1] if len(cols) > 1 else None
    )
    now = platform.now()
    with platform.unit(tx) as tx:
        ver = tx.reference.latest_version(infno) + 1
        entries, items, seen = [], [], set()
        for n, r in enumerate(rows, start=2):  # line numbers as a spreadsheet shows them
            where = f"第{n}行"
            code = _column(r, cols[0])
            if not code or len(code) > 50:
                raise refuse("E1301-002", detail=f"{where}：{cols[0]}为空或超过50个字符")
            if code in seen:
                raise refuse("E1301-002", detail=f"{where}：编码重复 {code}")
            seen.add(code)
            name = _column(r, "name") or (_column(r, name_col) if name_col else None) or code
            flag = _column(r, "vali_flag") or "1"
            if flag not in ("0", "1"):
                raise refuse("E1301-002", detail=f"{where}：有效标志应为0或1")
            begin, end = _day(r, "begndate", where), _day(r, "enddate", where)
            columns = {c: str(r[c]).strip() for c in cols if r.get(c) not in (None, "")}
            columns.setdefault("版本号", str(ver))
            columns["版本号"] = str(ver)
            columns["版本名称"] = f"{infno}-{ver}"
            entries.append(
                {
                    "list_type": infno,
                    "code": code,
                    "name": name[:200],
                    "ver": ver,
                    "columns": columns,
                    "vali_flag": flag,
                    "begndate": begin,
                    "enddate": end,
                    "loaded_at": now,
                }
            )
            if infno in PRICED:
                items.append(_item(r, code, name[:200], where))
        tx.reference.add_entries(entries)
        for item in items:
            tx.reference.put_item(item)
    return ver, len(entries)


def _day(r: Mapping, code: str, where: str) -> date | None:
    text = _column(r, code)
    if text is None:
        return None
    try:
        return parse_time(text, EXTRA[code]).date()
    except ValueError as exc:
        raise refuse("E1301-002", detail=f"{where}：{exc}") from None


def _item(r: Mapping, code: str, name: str, where: str) -> CatalogItem:
    level = _column(r, "chrgitm_lv")
    if level not in ("01", "02", "03"):
        raise refuse("E1301-002", detail=f"{where}：收费项目等级应为01（甲类）、02（乙类）或03（丙类）")
    try:
        prop = parse_ratio(_column(r, "selfpay_prop") or "0", "先行自付比例")
        ceiling_text = _column(r, "price_ceiling")
        ceiling = parse_price(ceiling_text, "最高限价") if ceiling_text else None
    except (MoneyFormatError, DomainError) as exc:
        raise refuse("E1301-002", detail=f"{where}：{exc}") from None
    return CatalogItem(code, name, level, prop, ceiling)


def ethnic_page(tx: Tx, *, code: str | None, name: str | None, valid: str | None, page_num: int, page_size: int):
    """1304: the 民族药品目录 as loaded (``yibao catalog import 1304``), newest version of each entry."""
    offset, limit = _page(page_num, page_size)
    total, entries = tx.reference.current_entries(
        list_types=("1304",), code=code, name=name, offset=offset, limit=limit
    )
    labels = query_columns("1304")
    rows = []
    for e in entries:
        if valid and e.vali_flag != valid:
            continue
        row = {c: e.columns.get(label) for c, label in labels}
        row.update(
            med_list_codg=e.code,
            vali_flag=e.vali_flag,
            rid=f"{e.code}-{e.ver}",
            ver=str(e.ver),
            begndate=e.begndate,
            enddate=e.enddate,
            crte_time=e.loaded_at,
            updt_time=e.loaded_at,
            opt_time=e.loaded_at,
        )
        rows.append(row)
    return total, rows
