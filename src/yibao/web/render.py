"""Templates and the small helpers they use (money, dates, masking, labels)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from yibao import words
from yibao.money import fmt_percent, fmt_yuan
from yibao.web.security import csrf_token

TEMPLATES = Path(__file__).with_name("templates")

env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
)
env.filters["yuan"] = lambda fen: fmt_yuan(int(fen))
env.filters["mask"] = words.mask_name
env.filters["money"] = words.money_text
env.filters["flag"] = words.flag_text
env.filters["num"] = lambda d: format(d.normalize(), "f")
env.filters["pct"] = fmt_percent
env.filters["certmask"] = lambda c: c if len(c) < 10 else f"{c[:6]}********{c[-4:]}"
env.globals.update(
    {name: getattr(words, name) for name in dir(words) if name.isupper()},
    relation_word=words.relation_word,
    policy_value_text=words.policy_value_text,
)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("csrf", csrf_token(request))
    context.setdefault("sandbox", request.app.state.platform.sandbox)
    context["request"] = request
    return HTMLResponse(env.get_template(template).render(**context), status_code=status_code)
