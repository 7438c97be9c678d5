"""【3501】–【3513】定点药店进销存: 盘存, 库存变更, 采购与退货, 销售与退货 (with 追溯码), 删除, 查询.

Quantities typed 16,2 in this edition (``inv_cnt``) are read as hundredths and kept exact. The
queries' ``output`` node is one row in the edition's table: the first row is there, every row under
``list`` (``total`` how many).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal

from yibao.gateway.registry import Call, transaction
from yibao.nhsa.answer import shape_row
from yibao.nhsa.reader import Row, check_same
from yibao.services import stock as svc
from yibao.services.platform import Platform


def _info(row: Row) -> dict:
    return {k: row.get(k) for k in row if k != "drugtracinfo"}


def _trace(row: Row) -> list[str]:
    return [t.drug_trac_codg for t in (row.get("drugtracinfo") or []) if t.get("drug_trac_codg")]


def _move(call: Call, row: Row, kind: str, quantity: Decimal, at, **extra) -> svc.Movement:
    return svc.Movement(
        kind,
        row.fixmedins_bchno,
        row.med_list_codg,
        row.fixmedins_hilist_id,
        row.fixmedins_hilist_name,
        quantity,
        at,
        _info(row),
        trace=_trace(row) if "drugtracinfo" in row else (),
        **extra,
    )


@transaction("3501", "商品盘存上传")
def count(p: Platform, call: Call, tx) -> dict:
    d = call.read("invinfo")
    svc.record(p, tx, call.institution, _move(call, d, "count", Decimal(d.inv_cnt) / 100, _at(d.invdate)))
    return {}


@transaction("3502", "商品库存变更")
def change(p: Platform, call: Call, tx) -> dict:
    d = call.read("invinfo")
    mv = _move(call, d, "change", d.cnt, _at(d.inv_chg_time), price=d.pric, change_type=d.inv_chg_type)
    svc.record(p, tx, call.institution, mv)
    return {}


@transaction("3503", "商品采购")
def purchase(p: Platform, call: Call, tx) -> dict:
    d = call.read("purcinfo")
    mv = _move(call, d, "purchase", d.purc_retn_cnt, _at(d.purc_retn_stoin_time), price=d.finl_trns_pric)
    svc.record(p, tx, call.institution, mv)
    return {}


@transaction("3504", "商品采购退货")
def purchase_return(p: Platform, call: Call, tx) -> dict:
    d = call.read("purcinfo")
    mv = _move(call, d, "purchase_return", d.purc_retn_cnt, _at(d.purc_retn_stoin_time), price=d.finl_trns_pric)
    svc.record(p, tx, call.institution, mv)
    return {}


def _sale_move(p: Platform, call: Call, tx, kind: str) -> dict:
    """A sale (3505) or its return (3506): the same node, tied to the settlement it was paid by."""
    d = call.read("selinfo")
    at = _at(d.sel_retn_time)
    mv = _move(call, d, kind, d.sel_retn_cnt, at, price=d.finl_trns_pric, setl_id=d.setl_id, psn_no=d.psn_no)
    svc.record(p, tx, call.institution, mv)
    return {}


@transaction("3505", "商品销售")
def sale(p: Platform, call: Call, tx) -> dict:
    return _sale_move(p, call, tx, "sale")


@transaction("3506", "商品销售退货")
def sale_return(p: Platform, call: Call, tx) -> dict:
    return _sale_move(p, call, tx, "sale_return")


@transaction("3507", "商品信息删除")
def delete(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    svc.delete(p, tx, call.institution, d.fixmedins_bchno, d.inv_data_type)
    return {}


def _at(value):
    return (
        value
        if isinstance(value, datetime)
        else datetime.combine(value, time.min)
        if isinstance(value, date)
        else value
    )


# Queries ------------------------------------------------------------------------------------------------


def _query(call: Call, tx, kinds: tuple[str, ...], *, need_keys: bool = True) -> tuple:
    d = call.read("data")
    check_same("data.fixmedins_code", "定点医药机构编号", d.fixmedins_code, call.institution)
    begin, end = d.get("begndate"), d.get("enddate")
    found = svc.moves_between(
        tx,
        call.institution,
        kinds,
        begin or date(1900, 1, 1),
        end or date(2199, 12, 31),
        medins_list_codg=d.get("medins_list_codg"),
        batch=d.get("fixmedins_bchno"),
        med_list_codg=d.get("med_list_codg"),
    )
    return d, found


def _answer(call: Call, rows: list[dict]) -> dict:
    node = call.spec.outputs[0]
    codes = {f.code for f in node.fields}
    shaped = [{k: v for k, v in shape_row(node, r).items() if k in codes} for r in rows]
    return {"output": shaped[0] if shaped else {}, "list": shaped, "total": len(shaped)}


def _common(m, inst: str) -> dict:
    return {
        "fixmedinsCode": inst,
        "medListCodg": m.med_list_codg,
        "medinsListCodg": m.medins_list_codg,
        "medinsListName": m.name,
        "fixmedinsBchno": m.batch,
        "rxFlag": m.info.get("rx_flag"),
        "trdnFlag": m.info.get("trdn_flag"),
        "manuLotnum": m.info.get("manu_lotnum"),
        "manuDate": m.info.get("manu_date"),
        "expyEnd": m.info.get("expy_end"),
        "memo": m.info.get("memo"),
        "valiFlag": "1",
        "rid": f"SM{m.id:010d}",
        "crteTime": m.created_at,
        "updtTime": m.created_at,
        "optTime": m.created_at,
    }


@transaction("3508", "定点医药机构商品库存信息查询", writes=False)
def stock_query(p: Platform, call: Call, tx) -> dict:
    """Each batch's stock now (the moves it had in the period decide which batches are listed)."""
    _, found = _query(call, tx, ("count", "change", "purchase", "purchase_return", "sale", "sale_return"))
    rows, seen = [], set()
    for m, _ in found:
        if m.batch in seen:
            continue
        seen.add(m.batch)
        held = svc.held(tx, call.institution, m.batch)
        rows.append({**_common(m, call.institution), "invCnt": held, "invdate": m.at, "medinsProdInvNo": m.batch})
    return _answer(call, rows)


@transaction("3509", "定点医药机构商品库存变更记录查询", writes=False)
def change_query(p: Platform, call: Call, tx) -> dict:
    d, found = _query(call, tx, ("change",))
    rows = [
        {
            **_common(m, call.institution),
            "invChgTime": m.at,
            "invChgType": m.info.get("inv_chg_type"),
            "invChgOpterName": m.info.get("inv_chg_opter_name"),
            "medinsProdInvChgNo": f"SM{m.id:010d}",
            "cnt": abs(m.delta),
            "pric": m.price,
        }
        for m, _ in found
        if not d.get("inv_chg_type") or m.info.get("inv_chg_type") == d.inv_chg_type
    ]
    return _answer(call, rows)


@transaction("3510", "定点医药机构商品采购信息查询", writes=False)
def purchase_query(p: Platform, call: Call, tx) -> dict:
    _, found = _query(call, tx, ("purchase", "purchase_return"))
    rows = [
        {
            **_common(m, call.institution),
            "medinsProdPurcNo": f"SM{m.id:010d}",
            "prodRetnFlag": "1" if m.kind == "purchase_return" else "0",
            "splerName": m.info.get("spler_name"),
            "splerPmtno": m.info.get("spler_pmtno"),
            "prodentpName": m.info.get("prodentp_name"),
            "aprvno": m.info.get("aprvno"),
            "purcInvoCodg": m.info.get("purc_invo_codg"),
            "purcInvoNo": m.info.get("purc_invo_no"),
            "purcRetnStoinTime": m.at,
            "purcRetnOpterName": m.info.get("purc_retn_opter_name"),
            "purcRetnCnt": abs(m.delta),
            "finlTrnsPric": m.price,
            "dyntNo": m.info.get("dynt_no"),
            "prodGeayFlag": m.info.get("prod_geay_flag"),
        }
        for m, _ in found
    ]
    return _answer(call, rows)


@transaction("3511", "定点医药机构商品销售信息查询", writes=False)
def sale_query(p: Platform, call: Call, tx) -> dict:
    d, found = _query(call, tx, ("sale", "sale_return"))
    rows = []
    for m, _ in found:
        if (d.get("setl_id") and m.setl_id != d.setl_id) or (d.get("psn_no") and m.psn_no != d.psn_no):
            continue
        rows.append(
            {
                **_common(m, call.institution),
                "medinsProdSelNo": f"SM{m.id:010d}",
                "setlId": m.setl_id,
                "psnNo": m.psn_no,
                "psnName": m.info.get("psn_name"),
                "psnCertType": m.info.get("psn_cert_type"),
                "certno": m.info.get("certno"),
                "pharName": m.info.get("phar_name"),
                "pharPracCertNo": m.info.get("phar_prac_cert_no"),
                "bilgDrName": m.info.get("prsc_dr_name"),
                "hiFeesetlType": m.info.get("hi_feesetl_type"),
                "selRetnTime": m.at,
                "selRetnCnt": -m.delta,
                "selRetnOpterName": m.info.get("sel_retn_opter_name"),
                "finlTrnsPric": m.price,
            }
        )
    return _answer(call, rows)


@transaction("3592B", "获取虚拟药品追溯码")
def virtual_code(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    number = svc.virtual_trace_code(
        p, tx, call.institution, d.fixmedins_bchno, d.med_list_codg, d.fixmedins_hilist_id, d.fixmedins_hilist_name
    )
    keys = ("med_list_codg", "fixmedins_hilist_id", "fixmedins_hilist_name")
    return {"result": {**{k: d.get(k) for k in keys}, "drug_trac_codg": number}}


@transaction("3512", "定点医药机构入库商品追溯信息查询", writes=False)
def stock_trace_query(p: Platform, call: Call, tx) -> dict:
    d, found = _query(call, tx, ("count", "purchase", "virtual"))
    rows = [
        {**_common(m, call.institution), "drugTracCodg": code, "fixBlngAdmdvs": ""}
        for m, codes in found
        for code in codes
        if not d.get("drug_trac_codg") or code == d.drug_trac_codg
    ]
    return _answer(call, rows)


@transaction("3513", "定点医药机构商品销售追溯信息查询", writes=False)
def sale_trace_query(p: Platform, call: Call, tx) -> dict:
    d, found = _query(call, tx, ("sale", "sale_return"))
    rows = []
    for m, codes in found:
        if d.get("psn_no") and m.psn_no != d.psn_no:
            continue
        for code in codes:
            if d.get("drug_trac_codg") and code != d.drug_trac_codg:
                continue
            rows.append(
                {
                    **_common(m, call.institution),
                    "mdtrtId": m.info.get("mdtrt_sn"),
                    "bkkpSn": f"SM{m.id:010d}",
                    "drugTracCodg": code,
                    "psnNo": m.psn_no,
                    "psnName": m.info.get("psn_name"),
                    "certno": m.info.get("certno"),
                    "fixBlngAdmdvs": "",
                }
            )
    return _answer(call, rows)


# The provincial batch variants (V1.1.25): a list of rows, each handled as its base transaction would,
# all or nothing. Their error-detail nodes stay empty: a refused row refuses the whole message, naming it.


def _rows(call: Call, node: str) -> list[Row]:
    return call.rows(node, min_rows=1)


@transaction("3501A", "商品盘存上传A")
def count_batch(p: Platform, call: Call, tx) -> dict:
    for d in _rows(call, "invinfoDetail"):
        svc.record(p, tx, call.institution, _move(call, d, "count", Decimal(d.inv_cnt) / 100, _at(d.invdate)))
    return {}


@transaction("3502A", "商品库存变更A")
def change_batch(p: Platform, call: Call, tx) -> dict:
    for d in _rows(call, "invinfoDetail"):
        mv = _move(call, d, "change", d.cnt, _at(d.inv_chg_time), price=d.pric, change_type=d.inv_chg_type)
        if d.get("drug_trac_codg"):
            mv = replace(mv, trace=(*mv.trace, d.drug_trac_codg))
        svc.record(p, tx, call.institution, mv)
    return {"invinfoErrDetail": {}}


@transaction("3503A", "商品采购A")
def purchase_batch(p: Platform, call: Call, tx) -> dict:
    rows = _rows(call, "purcinfoDetail")
    for d in rows:
        mv = _move(call, d, "purchase", d.purc_retn_cnt, _at(d.purc_retn_stoin_time), price=d.finl_trns_pric)
        svc.record(p, tx, call.institution, mv)
    return {"purcinfoDetail": _info(rows[0])}


@transaction("3504A", "商品采购退货A")
def purchase_return_batch(p: Platform, call: Call, tx) -> dict:
    for d in _rows(call, "purcinfoDetail"):
        at = _at(d.purc_retn_stoin_time)
        svc.record(
            p, tx, call.institution, _move(call, d, "purchase_return", d.purc_retn_cnt, at, price=d.finl_trns_pric)
        )
    return {"purcinfoErrDetail": {}}


@transaction("3505A", "商品销售A")
def sale_batch(p: Platform, call: Call, tx) -> dict:
    rows = _rows(call, "selinfoDetail")
    for d in rows:
        mv = _move(call, d, "sale", d.sel_retn_cnt, _at(d.sel_retn_time), price=d.finl_trns_pric, setl_id=d.setl_id,
                   psn_no=d.psn_no)  # fmt: skip
        svc.record(p, tx, call.institution, mv)
    return {"selinfoDetail": _info(rows[0])}


@transaction("3506A", "商品销售退货A")
def sale_return_batch(p: Platform, call: Call, tx) -> dict:
    for d in _rows(call, "selinfoDetail"):
        mv = _move(call, d, "sale_return", d.sel_retn_cnt, _at(d.sel_retn_time), price=d.finl_trns_pric,
                   setl_id=d.setl_id, psn_no=d.psn_no)  # fmt: skip
        svc.record(p, tx, call.institution, mv)
    return {"selinfoErrDetail": {}}


@transaction("3507A", "商品信息删除A")
def delete_batch(p: Platform, call: Call, tx) -> dict:
    for d in _rows(call, "goodDetail"):
        svc.delete(p, tx, call.institution, d.fixmedins_bchno, d.inv_data_type)
    return {"goodErrDetail": {}}
