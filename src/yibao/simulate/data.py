"""A simulation dataset on disk: people, mutual-aid grants and a period of claims, partitioned by family.

Layout (Parquet, or CSV with the same columns)::

    dataset.yaml                 period, counts, partitions, and how it was made (generator sources)
    people/part-00000.parquet    one row per insured person
    grants/part-00000.parquet    one row per mutual-aid grant (payer → beneficiary, in order)
    claims/part-00000.parquet    one row per settlement

A partition holds whole families (the unit mutual aid couples), so partitions are independent and
can run anywhere. Amounts are integer fen (``*_fen``), parts of the personal burden as steps 1–3 of
``spec/policy-format.md`` split them; every amount is bounded (``MAX_AMOUNT_FEN``) so that no
product in the calculation comes near 2**63.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from yibao.family.model import INVERSE, RELATIONS
from yibao.yamlio import dump_yaml, load_yaml_file

FORMAT = "yibao-simulate/1"
MAX_AMOUNT_FEN = 10_000_000_000  # 100,000,000.00 yuan: a bound on every amount, balance and base
OFFSITE_KINDS = ("", "filed", "temporary", "unfiled")  # "" = at home
CLASSES = ("in_service", "retired", "resident")
TABLES = ("people", "grants", "claims")

PEOPLE = pa.schema(
    [
        ("person_id", pa.int64()),
        ("family_id", pa.int64()),
        ("birth", pa.date32()),
        ("gender", pa.string()),
        ("insutype", pa.string()),
        ("psn_type", pa.string()),
        ("insured_since", pa.date32()),
        ("current_fen", pa.int64()),
        ("historical_fen", pa.int64()),
        ("base_fen", pa.int64()),  # monthly contribution base (in-service employees), else 0
        ("income_fen", pa.int64()),  # the family's yearly disposable income per head, for deciles
    ]
)
GRANTS = pa.schema(
    [
        ("payer_id", pa.int64()),
        ("beneficiary_id", pa.int64()),
        ("relation", pa.string()),  # how the payer relates to the beneficiary ("parent": payer is the parent)
        ("position", pa.int32()),  # the beneficiary's binding order, 1 first
    ]
)
CLAIMS = pa.schema(
    [
        ("claim_id", pa.int64()),
        ("family_id", pa.int64()),
        ("person_id", pa.int64()),
        ("time", pa.timestamp("s")),  # Beijing time, naive
        ("med_type", pa.string()),
        ("hospital_level", pa.int8()),
        ("acct_used", pa.bool_()),
        ("offsite", pa.string()),
        ("ownpay_fen", pa.int64()),
        ("overlimit_fen", pa.int64()),
        ("preselfpay_fen", pa.int64()),
        ("inscp_fen", pa.int64()),
    ]
)
SCHEMAS = {"people": PEOPLE, "grants": GRANTS, "claims": CLAIMS}
AMOUNT_COLUMNS = {
    "people": ("current_fen", "historical_fen", "base_fen", "income_fen"),
    "claims": ("ownpay_fen", "overlimit_fen", "preselfpay_fen", "inscp_fen"),
}


class SimulationInputError(ValueError):
    """Input the simulator refuses; the message (Chinese) names the file, the column and the reason."""


@dataclass(frozen=True)
class Manifest:
    start: date  # first day of the period (a first of a month)
    end: date  # first day after it
    partitions: int
    fmt: str = "parquet"
    counts: dict[str, int] = field(default_factory=dict)
    made_by: dict[str, Any] = field(default_factory=dict)
    region: str | None = None  # the policy the population was made for: a shipped region id or a file path
    admdvs: str | None = None  # that region's 医保区划

    def as_doc(self) -> dict[str, Any]:
        doc = {
            "format": FORMAT,
            "start": self.start,
            "end": self.end,
            "partitions": self.partitions,
            "files": self.fmt,
        }
        if self.region is not None:
            doc |= {"region": self.region, "admdvs": self.admdvs}
        return doc | {"counts": self.counts, "made_by": self.made_by}


def check_period(start: date, end: date) -> None:
    if start.day != 1 or end.day != 1 or end <= start:
        raise SimulationInputError(f"模拟期间须从某月1日开始、到某月1日结束：{start} → {end}")
    if (end.year - start.year) * 12 + end.month - start.month > 36:
        raise SimulationInputError("模拟期间最长36个月")


def read_manifest(folder: Path) -> Manifest:
    path = folder / "dataset.yaml"
    if not path.exists():
        raise SimulationInputError(f"{folder}：没有 dataset.yaml（请用 yibao simulate generate 或 export 生成数据集）")
    doc = load_yaml_file(path)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SimulationInputError(f"{path}：不是 {FORMAT} 数据集")
    try:
        start, end = _day(doc["start"]), _day(doc["end"])
        parts = int(doc["partitions"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SimulationInputError(f"{path}：start/end/partitions 缺失或无效（{exc}）") from None
    check_period(start, end)
    fmt = doc.get("files", "parquet")
    if fmt not in ("parquet", "csv") or parts < 1:
        raise SimulationInputError(f"{path}：files 应为 parquet 或 csv，partitions ≥ 1")
    region, admdvs = doc.get("region"), doc.get("admdvs")
    if (region is not None and not isinstance(region, str)) or (admdvs is not None and not isinstance(admdvs, str)):
        raise SimulationInputError(f"{path}：region/admdvs 应为字符串")
    return Manifest(
        start, end, parts, fmt, dict(doc.get("counts") or {}), dict(doc.get("made_by") or {}), region, admdvs
    )


def write_manifest(folder: Path, manifest: Manifest) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.yaml").write_text(dump_yaml(manifest.as_doc()), encoding="utf-8")


def _day(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v))


def part_path(folder: Path, table: str, index: int, fmt: str) -> Path:
    return folder / table / f"part-{index:05d}.{fmt}"


def write_table(folder: Path, table: str, index: int, data: pa.Table, fmt: str = "parquet") -> None:
    path = part_path(folder, table, index, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = data.select(SCHEMAS[table].names).cast(SCHEMAS[table])
    if fmt == "csv":
        pacsv.write_csv(data, path)
    else:
        pq.write_table(data, path, compression="lz4", row_group_size=1 << 20)


def read_table(folder: Path, table: str, index: int, fmt: str, columns: list[str] | None = None) -> pa.Table:
    path = part_path(folder, table, index, fmt)
    schema = SCHEMAS[table]
    try:
        if fmt == "csv":
            opts = pacsv.ConvertOptions(
                column_types={f.name: f.type for f in schema}, strings_can_be_null=False, include_columns=columns
            )
            data = pacsv.read_csv(path, convert_options=opts)
        else:
            strings = [f.name for f in schema if f.type == pa.string() and (columns is None or f.name in columns)]
            data = pq.read_table(path, columns=columns, read_dictionary=strings)
    except (OSError, pa.ArrowInvalid) as exc:
        raise SimulationInputError(f"{path}：无法读取（{exc}）") from None
    wanted = columns or schema.names
    missing = [c for c in wanted if c not in data.column_names]
    if missing:
        raise SimulationInputError(f"{path}：缺少列 {', '.join(missing)}")
    try:
        return data.select(wanted).cast(pa.schema([_loose(schema.field(c)) for c in wanted]))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SimulationInputError(f"{path}：列类型不符（{exc}）") from None


def _loose(f: pa.Field) -> pa.Field:
    """Strings may stay dictionary-encoded (Parquet keeps them so; cheaper to read and to group)."""
    return pa.field(f.name, pa.dictionary(pa.int32(), pa.string())) if f.type == pa.string() else f


def _duplicates(values: np.ndarray) -> bool:
    if len(values) < 2:
        return False
    if np.all(values[1:] > values[:-1]):  # generated and exported data come sorted
        return False
    s = np.sort(values)
    return bool((s[1:] == s[:-1]).any())


def _chunks(column: pa.ChunkedArray) -> list[pa.DictionaryArray]:
    """The column's chunks as dictionary arrays (Parquet strings already are; CSV ones are encoded)."""
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    return [c for c in column.chunks if len(c)]


def names_of(column: pa.ChunkedArray) -> list[str]:
    """The distinct strings a column uses (from its dictionaries: cheap, whatever its length)."""
    seen: dict[str, None] = {}
    for chunk in _chunks(column):
        used = np.unique(chunk.indices.to_numpy(zero_copy_only=False))
        for i in used.tolist():
            seen.setdefault(str(chunk.dictionary[i].as_py()), None)
    return list(seen)


def _strings_in(column: pa.ChunkedArray, allowed) -> bool:
    return set(names_of(column)) <= set(allowed)


def codes_of(column: pa.ChunkedArray, names) -> np.ndarray:
    """Each string's index in ``names`` (-1 if absent), through the column's dictionaries."""
    names = list(names)
    parts = []
    for chunk in _chunks(column):
        table = np.array([names.index(x) if x in names else -1 for x in chunk.dictionary.to_pylist()], dtype=np.int64)
        parts.append(table[chunk.indices.to_numpy(zero_copy_only=False)])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


@dataclass
class Partition:
    """One partition's three tables, checked: whole families, consistent ids, bounded amounts."""

    index: int
    people: pa.Table
    grants: pa.Table
    claims: pa.Table


def read_partition(folder: Path, manifest: Manifest, index: int) -> Partition:
    tables = {t: read_table(folder, t, index, manifest.fmt) for t in TABLES}
    part = Partition(index, tables["people"], tables["grants"], tables["claims"])
    check_partition(part, manifest, f"{folder}#{index}")
    return part


def _fail(where: str, table: str, column: str, reason: str) -> None:
    raise SimulationInputError(f"{where}：{table}.{column}：{reason}")


def check_partition(part: Partition, manifest: Manifest, where: str) -> None:
    """Refuse what the settlement services would refuse or what would break partition independence."""
    people, grants, claims = part.people, part.grants, part.claims
    for table, data in (("people", people), ("grants", grants), ("claims", claims)):
        for col in data.column_names:
            if data[col].null_count:
                _fail(where, table, col, "有空值")
        for col in AMOUNT_COLUMNS.get(table, ()) if table != "claims" else ():
            values = data[col].to_numpy()
            if len(values) and (values.min() < 0 or values.max() >= MAX_AMOUNT_FEN):
                _fail(where, table, col, f"金额须在 0 与 {MAX_AMOUNT_FEN // 100} 元之间")
    pid = people["person_id"].to_numpy()
    if _duplicates(pid):
        _fail(where, "people", "person_id", "重复")
    if not _strings_in(people["insutype"], ("310", "390")):
        _fail(where, "people", "insutype", "应为 310（职工）或 390（居民）")
    employee = codes_of(people["insutype"], ("310",)) == 0
    resident = ~employee
    balances = people["current_fen"].to_numpy() + people["historical_fen"].to_numpy()
    if (balances[resident] != 0).any():
        _fail(where, "people", "current_fen", "居民医保参保人没有个人账户余额")
    if (people["insured_since"].to_numpy() < people["birth"].to_numpy()).any():
        _fail(where, "people", "insured_since", "参保开始日期早于出生日期")
    if (people["insured_since"].to_numpy() > np.datetime64(manifest.start, "D")).any():
        _fail(where, "people", "insured_since", f"须不晚于模拟开始日 {manifest.start}（期间内新参保暂不支持）")
    order = np.arange(len(pid)) if np.all(pid[1:] > pid[:-1]) else np.argsort(pid, kind="stable")
    spid, sfam = pid[order], people["family_id"].to_numpy()[order]

    contiguous = len(spid) > 0 and spid[-1] - spid[0] == len(spid) - 1

    def locate(ids: np.ndarray, table: str, col: str) -> np.ndarray:
        if contiguous:
            if len(ids) and (ids.min() < spid[0] or ids.max() > spid[-1]):
                _fail(where, table, col, "指向本分区没有的人员")
            return ids - spid[0]
        at = np.searchsorted(spid, ids)
        at = np.minimum(at, len(spid) - 1)
        if len(ids) and (len(spid) == 0 or (spid[at] != ids).any()):
            _fail(where, table, col, "指向本分区没有的人员")
        return at

    payer = locate(grants["payer_id"].to_numpy(), "grants", "payer_id")
    bene = locate(grants["beneficiary_id"].to_numpy(), "grants", "beneficiary_id")
    if (sfam[payer] != sfam[bene]).any():
        _fail(where, "grants", "payer_id", "授权人与被授权人须在同一家庭（分区按家庭划分）")
    if (spid[payer] == spid[bene]).any():
        _fail(where, "grants", "payer_id", "不能授权给本人")
    if not employee[order][payer].all():
        _fail(where, "grants", "payer_id", "授权人须为职工医保参保人（有个人账户）")
    if not _strings_in(grants["relation"], RELATIONS):
        _fail(where, "grants", "relation", f"应为 {'/'.join(RELATIONS)} 之一")
    _check_pairs(where, payer, bene, grants["relation"])
    positions = grants["position"].to_numpy()
    key = bene.astype(np.int64) * 1_000_003 + positions
    if _duplicates(key) or (positions < 1).any():
        _fail(where, "grants", "position", "同一被授权人的共济顺序须为不重复的正整数")
    at = locate(claims["person_id"].to_numpy(), "claims", "person_id")
    if (sfam[at] != claims["family_id"].to_numpy()).any():
        _fail(where, "claims", "family_id", "与人员所在家庭不符")
    if not _strings_in(claims["offsite"], OFFSITE_KINDS):
        _fail(where, "claims", "offsite", "应为空（本地）或 filed/temporary/unfiled")
    if _duplicates(claims["claim_id"].to_numpy()):
        _fail(where, "claims", "claim_id", "重复")
    from yibao.simulate.checks import CLAIM_PROBLEMS, claim_problem

    problem = claim_problem(
        *(claims[c].to_numpy() for c in AMOUNT_COLUMNS["claims"]),
        claims["time"].cast(pa.int64()).to_numpy(),
        claims["hospital_level"].to_numpy(),
        _seconds(manifest.start),
        _seconds(manifest.end),
        MAX_AMOUNT_FEN,
    )
    if problem:
        column, reason = CLAIM_PROBLEMS[problem]
        _fail(
            where, "claims", column, reason.format(start=manifest.start, end=manifest.end, yuan=MAX_AMOUNT_FEN // 100)
        )


def _seconds(day: date) -> int:
    return int((datetime.combine(day, datetime.min.time()) - datetime(1970, 1, 1)).total_seconds())


def _check_pairs(where: str, payer: np.ndarray, bene: np.ndarray, relation: pa.ChunkedArray) -> None:
    """No grant twice; where two people grant each other, the relations are each other's inverse."""
    if not len(payer):
        return
    codes = codes_of(relation, RELATIONS)
    n = np.int64(max(payer.max(), bene.max()) + 1)
    forward = payer.astype(np.int64) * n + bene
    if _duplicates(np.sort(forward)):
        _fail(where, "grants", "payer_id", "同一授权重复")
    order = np.argsort(forward)
    backward = bene.astype(np.int64) * n + payer
    at = np.searchsorted(forward[order], backward).clip(0, len(forward) - 1)
    both = forward[order][at] == backward
    inverse = np.array([RELATIONS.index(INVERSE[r]) for r in RELATIONS])
    if (inverse[codes[both]] != codes[order][at][both]).any():
        _fail(where, "grants", "relation", "两人互相授权时，双方登记的亲属关系前后矛盾")


def write_partition(folder: Path, part: Partition, fmt: str = "parquet") -> None:
    write_table(folder, "people", part.index, part.people, fmt)
    write_table(folder, "grants", part.index, part.grants, fmt)
    write_table(folder, "claims", part.index, part.claims, fmt)
