"""One entry point for every transaction: envelope in, envelope out, keyed by ``infno``.

Each transaction module registers its handlers with ``@transaction`` (``gateway.registry``; every
module of this package is found and imported at start-up): a handler plus its table (``nhsa.spec``),
never a hand-written field list. A handler reads its input nodes with
``call.read``/``call.rows`` (the one table-driven reader, ``nhsa.reader``) and calls one service
function inside the transaction the dispatcher opened; the answer is shaped from the same table
(``nhsa.answer``); the same
transaction records the message (institution, ``msgid``, digest of the input, the answer), so a
settlement and the record that it was answered commit together or not at all. Resending a
``msgid`` with the same input returns the recorded answer and changes nothing; with a different
input it is refused. Every refusal is ``infcode -1`` with ``[code] 中文原因`` and writes nothing
(a wrong password's failure count is the one exception, kept on purpose).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import simplejson

from yibao.care.messages import TOMBSTONE, Message
from yibao.errors import DomainError, InternalError, StoreUnavailable, StoreValueRefused, refuse
from yibao.gateway.registry import TRANSACTIONS, Call, Transaction, load_handlers
from yibao.nhsa.answer import shape
from yibao.nhsa.dictionary import NATIONAL, Dictionary, policy_extension
from yibao.nhsa.envelope import check_envelope, dumps, dumps_sorted, respond
from yibao.nhsa.spec import national_dictionaries
from yibao.services import messages, views
from yibao.services.care import institution_or_refuse
from yibao.services.gateway_access import Access, access, institution_of_api_key, recently_proven
from yibao.services.platform import Platform

log = logging.getLogger("yibao.gateway")
NO_SIGN_IN = {"9001", "1162"}


def prepare() -> None:
    """Load the handlers and parse the field tables once, before the first request (the tables are a
    megabyte of JSON: parsed lazily, concurrent first calls would each parse them)."""
    load_handlers()
    for t in TRANSACTIONS.values():
        _ = t.spec
    national_dictionaries()


def digest(infno: str, inp: Any) -> str:
    """What a resend must repeat: the transaction and its input (not times, not the cainfo)."""
    text = dumps_sorted(inp)
    return hashlib.sha256(f"{infno}\n{text}".encode()).hexdigest()


def dispatch(
    p: Platform,
    doc: Any,
    *,
    received: datetime | None = None,
    authenticated: str | None = None,
    path_infno: str | None = None,
    api_key: str | None = None,
) -> dict:
    """Answer one request envelope (already parsed JSON). Never raises.

    ``path_infno``: the transaction number in the URL (``…/callService/2207``), which must agree
    with the envelope's. An institution registered on the SM variant gets its answer encrypted and
    signed once its request could be opened.

    ``api_key``: the caller's API key, not yet checked. A call that writes has it checked against
    the envelope's institution in the unit's first round trip (``_key_in_unit``) — if it has work to
    do before its unit opens (``Transaction.ahead``: a password to decrypt), only when this process
    saw the key prove that institution lately; any other call, here, first — so that a caller
    without a valid key costs no deliberate work and learns nothing of what is wrong with its
    envelope.
    """
    load_handlers()
    received = received or p.now()
    admdvs, call, opened = p.region or "000000", None, [None]
    try:
        try:
            env = check_envelope(doc)
        except DomainError:
            if api_key is not None:
                _institution_of_key(p, api_key)  # a bad key is what such a caller is told
            raise
        admdvs = p.region or env.get("mdtrtarea_admvs") or admdvs  # a region instance answers as itself
        spec = TRANSACTIONS.get(env["infno"])
        if api_key is not None and not _key_in_unit(spec, env, path_infno, api_key):
            authenticated, api_key = _institution_of_key(p, api_key), None
        if path_infno is not None and path_infno != env["infno"]:
            raise refuse("E0000-002", detail=f"URL 中的交易编号 {path_infno} 与报文 infno {env['infno']} 不一致")
        if spec is None:
            raise refuse("E0000-003", infno=env["infno"])
        if authenticated is not None and env["fixmedins_code"] != authenticated:
            raise refuse("E0000-006", detail="报文中的定点医药机构编号与认证身份不一致")
        call = Call(
            env["infno"],
            env["msgid"],
            env["fixmedins_code"],
            env["input"],
            env.get("cainfo"),
            env.get("sign_no"),
            env,
            spec.spec,
            spec.rules,
            strict=p.strict_fields,
            received=received,
            api_key=api_key,
        )
        answer = _apply(p, spec, call, admdvs, received, doc if isinstance(doc, dict) else {}, opened)
        _log(call, "ok" if answer["infcode"] == 0 else "replayed")
        return _sealed(p, answer, opened[0])
    except DomainError as exc:
        _log(call, exc.code)
        return _sealed(p, respond(admdvs, received, error=exc, now=p.now()), opened[0])
    except StoreValueRefused:  # a value past a column's range that no bound caught: refused, and logged to be bounded
        log.warning("value refused by the database in %s", call.infno if call else "?", exc_info=True)
        refused = respond(admdvs, received, error=refuse("E0000-009", detail="取值超出数据库允许的范围"), now=p.now())
        return _sealed(p, refused, opened[0])
    except StoreUnavailable:  # a lock wait gave up or the database went away: the caller may retry
        log.exception("database unavailable in %s", call.infno if call else "?")
        return respond(admdvs, received, error=refuse("E0000-098"), now=p.now())
    except InternalError:  # a broken invariant on money: a bug, logged with its stack, never a refusal
        log.exception("invariant broken in %s", call.infno if call else "?")
        return respond(admdvs, received, error=refuse("E0000-099"), now=p.now())
    except Exception:  # never a stack trace to the caller; the log keeps it
        log.exception("internal error in %s", call.infno if call else "?")
        return respond(admdvs, received, error=refuse("E0000-099"), now=p.now())


def _institution_of_key(p: Platform, api_key: str) -> str:
    institution = institution_of_api_key(p, api_key)
    if institution is None:
        raise refuse("E0000-006", detail="API key 无效")
    return institution


def _key_in_unit(spec: Transaction | None, env: dict, path_infno: str | None, api_key: str) -> bool:
    """Whether the API key can wait for the call's unit of work (``_open``): a known transaction
    that writes, named alike in the URL, with nothing to do ahead of its unit for this input — or,
    if it has (a ``cainfo`` RSA-decrypted there: a deliberate cost nobody unauthenticated may
    cause), a key this process saw prove the envelope's institution lately (``recently_proven``)."""
    if spec is None or not spec.writes or (path_infno is not None and path_infno != env["infno"]):
        return False
    if spec.ahead is None or not env.get("cainfo"):
        return True
    return recently_proven(api_key) == env["fixmedins_code"]


def _sealed(p: Platform, answer: dict, opened: Access | None) -> dict:
    return opened.seal_answer(p, answer) if opened is not None else answer


def _open(p: Platform, tx, call: Call, doc: dict, opened: list) -> Call:
    """The call as the handler sees it: input decrypted for an SM institution, the region's
    dictionary, the password carrier. The variant is the registration's, never the message's."""
    registration = access(p, tx, call.institution, api_key=call.api_key)
    if registration is not None and registration.encrypted:
        inp = registration.open_request(doc)
        opened[0] = registration
        call = replace(call, input=inp, cainfo=call.envelope.get("dev_safe_info"))
    elif not isinstance(call.input, dict):
        raise refuse("E0000-002", detail="input 应为JSON对象")
    return replace(call, dictionary=_dictionary(p, tx, call.institution), sign_in_relaxed=_relaxed(p, registration))


def _relaxed(p: Platform, registration: Access | None) -> bool:
    return not p.require_sign_in or (registration is not None and registration.sign_in == "optional")


def _dictionary(p: Platform, tx, institution: str) -> Dictionary:
    """National codes plus the institution's region's extensions, read from its policy on first use."""
    inst = views.institution(p, institution, tx=tx)
    if inst is None:
        return NATIONAL
    return _RegionDictionary(p, tx, inst.admdvs, p.now().date())


class _RegionDictionary(Dictionary):
    """A region's dictionary on one day, its policy read on the first coded field. The merged tables
    are kept per policy (the platform's cached, unchanging object) and day (``_region_tables``), not
    merged again for every call."""

    def __init__(self, p: Platform, tx, admdvs: str, day: date):
        super().__init__()
        self._p, self._tx, self._admdvs, self._day = p, tx, admdvs, day
        self._tables: Dictionary | None = None

    def values(self, key: str) -> dict[str, str] | None:
        if self._tables is None:
            try:
                policy = self._p.policy(self._tx, self._admdvs)
            except DomainError:
                policy = None
            self._tables = NATIONAL if policy is None else _region_tables(policy, self._day)
        return self._tables.values(key)


# (id of a policy, day) → (the policy, its dictionary); the policy is kept so that its id stays its own.
_REGION_TABLES: dict[tuple[int, date], tuple[Any, Dictionary]] = {}


def _region_tables(policy, day: date) -> Dictionary:
    got = _REGION_TABLES.get((id(policy), day))
    if got is not None and got[0] is policy:
        return got[1]

    def value(key: str) -> Any:
        return policy.value(key, day, default=None)

    def extension(key: str):
        return policy_extension(value, value("settlement.med_type_category"))(key)

    tables = Dictionary(extension)
    if len(_REGION_TABLES) >= 64:  # policies replaced, days gone by
        _REGION_TABLES.clear()
    _REGION_TABLES[(id(policy), day)] = (policy, tables)
    return tables


def _apply(
    p: Platform, spec: Transaction, call: Call, admdvs: str, received: datetime, doc: dict, opened: list
) -> dict:
    """Apply the call and record its answer — one transaction (``_apply_written``); a call that
    writes nothing records nothing."""
    if not spec.writes:
        with p.unit(read_only=True) as tx:
            call = _open(p, tx, call, doc, opened)
            _check_caller(p, tx, call)
            return respond(admdvs, received, shape(call.spec, spec.handler(p, call, tx)), now=p.now())
    return _apply_written(p, spec, call, admdvs, received, doc, opened)


def _apply_written(
    p: Platform, spec: Transaction, call: Call, admdvs: str, received: datetime, doc: dict, opened: list
) -> dict:
    """The msgid is held from the unit's first round trip (with the institution's credential read)
    to its commit, and the message recorded with its answer at the commit: one row written once.
    A resend arriving while the original runs waits for the hold, then answers with the original's
    recorded answer instead of being applied or refused a second time; a refused call records
    nothing, so the msgid may be used again. The transaction's own work ahead
    (``Transaction.ahead``) is done before the unit of work opens."""
    if spec.ahead is not None and isinstance(call.input, dict):
        call = replace(call, early=spec.ahead(p, call))
    with p.unit() as tx:
        sign_no = call.sign_no if call.sign_no and call.infno not in NO_SIGN_IN else None
        messages.hold(tx, call.institution, call.msgid, sign_no=sign_no)
        if call.early is not None and hasattr(call.early, "expect"):
            call.early.expect(tx)  # its reads, with the unit's first round trip
        call = _open(p, tx, call, doc, opened)
        wanted = digest(call.infno, call.input)  # of the opened input (an SM institution's is sealed)
        seen = messages.held(tx, call.institution, call.msgid)
        if seen is not None:
            return _replay(seen, wanted)
        _check_caller(p, tx, call)
        output = shape(call.spec, spec.handler(p, call, tx))
        answer = respond(admdvs, received, output, now=p.now())
        text = dumps(answer)
        ref = _ref(output)
        messages.record(
            tx, Message(call.institution, call.msgid, call.infno, wanted, text, ref, _psn_no(call), received, None)
        )
        return answer


def _replay(seen: Message, wanted: str) -> dict:
    if seen.digest == TOMBSTONE:
        raise refuse("E2601-003", msgid=seen.msgid)
    if seen.digest != wanted:
        raise refuse("E0000-005", msgid=seen.msgid)
    return simplejson.loads(seen.answer, use_decimal=True)


def _sign_in_checked(p: Platform, call: Call) -> bool:
    """Whether ``_check_caller`` looks the call's session up (``messages.check_sign_in``)."""
    if call.infno in NO_SIGN_IN:
        return False
    return not call.sign_in_relaxed or bool(p.require_sign_in and call.sign_no)


def _check_caller(p: Platform, tx, call: Call) -> None:
    institution_or_refuse(tx, call.institution)
    if call.infno in NO_SIGN_IN:
        return
    if not _sign_in_checked(p, call):
        # Sign-in relaxed for this deployment or institution: the call is still logged with who sent it.
        if call.sign_no:
            return  # sign-in not required in this deployment: a sign_no sent is not looked at
        (log.info if p.require_sign_in else log.debug)(
            "unsigned call",
            extra={
                "event": "unsigned_call",
                "infno": call.infno,
                "msgid": call.msgid,
                "institution": call.institution,
                "opter": call.envelope.get("opter"),
                "opter_name": call.envelope.get("opter_name"),
            },
        )
        return
    messages.check_sign_in(tx, call.institution, call.sign_no)


def _ref(output: Any) -> str | None:
    """The id a later 2601 needs: the settlement's, else the visit's."""
    if not isinstance(output, dict):
        return None
    for node in ("setlinfo", "data", "result"):
        value = output.get(node)
        if isinstance(value, dict):
            for key in ("setl_id", "mdtrt_id"):
                if value.get(key):
                    return str(value[key])
    return None


def _psn_no(call: Call) -> str | None:
    """The patient named in the (not yet validated) input, when it is a plausible psn_no."""
    for node in call.input.values():
        if isinstance(node, list) and node:
            node = node[0]
        value = node.get("psn_no") if isinstance(node, dict) else None
        if isinstance(value, str) and 0 < len(value) <= 30:
            return value
    return None


def _log(call: Call | None, outcome: str) -> None:
    """One structured line per call; never a name, an ID number or an amount."""
    if call is not None:
        log.debug(
            "call",
            extra={
                "event": "call",
                "infno": call.infno,
                "msgid": call.msgid,
                "institution": call.institution,
                "opter": call.envelope.get("opter"),
                "outcome": outcome,
            },
        )
