"""Running case files: load the world, play the steps, compare every expectation to the fen."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from yibao.cases.driver import Driver
from yibao.money import fmt_yuan, parse_fen
from yibao.nhsa.answer import dates_as_text
from yibao.nhsa.envelope import new_msgid, request_envelope
from yibao.services.case_file import Case, CaseError, case_time, load_case_file
from yibao.services.case_world import Handle
from yibao.services.identity import encrypt_password

NOT_YET = "E8001-003"
DATE_ARGS = ("date", "paid_on", "from", "to")  # action arguments that are days


@dataclass
class Outcome:
    path: Path
    name: str
    failures: list[str] = field(default_factory=list)
    steps_run: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures


class StepFailed(Exception):
    pass


@dataclass
class Run:
    case: Case
    driver: Driver
    handles: dict[str, Handle]
    region: str = "000000"
    saved: dict[str, Any] = field(default_factory=dict)
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    # Values --------------------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """``$handle`` → psn_no, ``$handle.certno`` → a credential, ``$name`` → a saved value."""
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, str) or not value.startswith("$"):
            return value
        ref = value[1:]
        name, _, attr = ref.partition(".")
        if name in self.handles:
            handle = self.handles[name]
            if not attr:
                return handle.psn_no
            if attr in ("psn_no", "certno", "card_no", "card_sn", "ec_token"):
                return getattr(handle, attr)
            raise StepFailed(f"{value}：未知的凭证属性 {attr!r}")
        if ref in self.saved:
            return self.saved[ref]
        raise StepFailed(f"{value}：既不是人员也不是已保存的值")

    def psn(self, handle: str) -> str:
        return self.handles[handle].psn_no

    # Steps ---------------------------------------------------------------------------------------

    def nhsa(self, step: dict) -> list[str]:
        infno = str(step["nhsa"])
        inst = str(self.resolve(step.get("fixmedins_code", "")))
        now = self.driver.now()
        msgid = str(self.resolve(step["msgid"])) if step.get("msgid") else new_msgid(inst, now, next(self.seq))
        envelope = request_envelope(
            infno,
            dates_as_text(self.resolve(step.get("input", {}))),
            institution=inst,
            admdvs=self.region,
            now=now,
            msgid=msgid,
            opter="case",
            opter_name="案例运行器",
        )
        if "password" in step:
            envelope["cainfo"] = encrypt_password(self.driver.public_key(), str(step["password"]))
        if "cainfo" in step:
            envelope["cainfo"] = str(step["cainfo"])
        answer = self.driver.call(envelope)
        problems = self.expect(step.get("expect"), answer, default={"infcode": 0})
        for name, path in (step.get("save") or {}).items():
            found, value = lookup(answer, path)
            if not found:
                problems.append(
                    f"save {name}：应答中没有 {path}（infcode={answer.get('infcode')}，{answer.get('err_msg')}）"
                )
            else:
                self.saved[name] = value
        return problems

    def expect(self, expect: dict | None, answer: dict, default: dict) -> list[str]:
        wanted = dict(default)
        if expect:
            if "err_code" in expect or "infcode" in expect or "ok" in expect:
                wanted = {}
            wanted.update(self.resolve(expect))
        if "err_code" in wanted and "infcode" in default:
            wanted.setdefault("infcode", -1)
        if "err_code" in wanted and "ok" in default:
            wanted.setdefault("ok", False)
        problems = []
        code = _err_code(answer)
        if code == NOT_YET:
            return [f"尚不支持（not yet supported）：{answer.get('err_msg')}"]
        for path, want in wanted.items():
            if path == "err_code":
                got: Any = code
                found = True
            else:
                found, got = lookup(answer, path)
            if not found or not same(want, got):
                shown = got if found else "（不存在）"
                extra = f"；err_msg={answer.get('err_msg')}" if answer.get("err_msg") else ""
                problems.append(f"{path}：期望 {want!r}，实际 {shown!r}{extra}")
        return problems

    def balances(self, step: dict) -> list[str]:
        problems = []
        for handle, want in step["balances"].items():
            current, historical = self.driver.balances(self.psn(handle))
            actual = {"current": current, "historical": historical, "total": current + historical}
            for bucket, amount in (want or {}).items():
                if bucket not in actual:
                    problems.append(f"{handle}.{bucket}：未知账户部分（current / historical / total）")
                elif parse_fen(amount, "余额", allow_negative=True) != actual[bucket]:
                    problems.append(f"{handle}.{bucket}：期望 {amount}，实际 {fmt_yuan(actual[bucket])}")
        return problems

    def accumulators(self, step: dict) -> list[str]:
        problems = []
        for handle, by_category in step["accumulators"].items():
            got = self.driver.accumulators(self.psn(handle))
            for category, want in (by_category or {}).items():
                d, f = got.get(category, (0, 0))
                actual = {"deductible_used": d, "fund_paid": f}
                for key, amount in (want or {}).items():
                    if key not in actual:
                        problems.append(f"{handle}.{category}.{key}：未知累计项")
                    elif parse_fen(amount, key) != actual[key]:
                        problems.append(f"{handle}.{category}.{key}：期望 {amount}，实际 {fmt_yuan(actual[key])}")
        return problems

    def clock(self, step: dict) -> list[str]:
        self.driver.clock(case_time(step["clock"]))
        return []

    def action(self, step: dict) -> list[str]:
        name = step["action"]
        args = {}
        for key, value in step.items():
            if key in ("action", "expect", "save"):
                continue
            if key in ("payer", "beneficiary", "holder", "member", "person", "paid_by"):
                args[key] = self.psn(value)
            elif key == "payers":
                args[key] = [self.psn(v) for v in value]
            elif key in DATE_ARGS:
                args[key] = _day_or_as_written(self.resolve(value))
            else:
                args[key] = self.resolve(value)
        result = self.driver.action(name, args).as_dict()
        if result.get("err_code") == NOT_YET:
            return [f"动作 {name} 尚不支持（not yet supported）"]
        problems = self.expect(step.get("expect"), result, default={"ok": True})
        for key, path in (step.get("save") or {}).items():
            self.saved[key] = result.get(path)
        return problems


STEPS: dict[str, Callable[[Run, dict], list[str]]] = {
    "nhsa": Run.nhsa,
    "balances": Run.balances,
    "accumulators": Run.accumulators,
    "clock": Run.clock,
    "action": Run.action,
}


def run_case(path: Path, make_driver: Callable[[], Driver]) -> Outcome:
    try:
        case = load_case_file(path)
    except CaseError as exc:
        return Outcome(path, path.name, [exc.message])
    outcome = Outcome(path, case.name)
    driver = make_driver()
    try:
        try:
            handles = driver.load(case, path.parent, str(path))
        except CaseError as exc:
            outcome.failures.append(exc.message)
            return outcome
        run = Run(case, driver, handles, region=driver.region())
        for i, step in enumerate(case.steps):
            kind = next(k for k in STEPS if k in step)
            try:
                problems = STEPS[kind](run, step)
            except StepFailed as exc:
                problems = [str(exc)]
            outcome.steps_run = i + 1
            if problems:
                outcome.failures += [f"第{i + 1}步（{_describe(kind, step)}）{p}" for p in problems]
                break
    finally:
        driver.close()
    return outcome


def _day_or_as_written(value: Any) -> Any:
    """An action's day in any of the case file's time forms; anything else goes to the platform as
    written, so that a case can check how a bad date is refused."""
    try:
        return case_time(value).date()
    except ValueError:
        return value


def _describe(kind: str, step: dict) -> str:
    return f"{kind} {step[kind]}" if kind in ("nhsa", "action") else kind


_INDEX = re.compile(r"([^\[\]]+)((?:\[\d+\])*)")


def lookup(doc: Any, path: str) -> tuple[bool, Any]:
    """A dotted path with list indexes (``output.result[1].preselfpay_amt``) into a response."""
    cur = doc
    for part in path.split("."):
        m = _INDEX.fullmatch(part)
        if m is None or not isinstance(cur, dict) or m[1] not in cur:
            return False, None
        cur = cur[m[1]]
        for idx in re.findall(r"\[(\d+)\]", m[2]):
            if not isinstance(cur, list) or int(idx) >= len(cur):
                return False, None
            cur = cur[int(idx)]
    return True, cur


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


def same(want: Any, got: Any) -> bool:
    """Numbers in a response compare by value (to the fen); text compares as text."""
    if isinstance(got, bool) or isinstance(want, bool):
        return want is got or want == got
    if isinstance(got, int | Decimal):
        w = _number(want)
        return w is not None and w == Decimal(got)
    if got is None:
        return want is None
    return str(want) == str(got)


def _err_code(answer: dict) -> str | None:
    if "err_code" in answer:
        return answer["err_code"]
    m = re.match(r"\[([A-Z]\d{4}-\d{3})\]", str(answer.get("err_msg") or ""))
    return m[1] if m else None
