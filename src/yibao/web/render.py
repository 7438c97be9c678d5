"""Templates and the small helpers they use (money, dates, masking, labels)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from yibao.lifecycle.model import INSUTYPE_NAMES, PSN_TYPE_NAMES
from yibao.money import fmt_percent, fmt_yuan
from yibao.settlement.explain import BUCKET_NAMES, CATEGORY_NAMES, RELATION_NAMES, mask_name, relation_word
from yibao.web.security import csrf_token

TEMPLATES = Path(__file__).with_name("templates")
MED_TYPES = {
    "11": "普通门诊",
    "12": "门诊挂号",
    "13": "急诊",
    "14": "门诊慢特病",
    "21": "普通住院",
    "22": "外伤住院",
    "24": "急诊转住院",
    "41": "定点药店购药",
}
STATUS = {"settled": "已结算", "cancelled": "已撤销"}
ITEM_CLASSES = {"01": "甲类", "02": "乙类", "03": "自费"}

env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
)
env.filters["yuan"] = lambda fen: fmt_yuan(int(fen))
env.filters["mask"] = mask_name
env.filters["num"] = lambda d: format(d.normalize(), "f")
env.filters["pct"] = fmt_percent
env.filters["certmask"] = lambda c: c if len(c) < 10 else f"{c[:6]}********{c[-4:]}"
env.globals.update(
    INSUTYPE_NAMES=INSUTYPE_NAMES,
    PSN_TYPE_NAMES=PSN_TYPE_NAMES,
    CATEGORY_NAMES=CATEGORY_NAMES,
    BUCKET_NAMES=BUCKET_NAMES,
    RELATION_NAMES=RELATION_NAMES,
    MED_TYPES=MED_TYPES,
    STATUS=STATUS,
    ITEM_CLASSES=ITEM_CLASSES,
    relation_word=relation_word,
)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("csrf", csrf_token(request))
    context.setdefault("sandbox", request.app.state.platform.sandbox)
    context["request"] = request
    return HTMLResponse(env.get_template(template).render(**context), status_code=status_code)
