"""【1201】机构信息, 【1901】字典, 【100001】政策项, 【1312】【1316】–【1319】目录查询, 【1301】–【1327】目录下载,
【3301】【3302】目录对照, 【9101】【9102】文件上传下载.

The catalogue queries answer their rows the way the national platform does: the page's rows under
``data`` with ``recordCounts``/``pageNum``/``pageSize``/``pages``; the edition's table puts the row's
fields directly under ``output``, so the first row is also there (every field, typed).
"""

from __future__ import annotations

import base64
from datetime import datetime, time
from decimal import Decimal

from yibao.care.reference import NewMatch
from yibao.errors import refuse
from yibao.gateway.registry import Call, transaction
from yibao.nhsa.answer import shape_row
from yibao.services import reference as ref
from yibao.services.care import institution_or_refuse
from yibao.services.platform import Platform


@transaction("1201", "医药机构信息获取", writes=False)
def institution_info(p: Platform, call: Call, tx) -> dict:
    d = call.read("medinsinfo")
    return {
        "medinsinfo": ref.institution_info(tx, call.institution, d.fixmedins_type, d.fixmedins_name, d.fixmedins_code)
    }


@transaction(
    "1901", "字典表查询", writes=False, filled=("data.parent_value", "data.admdvs", "data.date", "data.Vali_Flag")
)
def dictionary(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    day = d.date or p.now().date()
    return {"list": ref.dictionary_rows(call.dictionary, d.type, d.parent_value, d.Vali_Flag, day)}


@transaction("100001", "政策项查询", writes=False)
def policy_items(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    items = ref.policy_items(p, tx, call.institution, d.psn_No, d.setl_Id, d.mdtrt_Id)
    node = call.spec.outputs[0]
    rows = [shape_row(node, r) for r in items]
    return {**rows[0], "polItemList": rows}


# Catalogue downloads: the answer names the file; the HIS fetches it with 9102 (fixmedins_code plc).


def _download(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    out = ref.catalogue_download(p, tx, call.institution, call.infno, d.ver)
    node = call.spec.outputs[0]
    deadline = "dld_end_time" if node.field("dld_end_time") else "dld_endtime"
    keep = ("file_qury_no", "filename", "data_cnt", deadline)
    return {k: out[k] for k in keep}


for _infno in ref.downloads():
    transaction(_infno, f"目录下载 {_infno}", writes=False)(_download)


def _paged(call: Call, total: int, rows: list[dict], page_num: int, page_size: int) -> dict:
    node = call.spec.outputs[0]
    shaped = [shape_row(node, r) for r in rows]
    pages = (total + page_size - 1) // page_size
    first = shaped[0] if shaped else {}
    return {**first, "data": shaped, "recordCounts": total, "pageNum": page_num, "pageSize": page_size, "pages": pages}


def _stamp(row: ref.CatalogRow, poolarea: str) -> dict:
    updated = row.loaded_at or datetime.combine(row.begndate, time.min)
    return {
        "insu_admdvs": poolarea,
        "begndate": row.begndate,
        "enddate": row.enddate,
        "vali_flag": row.vali_flag,
        "rid": f"{row.item.code}-{row.ver}",
        "updt_time": updated.date(),
        "crte_time": updated.date(),
        "crter_name": "yibao",
        "poolarea_no": poolarea,
    }


def _query(p: Platform, call: Call, tx, **kw) -> tuple:
    d = call.read("data")
    inst = institution_or_refuse(tx, call.institution)
    total, rows = ref.catalogue_page(
        tx,
        code=d.hilist_code,
        name=d.get("hilist_name"),
        chrgitm_lv=d.get("chrgitm_lv"),
        page_num=d.page_num,
        page_size=d.page_size,
        **kw,
    )
    return d, inst, total, rows


@transaction("1304", "民族药品目录查询", writes=False, filled=("data.updt_time",))
def ethnic(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    institution_or_refuse(tx, call.institution)
    name = d.get("drug_genname") or d.get("drug_prodname")
    total, rows = ref.ethnic_page(
        tx, code=d.med_list_codg, name=name, valid=d.vali_flag, page_num=d.page_num, page_size=d.page_size
    )
    return _paged(call, total, rows, d.page_num, d.page_size)


@transaction("1312", "医保目录信息查询", writes=False, filled=("data.updt_time",))
def catalogue(p: Platform, call: Call, tx) -> dict:
    d, inst, total, rows = _query(p, call, tx)
    out = []
    for r in rows:
        out.append(
            {
                **_stamp(r, inst.admdvs),
                "hilist_code": r.item.code,
                "hilist_name": r.item.name,
                "med_chrgitm_type": r.columns.get("收费项目类别") or ref.MED_CHRGITM.get(r.list_type, "14"),
                "chrgitm_lv": r.item.chrgitm_lv,
                "lmt_used_flag": "1" if r.columns.get("限制使用范围") else "0",
                "list_type": r.list_type,
                "med_use_flag": "1",
                "matn_used_flag": "1",
                "hilist_use_type": "1",
                "lmt_cpnd_type": "1",
                "memo": f"先行自付比例{Decimal(r.item.selfpay_bp) / 100}%" if r.item.selfpay_bp else "",
            }
        )
    return _paged(call, total, out, d.page_num, d.page_size)


@transaction("1316", "医疗目录与医保目录匹配信息查询", writes=False, filled=("data.updt_time",))
def national_match(p: Platform, call: Call, tx) -> dict:
    """The platform prices by national codes: every catalogue item is matched to itself."""
    d = call.read("data")
    inst = institution_or_refuse(tx, call.institution)
    code = d.hilist_code or d.med_list_codg
    if d.hilist_code and d.med_list_codg and d.hilist_code != d.med_list_codg:
        return _paged(call, 0, [], d.page_num, d.page_size)
    total, rows = ref.catalogue_page(
        tx, code=code, name=None, chrgitm_lv=None, page_num=d.page_num, page_size=d.page_size
    )
    out = [
        {**_stamp(r, inst.admdvs), "med_list_codg": r.item.code, "hilist_code": r.item.code, "list_type": r.list_type}
        for r in rows
    ]
    return _paged(call, total, out, d.page_num, d.page_size)


@transaction("1317", "医药机构目录匹配信息查询", writes=False, filled=("data.updt_time",))
def institution_match(p: Platform, call: Call, tx) -> dict:
    """The asking institution's own matches (3301); another institution's are not shown."""
    d = call.read("data")
    inst = institution_or_refuse(tx, call.institution)
    if d.fixmedins_code and d.fixmedins_code != call.institution:
        raise refuse("E1317-001", code=d.fixmedins_code)
    total, rows = ref.matches_page(
        tx,
        institution=call.institution,
        medins_code=d.medins_list_codg,
        code=d.med_list_codg,
        page_num=d.page_num,
        page_size=d.page_size,
    )
    out = []
    for m in rows:
        out.append(
            {
                **m.info,
                "fixmedins_code": m.institution_code,
                "medins_list_codg": m.medins_list_codg,
                "medins_list_name": m.medins_list_name,
                "insu_admdvs": inst.admdvs,
                "list_type": m.list_type,
                "med_list_codg": m.med_list_codg,
                "begndate": m.begndate,
                "enddate": m.enddate,
                "vali_flag": "1" if m.cancelled_at is None else "0",
                "rid": f"M{m.id}",
                "updt_time": (m.cancelled_at or m.created_at).date(),
                "crte_time": m.created_at.date(),
                "crte_optins_no": m.institution_code,
                "poolarea_no": inst.admdvs,
            }
        )
    return _paged(call, total, out, d.page_num, d.page_size)


@transaction("1318", "医保目录限价信息查询", writes=False, filled=("data.updt_time",))
def price_limits(p: Platform, call: Call, tx) -> dict:
    """Each item with a 限价; the ceiling applies at every hospital level, the excess is the patient's
    (超限价自付, ``overlmt_dspo_way`` 1)."""
    d, inst, total, rows = _query(p, call, tx, with_ceiling=True)
    out = [
        {
            **_stamp(r, inst.admdvs),
            "hilist_code": r.item.code,
            "hilist_lmtpric_type": d.get("hilist_lmtpric_type") or "3",
            "overlmt_dspo_way": "1",
            "hilist_pric_uplmt_amt": r.item.price_ceiling,
            "tabname": "catalog_items",
        }
        for r in rows
    ]
    return _paged(call, total, out, d.page_num, d.page_size)


@transaction("1319", "医保目录先自付比例信息查询", writes=False, filled=("data.updt_time",))
def selfpay_ratios(p: Platform, call: Call, tx) -> dict:
    """Each 乙类 item with a 先行自付比例 (one ratio for every insurance type)."""
    d, inst, total, rows = _query(p, call, tx, with_selfpay=True)
    out = [
        {
            **_stamp(r, inst.admdvs),
            "hilist_code": r.item.code,
            "selfpay_prop_psn_type": d.get("selfpay_prop_psn_type") or "310",
            "selfpay_prop_type": "10",
            "selfpay_prop": Decimal(r.item.selfpay_bp) / 10000,
            "tabname": "catalog_items",
        }
        for r in rows
    ]
    return _paged(call, total, out, d.page_num, d.page_size)


@transaction("3301", "目录对照上传")
def match_upload(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    extra = ("aprvno", "dosform", "exct_cont", "item_cont", "prcunt", "spec", "pacspec", "memo")
    info = {k: d.get(k) for k in extra if d.get(k) is not None}
    match = NewMatch(
        medins_list_codg=d.fixmedins_hilist_id,
        medins_list_name=d.fixmedins_hilist_name,
        list_type=d.list_type,
        med_list_codg=d.med_list_codg,
        begndate=d.begndate,
        enddate=d.enddate,
        info=info,
    )
    ref.add_match(p, tx, call.institution, match)
    return {}


@transaction("3302", "目录对照撤销")
def match_cancel(p: Platform, call: Call, tx) -> dict:
    d = call.read(None)
    if d.fixmedins_code != call.institution:
        raise refuse("E1317-001", code=d.fixmedins_code)
    ref.cancel_match(p, tx, call.institution, d.fixmedins_hilist_id, d.list_type, d.med_list_codg)
    return {}


@transaction("9101", "文件上传")
def upload(p: Platform, call: Call, tx) -> dict:
    d = call.read("fsUploadIn")
    if d.fixmedins_code != call.institution:
        raise refuse("E9102-002", file_qury_no=d.filename)
    return ref.upload_file(p, tx, call.institution, d.filename, ref.file_bytes(d.get("in")))


@transaction("9102", "文件下载", writes=False)
def download(p: Platform, call: Call, tx) -> dict:
    """The file travels as bytes over HTTP (application/octet-stream); in the JSON answer it is Base64."""
    d = call.read("fsDownloadIn")
    name, content = ref.download_file(p, tx, call.institution, d.file_qury_no, d.filename, d.fixmedins_code)
    return {"file_qury_no": d.file_qury_no, "filename": name, "file": base64.b64encode(content).decode("ascii")}
