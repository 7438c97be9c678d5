"""Sandbox-only routes: wipe the world, load a case's world, read and move the clock.

Mounted only when the server runs with ``--sandbox``; they let ``yibao cases run --server`` drive
a live server through HTTP alone, as an HIS developer's test rig would.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from yibao.api import schemas as s
from yibao.limits import LATEST_DATE
from yibao.services import jobs
from yibao.services.case_file import CaseError, parse_case
from yibao.services.case_world import load_world
from yibao.services.platform import Platform
from yibao.storage.wipe import holds_data, wipe
from yibao.yamlio import load_yaml_text

router = APIRouter(prefix="/api/v1/sandbox", tags=["沙箱"])


def _platform(request: Request) -> Platform:
    return request.app.state.platform


WORLD_KEY = "sandbox_world"  # settings: the case file whose world the sandbox holds (gone on reset)


@router.post("/reset", response_model=s.OkOut, summary="清空沙箱中的全部数据")
def reset(request: Request):
    p = _platform(request)
    with p.store.uow() as tx:
        wipe(tx, keep_keys=False)
    p._policies.clear()
    p._rsa_key = None
    return s.OkOut()


@router.get(
    "/world",
    response_model=s.SandboxWorldOut,
    summary="沙箱中现有数据的来源：某个案例文件载入的世界，或其他数据（如 --demo 演示家庭）",
)
def world(request: Request):
    p = _platform(request)
    with p.store.uow(read_only=True) as tx:
        return s.SandboxWorldOut(
            holds_data=holds_data(tx), case_origin=tx.config.get(WORLD_KEY), people=tx.people.count()
        )


@router.post("/worlds", response_model=s.WorldOut, status_code=201, summary="载入案例文件描述的世界（不运行步骤）")
def load(body: s.WorldIn, request: Request):
    p = _platform(request)
    try:
        doc = load_yaml_text(body.case_yaml)
    except Exception as exc:
        raise CaseError(body.origin, "", f"YAML 语法错误：{exc}") from exc
    case = parse_case(doc, body.origin)
    if hasattr(p.clock, "set"):
        p.clock.set(case.date)
    handles = load_world(p, case, None, body.origin, policy_text=body.policy_text)
    with p.store.uow() as tx:
        admdvs = tx.config.regions()[0].admdvs
        tx.config.put(WORLD_KEY, body.origin)
    return s.WorldOut(admdvs=admdvs, handles={k: s.HandleOut(**v.__dict__) for k, v in handles.items()})


@router.get("/clock", response_model=s.ClockOut, summary="沙箱时钟")
def clock(request: Request):
    return s.ClockOut(now=_platform(request).now())


@router.post("/clock", response_model=s.ClockOut, summary="拨动沙箱时钟；其间到期的月末、年终作业随之运行")
def move_clock(body: s.ClockIn, request: Request):
    p = _platform(request)
    if not hasattr(p.clock, "set"):
        raise CaseError("clock", "", "服务未使用可拨动的沙箱时钟")
    if body.to.date() > LATEST_DATE:
        raise CaseError("clock", "", f"沙箱时钟最远拨到{LATEST_DATE}")
    if body.to < p.clock.now() - timedelta(minutes=1):
        raise CaseError("clock", "", f"时钟只能向前：{p.clock.now()} → {body.to}")
    p.clock.set(body.to)
    return s.ClockOut(now=body.to, jobs=jobs.run_until(p, body.to))
