"""Sandbox-only routes: wipe the world, load a case's world, read and move the clock.

Mounted only when the server runs with ``--sandbox``; they let ``yibao cases run --server`` drive
a live server through HTTP alone, as an HIS developer's test rig would.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from yibao.api import schemas as s
from yibao.limits import LATEST_DATE
from yibao.services import jobs, sandbox
from yibao.services.case_file import CaseError
from yibao.services.platform import Platform

router = APIRouter(prefix="/api/v1/sandbox", tags=["沙箱"])


def _platform(request: Request) -> Platform:
    return request.app.state.platform


@router.post("/reset", response_model=s.OkOut, summary="清空沙箱中的全部数据")
def reset(request: Request):
    sandbox.reset(_platform(request))
    return s.OkOut()


@router.get(
    "/world",
    response_model=s.SandboxWorldOut,
    summary="沙箱中现有数据的来源：某个案例文件载入的世界，或其他数据（如 --demo 演示家庭）",
)
def world(request: Request):
    return s.SandboxWorldOut(**sandbox.world_state(_platform(request)))


@router.post("/worlds", response_model=s.WorldOut, status_code=201, summary="载入案例文件描述的世界（不运行步骤）")
def load(body: s.WorldIn, request: Request):
    admdvs, handles = sandbox.load_case_world(_platform(request), body.case_yaml, body.origin, body.policy_text)
    return s.WorldOut(admdvs=admdvs, handles=handles)


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
