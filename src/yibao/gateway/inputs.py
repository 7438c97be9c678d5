"""Input nodes of each transaction as Pydantic models with the national field names.

Extra fields are allowed (HIS systems send many that do not change the result). Validation errors
are turned into one Chinese sentence naming the field path (``druginfo.medfee_sumamt：…``). Values
are read by the shared parsers (``yibao.money``, ``yibao.limits``), which hold the formats and the
bounds; a value beyond its bound is ``E0000-009``, anything else malformed ``E0000-008``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from yibao.errors import DomainError, refuse
from yibao.limits import parse_time, refusal_code
from yibao.money import parse_count, parse_fen, parse_price


def _text(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, int | Decimal):
        return str(v)
    return v.strip() if isinstance(v, str) else v


def _opt_fen(v: Any) -> Any:
    return None if v in (None, "") else parse_fen(v, "金额")


Text = Annotated[str, BeforeValidator(_text)]
Money = Annotated[int, BeforeValidator(lambda v: parse_fen(v, "金额"))]
OptMoney = Annotated[int | None, BeforeValidator(_opt_fen)]
SignedMoney = Annotated[int, BeforeValidator(lambda v: parse_fen(v, "金额", allow_negative=True))]
Price = Annotated[Decimal, BeforeValidator(lambda v: parse_price(v, "单价"))]
Count = Annotated[Decimal, BeforeValidator(lambda v: parse_count(v, "数量", allow_negative=True))]
When = Annotated[datetime, BeforeValidator(lambda v: parse_time(v, "时间"))]
Flag = Annotated[Literal["0", "1"], BeforeValidator(_text)]
CertType = Annotated[Literal["01", "02", "03"], BeforeValidator(_text)]


def code(max_length: int) -> Any:
    return Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=max_length)]


def opt_code(max_length: int) -> Any:
    return Annotated[str, BeforeValidator(_text), Field(max_length=max_length)] | None


class Node(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class PersonQuery(Node):  # 1101 data
    mdtrt_cert_type: CertType
    mdtrt_cert_no: code(50)
    card_sn: opt_code(32) = None
    begntime: When | None = None
    psn_cert_type: opt_code(6) = None
    certno: opt_code(50) = None
    psn_name: opt_code(50) = None


class RegisterIn(Node):  # 2201 data
    psn_no: code(30)
    insutype: code(6)
    begntime: When
    mdtrt_cert_type: CertType
    mdtrt_cert_no: code(50)
    ipt_otp_no: code(30)
    atddr_no: opt_code(30) = None
    dr_name: opt_code(50) = None
    dept_code: opt_code(30) = None
    dept_name: opt_code(100) = None
    caty: opt_code(10) = None


class UnregisterIn(Node):  # 2202 data
    psn_no: code(30)
    mdtrt_id: code(30)
    ipt_otp_no: opt_code(30) = None


class VisitInfoIn(Node):  # 2203 mdtrtinfo
    mdtrt_id: code(30)
    psn_no: code(30)
    med_type: code(6)
    begntime: When | None = None
    main_cond_dscr: opt_code(1000) = None
    dise_codg: opt_code(30) = None
    dise_name: opt_code(300) = None


class DiagnosisIn(Node):  # 2203 / 2401 diseinfo[]
    diag_type: opt_code(3) = None
    diag_srt_no: opt_code(10) = None
    diag_code: code(30)
    diag_name: opt_code(300) = None


class FeeLineIn(Node):  # 2204 feedetail[] / 2301 feedetail[]
    feedetl_sn: code(30)
    mdtrt_id: code(30)
    psn_no: code(30)
    chrg_bchno: opt_code(30) = None
    fee_ocur_time: When | None = None
    med_list_codg: code(50)
    medins_list_codg: opt_code(150) = None
    det_item_fee_sumamt: SignedMoney
    cnt: Count
    pric: Price
    init_feedetl_sn: opt_code(30) = None


class RemoveFeesIn(Node):  # 2205 data
    mdtrt_id: code(30)
    chrg_bchno: code(30)
    psn_no: code(30)


class OutpatientSettleIn(Node):  # 2206 / 2207 data
    psn_no: code(30)
    mdtrt_cert_type: CertType
    mdtrt_cert_no: code(50)
    med_type: code(6)
    medfee_sumamt: Money
    psn_setlway: opt_code(6) = None
    mdtrt_id: code(30)
    chrg_bchno: code(30)
    insutype: code(6)
    acct_used_flag: Flag
    invono: opt_code(20) = None
    fulamt_ownpay_amt: OptMoney = None
    overlmt_selfpay: OptMoney = None
    preselfpay_amt: OptMoney = None
    inscp_scp_amt: OptMoney = None


class CancelIn(Node):  # 2208 / 2103 / 2305 data
    setl_id: code(30)
    mdtrt_id: opt_code(30) = None
    psn_no: code(30)


class DrugInfoIn(Node):  # 2101 / 2102 druginfo
    psn_no: code(30)
    mdtrt_cert_type: CertType
    mdtrt_cert_no: code(50)
    begntime: When
    medfee_sumamt: Money
    insutype: code(6)
    med_type: code(6)
    acct_used_flag: Flag
    invono: opt_code(20) = None
    dise_codg: opt_code(30) = None
    dise_name: opt_code(300) = None


class DrugLineIn(Node):  # 2101 / 2102 drugdetail[]
    feedetl_sn: code(30)
    med_list_codg: code(50)
    medins_list_codg: opt_code(150) = None
    det_item_fee_sumamt: Money
    cnt: Count
    pric: Price
    fee_ocur_time: When | None = None
    rxno: opt_code(40) = None


_TYPE_WORDS = {
    "missing": "缺少必填字段",
    "string_type": "应为字符串",
    "list_type": "应为数组",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "too_short": "不能为空",
    "string_too_short": "不能为空",
}


def read(model: type[Node], raw: Any, where: str) -> Any:
    """Validate one node; a failure becomes ``E0000-008`` naming the first wrong field."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise translate(exc, where) from None


def read_list(model: type[Node], raw: Any, where: str, *, min_items: int = 1) -> list[Any]:
    if not isinstance(raw, list):
        raise refuse("E0000-008", detail=f"{where}：应为数组")
    if len(raw) < min_items:
        raise refuse("E0000-008", detail=f"{where}：至少需要{min_items}条")
    return [read(model, item, f"{where}[{i}]") for i, item in enumerate(raw)]


def translate(exc: ValidationError, where: str) -> DomainError:
    err = exc.errors(include_url=False)[0]
    path = ".".join([where, *(str(x) for x in err["loc"])]) if err["loc"] else where
    kind = err["type"]
    if kind in _TYPE_WORDS:
        why = _TYPE_WORDS[kind]
    elif kind == "string_too_long":
        why = f"超过最大长度{err['ctx']['max_length']}"
    elif kind == "literal_error":
        why = f"取值应为 {err['ctx']['expected']}"
    else:
        why = str(err["msg"]).removeprefix("Value error, ")
    return refuse(refusal_code(err.get("ctx", {}).get("error")), detail=f"{path}：{why}")
