"""The HTML report: one self-contained file an analyst can open offline and send on.

Charts are Plotly figures with the plotly.js library embedded once in the page (no network, no
CDN). Labels are Chinese; amounts are shown in yuan or 万元 from exact integer fen.
"""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from yibao.family.model import RELATIONS
from yibao.money import fmt_yuan
from yibao.simulate import kernel
from yibao.simulate.engine import AGE_BAND_NAMES
from yibao.simulate.results import CLASS_NAMES, DIMENSIONS, MEASURE_KEYS, MEASURE_NAMES, summary
from yibao.simulate.runner import BASELINE, REFORM, SCENARIO_NAMES, RunResult

FONT = "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"
PARTS = (("fund_fen", "统筹基金", "#2f6db3"), ("own_account_fen", "本人账户", "#5aa469"),
         ("mutual_aid_fen", "家庭共济", "#e0a030"), ("cash_fen", "现金", "#c8553d"))  # fmt: skip
FLOW_LABELS = {
    "spouse": "配偶之间",
    "parent": "父母为子女",
    "child": "子女为父母",
    "sibling": "兄弟姐妹之间",
    "grandparent": "祖辈为孙辈",
    "grandchild": "孙辈为祖辈",
}
COLORS = {BASELINE: "#7f8c9a", REFORM: "#2f6db3"}


def _wan(fen) -> np.ndarray:
    return np.asarray(fen, dtype=np.float64) / 1_000_000  # 万元, for charts only


def _layout(fig: go.Figure, title: str, y: str) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01},
        font={"family": FONT, "size": 13},
        yaxis_title=y,
        legend={"orientation": "h", "y": -0.18},
        margin={"l": 60, "r": 20, "t": 50, "b": 70},
        height=380,
        plot_bgcolor="#fbfbfd",
    )
    return fig


def _div(fig: go.Figure) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})


def _composition(result: RunResult, dim: str, labels, title: str) -> go.Figure:
    """Stacked parts of what claims cost (fund, own account, mutual aid, cash) per scenario."""
    fig = go.Figure()
    multi = len(result.scenarios) > 1
    for key, name, color in PARTS:
        m = MEASURE_KEYS.index(key)
        xs0, xs1, ys = [], [], []
        for s in result.scenarios:
            agg = result.sums[s.key][dim]
            xs0 += [SCENARIO_NAMES[s.key]] * len(labels)
            xs1 += list(labels)
            ys += list(_wan(agg[:, m]))
        x = [xs1, xs0] if multi else xs1
        fig.add_bar(x=x, y=ys, name=name, marker_color=color, hovertemplate="%{x}<br>" + name + "：%{y:.2f}万元")
    fig.update_layout(barmode="relative")
    return _layout(fig, title, "万元")


def _per_capita(result: RunResult, dim: str, labels, measure: str, title: str) -> go.Figure:
    fig = go.Figure()
    people = np.maximum(result.sums[BASELINE][f"people_{dim}"], 1)
    m = MEASURE_KEYS.index(measure)
    for s in result.scenarios:
        per = result.sums[s.key][dim][:, m] / people / 100
        fig.add_bar(x=list(labels), y=per, name=SCENARIO_NAMES[s.key], marker_color=COLORS[s.key],
                    hovertemplate="%{x}：%{y:.2f}元/人")  # fmt: skip
    fig.update_layout(barmode="group")
    return _layout(fig, title, "元/人")


def _flows(result: RunResult) -> go.Figure:
    fig = go.Figure()
    labels = [FLOW_LABELS[r] for r in RELATIONS]
    for s in result.scenarios:
        amount = result.sums[s.key]["flow_relation"][:, 0]
        fig.add_bar(x=labels, y=_wan(amount), name=SCENARIO_NAMES[s.key], marker_color=COLORS[s.key],
                    hovertemplate="%{x}：%{y:.2f}万元")  # fmt: skip
    fig.update_layout(barmode="group")
    return _layout(fig, "家庭共济：谁为谁付了多少（按亲属关系）", "万元")


def _cash_change(result: RunResult) -> go.Figure:
    hist = result.comparison["sums"]["delta_histogram"]
    labels = ["减少1000元以上", "减少500–1000元", "减少200–500元", "减少50–200元", "减少1–50元", "减少不足1元",
              "不变", "增加不足1元", "增加1–50元", "增加50–200元", "增加200–500元", "增加500元以上"]  # fmt: skip
    colors = ["#2f8f5b"] * 6 + ["#9aa5b1"] + ["#c8553d"] * 5
    fig = go.Figure(go.Bar(x=labels[: len(hist)], y=hist, marker_color=colors[: len(hist)],
                           hovertemplate="%{x}：%{y}户"))  # fmt: skip
    return _layout(fig, "改革后各家庭全年现金支付的变化", "家庭数")


def _accounts(result: RunResult) -> go.Figure:
    months = [*result.scenarios[0].tables.months, "期末"]
    c = result.sums[BASELINE]["credits"]
    fig = go.Figure()
    fig.add_bar(x=months, y=_wan(c[:, kernel.K_INSERVICE]), name="在职职工划入", marker_color="#5aa469")
    fig.add_bar(x=months, y=_wan(c[:, kernel.K_RETIREE]), name="退休人员划入", marker_color="#8cc084")
    fig.add_bar(x=months, y=_wan(c[:, kernel.K_ROLLOVER]), name="年度结转（当年→历年）", marker_color="#e0a030")
    fig.update_layout(barmode="group")
    return _layout(fig, "个人账户：逐月划入与年度结转（现行政策）", "万元")


def _money_row(label: str, values: list[int], money: bool = True) -> str:
    cells = "".join(f"<td>{fmt_yuan(v) if money else f'{v:,}'}</td>" for v in values)
    return f"<tr><th>{html.escape(label)}</th>{cells}</tr>"


def _key_table(result: RunResult) -> str:
    s = summary(result)
    keys = [k for k in (BASELINE, REFORM, "diff") if k in s]
    head = "".join(
        f"<th>{ {BASELINE: '现行政策（元）', REFORM: '改革方案（元）', 'diff': '差额（元）'}[k] }</th>" for k in keys
    )
    segment = ("account_segment_fen",) if any(s[k]["account_segment_fen"] for k in keys) else ()
    rows = [
        _money_row(MEASURE_NAMES[m], [s[k][m] for k in keys])
        for m in (
            "medfee_fen",
            "fund_fen",
            "own_account_fen",
            *segment,
            "mutual_aid_fen",
            "cash_fen",
            "deductible_fen",
            "over_cap_fen",
        )
    ]
    rows.append(
        _money_row("个人账户划入", [s[k]["credited_in_service_fen"] + s[k]["credited_retiree_fen"] for k in keys])
    )
    rows.append(_money_row("年度结转", [s[k]["rolled_over_fen"] for k in keys]))
    rows.append(_money_row("期初个人账户余额", [s[k]["opening_balance_fen"] for k in keys]))
    rows.append(_money_row("期末个人账户余额", [s[k]["closing_balance_fen"] for k in keys]))
    rows.append(_money_row("结算笔数", [s[k]["claims"] for k in keys], money=False))
    rows.append(_money_row("有现金支付的家庭（户）", [s[k]["families_paying_cash"] for k in keys], money=False))
    return f"<table class='num'><tr><th></th>{head}</tr>{''.join(rows)}</table>"


def _families(rows: list[dict[str, int]], title: str) -> str:
    if not rows:
        return f"<p>{html.escape(title)}：无。</p>"
    names = (
        "家庭编号",
        "人数",
        "医疗费",
        "统筹基金变化",
        "本人账户变化",
        "共济变化",
        "现金变化",
        "现行现金",
        "改革后现金",
    )
    head = "<tr>" + "".join(f"<th>{n}</th>" for n in names) + "</tr>"
    body = "".join(
        f"<tr><td>{r['family_id']}</td><td>{r['members']}</td><td>{fmt_yuan(r['medfee'])}</td>"
        f"<td>{fmt_yuan(r['fund_delta'])}</td><td>{fmt_yuan(r['own_delta'])}</td><td>{fmt_yuan(r['mutual_aid_delta'])}</td>"
        f"<td>{fmt_yuan(r['cash_delta'])}</td><td>{fmt_yuan(r['cash_base'])}</td><td>{fmt_yuan(r['cash_reform'])}</td></tr>"
        for r in rows[:10]
    )
    return f"<h3>{html.escape(title)}</h3><table class='num'>{head}{body}</table>"


def _sources(result: RunResult) -> str:
    params = (result.manifest.made_by or {}).get("parameters") or {}
    if not params:
        return "<p>人口与结算数据来自输入文件（非合成）。</p>"
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v.get('grade')))}"
        f"{'（示意）' if v.get('grade') == 'D' else ''}</td>"
        f"<td>{html.escape(str(v.get('source')))}</td></tr>"
        for k, v in params.items()
    )
    return f"<table><tr><th>人口参数</th><th>可信度</th><th>来源</th></tr>{rows}</table>"


def render(result: RunResult, title: str | None = None) -> str:
    m = result.manifest
    reform = next((s for s in result.scenarios if s.key == REFORM), None)
    base = result.scenarios[0]
    dim_labels = {d: (tuple(base.tables.months) if d == "month" else DIMENSIONS[d][1]) for d in DIMENSIONS}
    charts = [
        _composition(result, "month", dim_labels["month"], "逐月：医疗费由谁支付"),
        _per_capita(result, "band", AGE_BAND_NAMES, "fund_fen", "各年龄段人均统筹基金支出"),
        _per_capita(result, "decile", dim_labels["decile"], "cash_fen", "按家庭人均收入十分位：人均现金支付"),
        _composition(result, "class", tuple(CLASS_NAMES.values()), "按参保类别：医疗费由谁支付"),
        _composition(result, "category", dim_labels["category"], "按待遇类别：医疗费由谁支付"),
        _flows(result),
        _accounts(result),
    ]
    if result.comparison is not None:
        charts.insert(1, _cash_change(result))
    changes = ""
    if reform is not None and reform.reform is not None:
        items = "".join(f"<li><code>{html.escape(c.describe())}</code></li>" for c in reform.reform.changes)
        reform_title = html.escape(reform.reform.title)
        changes = f"<h2>改革方案</h2><p>{reform_title}（可信度 {reform.reform.grade}）</p><ul>{items}</ul>"
    comparison = ""
    if result.comparison is not None:
        c = result.comparison["sums"]
        comparison = (
            f"<p>改革后现金支付减少的家庭 <b>{int(c['pay_less_cash'][0]):,}</b> 户，"
            f"增加的 <b>{int(c['pay_more_cash'][0]):,}</b> 户；"
            f"由有现金支付变为完全不付现金的 <b>{int(c['stop_paying_cash'][0]):,}</b> 户。</p>"
            + _families(result.comparison["gainers"], "现金支付减少最多的家庭")
            + _families(result.comparison["losers"], "现金支付增加最多的家庭")
        )
    verify = ""
    if result.verify:
        v = result.verify
        verify = (
            f"<h2>逐笔核对（--verify）</h2><p>抽取 {v.get('families', 0):,} 户、{v.get('claims', 0):,} 笔结算，"
            f"经真实结算服务在内存数据库中重放，逐项比对 {v.get('compared_figures', 0):,} 个数字："
            f"<b>不一致 {v.get('mismatches', 0)} 处</b>（含家庭共济 {v.get('with_mutual_aid', 0):,} 笔、"
            f"触及年度限额 {v.get('over_cap', 0):,} 笔、跨医疗年度 {v.get('later_year', 0):,} 笔"
            + (f"、当年账户段 {v['with_segment']:,} 笔" if v.get("with_segment") else "")
            + (f"、较高年龄段 {v['upper_age_band']:,} 笔" if v.get("upper_age_band") else "")
            + "）。</p>"
        )
    perf = (
        f"{result.claims:,} 笔结算 × {len(result.scenarios)} 个方案，用时 {result.seconds:.1f} 秒"
        f"（内核 {result.kernel_seconds:.1f} 秒，{result.workers} 个进程，{result.partitions} 个分区）"
    )
    body = "".join(f"<section class='chart'>{_div(f)}</section>" for f in charts)
    heading = title or f"医保个人账户与家庭共济模拟：{base.policy.name}"
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(heading)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:{FONT};margin:24px auto;max-width:1080px;color:#1f2933;padding:0 16px}}
h1{{font-size:24px}} h2{{font-size:19px;margin-top:28px;border-bottom:1px solid #dde3ea;padding-bottom:4px}}
table{{border-collapse:collapse;margin:8px 0;font-size:14px}} th,td{{border:1px solid #dde3ea;padding:4px 8px}}
table.num td{{text-align:right}} .note{{color:#616e7c;font-size:13px}} section.chart{{margin:12px 0}}
</style><script>{get_plotlyjs()}</script></head><body>
<h1>{html.escape(heading)}</h1>
<p>模拟期间 {m.start} 至 {m.end}（不含），{result.sums[BASELINE]["people_class"].sum():,} 人、{result.families:,} 户。
统筹区政策：{html.escape(base.policy.name)}（{html.escape(base.policy.region_id)}）。金额为精确到分的整数运算结果。</p>
<p class="note">{perf}。报告生成于 {datetime.now():%Y-%m-%d %H:%M}，图表库已内嵌，可离线打开和转发。</p>
{changes}
<h2>主要结果</h2>{_key_table(result)}
{comparison}
<h2>图表</h2>{body}
{verify}
<h2>数据来源与可信度</h2>
<p class="note">A 官方原文；B 官方数字经转载核对；C 单一或凭记忆的来源；D 示意取值（须用本地统计替换后再下结论）。</p>
{_sources(result)}
</body></html>"""


def write_report(result: RunResult, path: Path, title: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result, title), encoding="utf-8")
    return path
