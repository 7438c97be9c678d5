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
from yibao.limits import national_time
from yibao.nhsa.reader import is_empty

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

_KNOWN = frozenset((*MAX_LEN, *REQUIRED, *OPTIONAL))

_serial = itertools.count(random.randrange(10**8))


def parse_body(body: bytes | str, charset: str | None = None) -> Any:
    """JSON text → Python with Decimal numbers; refuses anything that is not JSON, and text no
    database can store (NUL, lone UTF-16 surrogates from ``\\ud800`` escapes).

    Bytes are decoded with the declared ``charset``; without one, as UTF-8, and as GB18030 (which
    covers GBK and GB2312, still common in older HIS) when they are not valid UTF-8.
    """
    try:
        text = decode_body(body, charset) if isinstance(body, bytes) else body
        doc = simplejson.loads(text, use_decimal=True)
    except (UnicodeDecodeError, LookupError, ValueError, RecursionError) as exc:
        raise refuse("E0000-001", detail=str(exc)[:120]) from exc
    where = unstorable(doc)
    if where is not None:
        raise refuse("E0000-002", detail=f"{where} 含有无法保存的字符（NUL、孤立代理项）或嵌套过深")
    return doc


GB_CHARSETS = {"gbk", "gb2312", "gb18030", "cp936", "x-gbk", "gb_2312-80"}


def decode_body(body: bytes, charset: str | None = None) -> str:
    name = (charset or "").strip().strip('"').lower()
    if name in GB_CHARSETS:
        return body.decode("gb18030")
    if name and name not in ("utf-8", "utf8"):
        return body.decode(name)
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return body.decode("gb18030")


def is_gb(body: bytes, charset: str | None) -> bool:
    """Whether a request came in a GB encoding (declared, or detected as not UTF-8): answer in kind."""
    name = (charset or "").strip().strip('"').lower()
    if name:
        return name in GB_CHARSETS
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


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
    """A well-formed envelope, or the first thing wrong with it (named, in Chinese).

    Empty means absent here as everywhere: ``""``, ``"null"`` and JSON null in an optional field are
    dropped (``None``); in a required field they are refused with the field's name. ``input`` may be
    an object or the JSON text of one; any other text is kept as it is (an encrypted ``input``,
    which only an institution registered for the SM4 variant may send — the dispatcher decides).
    """
    if not isinstance(doc, dict):
        raise refuse("E0000-002", detail="报文应为JSON对象")
    for name in REQUIRED:
        if name not in doc or is_empty(doc[name]) or doc[name] == {}:
            if name == "input" and doc.get(name) == {}:
                continue
            raise refuse("E0000-002", detail=f"缺少必填字段 {name}")
    out: dict[str, Any] = {}
    for name, value in doc.items():
        if name == "input":
            continue
        if isinstance(value, str):
            text = value.strip()
            if is_empty(text):
                out[name] = None
                continue
            if name not in _KNOWN:
                out[name] = value  # a regional extra, kept as sent
                continue
        elif value is None:
            out[name] = None
            continue
        elif name not in _KNOWN:
            out[name] = value  # a regional extra, kept as sent
            continue
        elif isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise refuse("E0000-002", detail=f"字段 {name} 应为字符串")
        else:
            text = str(value).strip()
        limit = MAX_LEN.get(name)
        if limit is not None and len(text) > limit:
            raise refuse("E0000-002", detail=f"字段 {name} 超过最大长度 {limit}")
        out[name] = text
    out["input"] = _input(doc["input"])
    try:
        if len(out["inf_time"]) != 19 or national_time(out["inf_time"]) is None:
            datetime.strptime(out["inf_time"], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise refuse("E0000-002", detail="inf_time 应为 yyyy-MM-dd HH:mm:ss") from None
    return out


def _input(value: Any) -> Any:
    """``input`` as an object; a JSON-encoded object (as some clients send it) is decoded."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                decoded = simplejson.loads(text, use_decimal=True)
            except (ValueError, RecursionError):
                raise refuse("E0000-002", detail="input 是字符串但不是合法的JSON对象") from None
            where = unstorable(decoded, "input")
            if where is not None:
                raise refuse("E0000-002", detail=f"{where} 含有无法保存的字符（NUL、孤立代理项）或嵌套过深")
            if isinstance(decoded, dict):
                return decoded
        return text  # perhaps SM4 ciphertext
    raise refuse("E0000-002", detail="input 应为JSON对象")


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


def dumps(answer: Any) -> str:
    """``simplejson.dumps(answer, use_decimal=True, ensure_ascii=False)``, the same text, faster."""
    return _ANSWER.encode(answer)


def dumps_sorted(value: Any) -> str:
    """``simplejson.dumps(value, sort_keys=True, use_decimal=True, ensure_ascii=False)``, faster."""
    return _SORTED.encode(value)


def _as_simplejson(o: Any) -> Any:
    """What ``namedtuple_as_object`` and ``tuple_as_array`` would have made of ``o``. simplejson asks
    every object that is not a str, number, list or dict for an ``_asdict`` before it looks at
    Decimals, a costly failed lookup per amount; the two encoders below skip it and come here,
    after the Decimals, for what it was for."""
    asdict = getattr(o, "_asdict", None)
    if asdict is not None and callable(asdict):
        return asdict()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


_FAST = dict(namedtuple_as_object=False, tuple_as_array=False, default=_as_simplejson)
_ANSWER = simplejson.JSONEncoder(use_decimal=True, ensure_ascii=False, **_FAST)
_SORTED = simplejson.JSONEncoder(use_decimal=True, ensure_ascii=False, sort_keys=True, **_FAST)


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
