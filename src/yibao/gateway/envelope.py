"""The national request and response envelopes (``spec/nhsa-gateway.md`` → Transport).

Numbers arrive and leave as ``Decimal``: requests are parsed with ``parse_float=Decimal`` and answers
are written by simplejson, so ``300.00`` stays ``300.00`` on the wire.
"""

from __future__ import annotations

import itertools
import random
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import simplejson

from yibao.errors import DomainError, refuse

REQUIRED = (
    "infno",
    "msgid",
    "mdtrtarea_admvs",
    "recer_sys_code",
    "infver",
    "opter_type",
    "opter",
    "opter_name",
    "inf_time",
    "fixmedins_code",
    "fixmedins_name",
    "input",
)
OPTIONAL = (
    "insuplc_admdvs",
    "dev_no",
    "dev_safe_info",
    "cainfo",
    "signtype",
    "sign_no",
    "fixmedins_soft_fcty",
    "enc_type",
    "serv_code",
    "serv_sign",
)
MAX_LEN = {
    "infno": 6,
    "msgid": 30,
    "mdtrtarea_admvs": 6,
    "insuplc_admdvs": 6,
    "recer_sys_code": 10,
    "dev_no": 100,
    "dev_safe_info": 2000,
    "cainfo": 1024,
    "signtype": 10,
    "infver": 6,
    "opter_type": 3,
    "opter": 30,
    "opter_name": 50,
    "inf_time": 19,
    "fixmedins_code": 30,
    "fixmedins_name": 200,
    "sign_no": 30,
}

_serial = itertools.count(random.randrange(10**8))


def parse_body(body: bytes | str) -> Any:
    """JSON text → Python with Decimal numbers; refuses anything that is not JSON, and text no
    database can store (NUL, lone UTF-16 surrogates from ``\ud800`` escapes)."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        doc = simplejson.loads(text, use_decimal=True)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise refuse("E0000-001", detail=str(exc)[:120]) from exc
    where = unstorable(doc)
    if where is not None:
        raise refuse("E0000-002", detail=f"{where} 含有无法保存的字符（NUL、孤立代理项）或嵌套过深")
    return doc


_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: Any, path: str = "报文", depth: int = 0) -> str | None:
    """Where the first string with a NUL or a lone surrogate is, or None."""
    if depth > 64:
        return path
    if isinstance(value, str):
        return path if _BAD_TEXT.search(value) else None
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and _BAD_TEXT.search(k):
                return path
            found = unstorable(v, f"{path}.{k}", depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = unstorable(v, f"{path}[{i}]", depth + 1)
            if found:
                return found
    return None


def check_envelope(doc: Any) -> dict[str, Any]:
    """A well-formed envelope, or the first thing wrong with it (named, in Chinese)."""
    if not isinstance(doc, dict):
        raise refuse("E0000-002", detail="报文应为JSON对象")
    for name in REQUIRED:
        if name not in doc or doc[name] is None or doc[name] == "":
            raise refuse("E0000-002", detail=f"缺少必填字段 {name}")
    for name in (*REQUIRED, *OPTIONAL):
        value = doc.get(name)
        if value is None or name == "input":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise refuse("E0000-002", detail=f"字段 {name} 应为字符串")
        if name in MAX_LEN and len(str(value)) > MAX_LEN[name]:
            raise refuse("E0000-002", detail=f"字段 {name} 超过最大长度 {MAX_LEN[name]}")
    if not isinstance(doc["input"], dict):
        raise refuse("E0000-002", detail="input 应为JSON对象")
    try:
        datetime.strptime(str(doc["inf_time"]), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise refuse("E0000-002", detail="inf_time 应为 yyyy-MM-dd HH:mm:ss") from None
    return {k: (str(v) if k != "input" and v is not None else v) for k, v in doc.items()}


def respond(
    admdvs: str, received: datetime, output: Any = None, error: DomainError | None = None, *, now: datetime
) -> dict[str, Any]:
    return {
        "infcode": -1 if error else 0,
        "inf_refmsgid": f"{admdvs[:6]:0<6}{now:%Y%m%d%H%M%S}{next(_serial) % 10**10:010d}",
        "refmsg_time": _stamp(received),
        "respond_time": _stamp(now),
        "err_msg": error.err_msg if error else "",
        "warn_msg": "",
        "cainfo": "",
        "signtype": "",
        "output": {} if error or output is None else output,
    }


def _stamp(t: datetime) -> str:
    return f"{t:%Y%m%d%H%M%S}{t.microsecond // 1000:03d}"


def dumps(answer: dict[str, Any]) -> str:
    return simplejson.dumps(answer, use_decimal=True, ensure_ascii=False)


def request_envelope(
    infno: str,
    inp: dict[str, Any],
    *,
    institution: str,
    admdvs: str,
    now: datetime,
    msgid: str,
    cainfo: str = "",
    sign_no: str = "",
    opter: str = "yibao",
    opter_name: str = "yibao",
    institution_name: str | None = None,
) -> dict[str, Any]:
    """A request envelope as an HIS sends it, every required field filled (for the case runner, the
    demo, benchmarks and tests — and for anyone writing an HIS client in Python)."""
    return {
        "infno": infno,
        "msgid": msgid,
        "mdtrtarea_admvs": admdvs,
        "insuplc_admdvs": admdvs,
        "recer_sys_code": "YBXT",
        "dev_no": "",
        "dev_safe_info": "",
        "cainfo": cainfo,
        "signtype": "",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": opter,
        "opter_name": opter_name,
        "inf_time": f"{now:%Y-%m-%d %H:%M:%S}",
        "fixmedins_code": institution,
        "fixmedins_name": institution_name or institution,
        "sign_no": sign_no,
        "input": inp,
    }


def new_msgid(institution: str, now: datetime, serial: int) -> str:
    """The national shape: institution code (12) + yyyyMMddHHmmss (14) + serial (4)."""
    return f"{institution[:12]:0<12}{now:%Y%m%d%H%M%S}{serial % 10000:04d}"
