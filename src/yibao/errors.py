"""Refusals: one stable machine code and one Chinese sentence for every way a request can fail.

Codes look like ``E2207-003``: the four digits name the area (a transaction family at the gateway,
a domain elsewhere), the last three the condition. A code never changes meaning once published;
HIS developers map them. Every adapter (gateway, REST, CLI, case runner) shows the same pair.
"""

from __future__ import annotations

import re


class DomainError(Exception):
    """A business refusal: the request is understood and refused; nothing was written."""

    def __init__(self, code: str, message: str, *, keep_writes: bool = False):
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message
        # A refusal that must still commit what was written before it (a wrong password's count).
        self.keep_writes = keep_writes

    @property
    def err_msg(self) -> str:
        return f"[{self.code}] {self.message}"


class InternalError(Exception):
    """A broken invariant (an assertion on money failed): a bug, never a refusal. The adapters log
    it with its stack and answer E0000-099; nothing was written."""


def invariant(condition: bool, what: str) -> None:
    """Assert a postcondition on money; unlike ``assert`` it also holds under ``python -O``."""
    if not condition:
        raise InternalError(what)


class StoreError(Exception):
    """The database failed, not the request (raised by ``storage`` in place of the driver's errors)."""


class StoreUnavailable(StoreError):
    """A lock wait gave up or the database went away: nothing was written, the caller may retry (E0000-098)."""


class StoreValueRefused(StoreError):
    """The database refused a value no bound caught (past a column's range, a NUL character)."""


# The catalogue. Messages may take str.format fields.
CATALOGUE: dict[str, str] = {
    # E0000 envelope and transport
    "E0000-001": "报文不是合法的JSON：{detail}",
    "E0000-002": "报文格式错误：{detail}",
    "E0000-003": "不支持的交易编号 infno={infno}",
    "E0000-004": "定点医药机构不存在或已停用：{code}",
    "E0000-005": "发送方报文ID msgid 已使用且报文内容不同：{msgid}",
    "E0000-006": "身份认证失败：{detail}",
    "E0000-007": "签到流水号无效或已签退：{sign_no}",
    "E0000-008": "交易输入格式错误：{detail}",
    "E0000-009": "取值超出允许范围：{detail}",
    "E0000-010": "账户累计金额将超出记账上限，交易未办理，请联系经办机构：{account}",
    "E0000-011": "报文与平台记录不一致：{detail}",
    "E0000-098": "数据库暂时不可用或繁忙，本次交易未办理，请稍后重试",
    "E0000-099": "系统内部错误，请稍后重试或联系经办机构",
    # E1101 persons and credentials
    "E1101-001": "人员不存在：{ref}",
    "E1101-002": "就诊凭证无效：{detail}",
    "E1101-003": "社会保障卡已挂失，请使用医保电子凭证或身份证：卡号{card}",
    "E1101-004": "医保电子凭证令牌无效或已过期",
    "E1101-005": "人员无有效参保信息：{detail}",
    "E1101-006": "就诊凭证与人员编号不一致",
    "E1101-007": "卡识别码与社会保障卡不一致",
    "E1101-008": "人员信息与人员编号不符（请核对患者身份）：{detail}",
    "E1162-001": "请使用医保电子凭证二维码",
    # E2201 visits
    "E2201-001": "就诊ID不存在：{mdtrt_id}",
    "E2201-002": "就诊已撤销，不能继续办理：{mdtrt_id}",
    "E2201-003": "就诊已结算，不能撤销挂号：{mdtrt_id}",
    "E2201-004": "就诊与人员编号或机构不一致：{mdtrt_id}",
    "E2201-005": "险种类型与人员参保信息不符：{insutype}",
    "E2201-007": "就诊类型不符：{detail}",
    "E2201-008": "{field}晚于平台当前日期（平台时间{now}，时钟误差允许{skew}分钟）：{when}",
    "E2201-009": "{field}早于允许的时限（{rule}，平台当前时间{now}）：{when}",
    # E2204 fee details
    "E2204-001": "医保目录编码不存在：{code}",
    "E2204-002": "费用明细流水号重复：{feedetl_sn}",
    "E2204-003": "明细金额与单价×数量不符：流水号{feedetl_sn}",
    "E2204-004": "没有可撤销的未结算费用明细：{detail}",
    "E2204-005": "费用明细为空",
    "E2204-006": "退费明细须为负数并指向本次住院同一项目的原费用流水号：{feedetl_sn}",
    "E2204-007": "退费金额超过原费用明细剩余金额：{feedetl_sn}",
    "E2204-008": "明细数量不能为0：流水号{feedetl_sn}",
    "E2204-009": "费用明细{count}条，超过{category}每次结算{max}条的上限",
    "E2204-010": "明细金额合计比单价×数量合计多{excess}元，超过每次结算1分的舍入误差",
    "E2204-011": "费用发生时间不在就诊期间（{start}至今日）：流水号{feedetl_sn} {when}",
    # E2207 settlement
    "E2207-001": "医疗费总额与上传明细合计不符：报文{declared}元，明细{actual}元",
    "E2207-002": "没有可结算的费用明细：{detail}",
    "E2207-003": "个人账户密码错误",
    "E2207-004": "密码错误次数过多，凭证已锁定至{until}",
    "E2207-005": "医疗类别不支持：med_type={med_type}",
    "E2207-006": "本统筹区政策未配置：{detail}",
    "E2207-007": "缺少患者密码（cainfo）",
    "E2207-008": "账户余额不足，结算被拒绝（并发冲突，请重试）",
    "E2207-009": "医疗费总额为0，没有可结算的费用",
    "E2207-010": "结算报文中的金额与平台按明细计算的不符：{detail}",
    "E2207-011": "个人结算方式不支持：{detail}",
    # E2208 cancellation
    "E2208-001": "结算ID不存在：{setl_id}",
    "E2208-002": "结算已撤销，不能重复撤销：{setl_id}",
    "E2208-003": "结算与就诊ID或人员编号不一致：{setl_id}",
    "E2208-004": "撤销交易与原结算类型不符：{setl_id}",
    "E2208-005": "同一次住院须先撤销较晚的结算：{setl_id}",
    # E2601 冲正
    "E2601-001": "原交易不存在或原交易编号不符：{detail}",
    "E2601-002": "原交易已冲正：{msgid}",
    "E2601-003": "该发送方报文ID已被冲正，不能再办理：{msgid}",
    "E2601-004": "该交易不能冲正：oinfno={oinfno}",
    "E2601-005": "冲正失败：{detail}",
    # E9001 sign-in
    "E9001-001": "签到流水号不存在或不属于本机构：{sign_no}",
    # E7101 family: relations and mutual aid
    "E7101-001": "{payer}与{beneficiary}之间没有登记的亲属关系",
    "E7101-002": "{date}时本统筹区家庭共济不允许的亲属关系：{relation}",
    "E7101-003": "共济授权人须参加职工医保并拥有个人账户",
    "E7101-004": "不能为本人授权共济",
    "E7101-005": "共济授权不存在或已解除",
    "E7101-006": "共济授权已存在",
    "E7101-007": "共济顺序须列出全部、且仅列出当前授权人：{detail}",
    "E7101-008": "本统筹区未开通家庭共济",
    "E7101-009": "参保人不在有效参保状态：{who}",
    "E7101-010": "亲属关系不合法：{detail}",
    # E7201 亲情账户 proxy bindings
    "E7201-001": "不能绑定本人",
    "E7201-002": "亲情账户只能绑定配偶、父母、子女：{member}不是{holder}的近亲属",
    "E7201-003": "亲情账户最多绑定{max}名家庭成员",
    "E7201-004": "该家庭成员已绑定",
    "E7201-005": "{age}周岁以上的家庭成员须通过人脸认证",
    "E7201-006": "未满{age}周岁的家庭成员须上传个人承诺书（或通过人脸认证）",
    "E7201-007": "被绑定的家庭成员须为参保人员",
    "E7201-008": "绑定关系不存在或已解除",
    "E7201-009": "无权查看：{detail}",
    "E7201-010": "亲情账户绑定核验申请不存在：{ref}",
    "E7201-011": "该绑定核验申请已处理（{status}），不能再次处理",
    # E7301 credentials: cards, passwords, e-voucher tokens
    "E7301-001": "没有可挂失的社会保障卡",
    "E7301-002": "社会保障卡已挂失",
    "E7301-003": "密码应为6位数字",
    "E7301-004": "原密码错误",
    "E7301-005": "没有可补换的社会保障卡",
    "E7301-006": "挂失类型应为 temporary（临时挂失）或 formal（正式挂失）：{kind}",
    "E7301-007": "社会保障卡未挂失，无需解挂",
    "E7301-008": "电子凭证令牌不存在或已失效",
    "E7301-009": "身份证号或密码错误",
    "E7301-010": "用户名或密码错误",
    "E7301-011": "登录失败次数过多，请于{until}后再试",
    "E7301-012": "工作人员用户名应为3–40位字母、数字或下划线，角色应为 viewer 或 operator，密码至少8位",
    "E7301-013": "工作人员已存在：{username}",
    "E7301-014": "本设备登录尝试过于频繁，请于{until}后再试",
    "E7301-015": "工作人员不存在：{username}",
    # E7401 enrolment and contributions
    "E7401-001": "已有有效的{insutype}参保记录（{begin}起），不能重复参保",
    "E7401-002": "{period}的缴费已登记，不能重复缴费",
    "E7401-003": "缴费基数{base}元超出本统筹区上下限（{floor}–{ceiling}元）",
    "E7401-004": "{period}不在职工医保参保期内，不能登记缴费",
    "E7401-005": "参保类型、人员类别或日期无效：{detail}",
    "E7401-006": "没有可终止或暂停的参保记录：{detail}",
    "E7401-007": "代缴人须为已授权家庭共济的职工医保参保亲属：{detail}",
    "E7401-008": "代缴人个人账户可共济余额不足：需{need}元，可用{have}元",
    "E7401-009": "出生日期无效：{detail}",
    # E7501 off-site care
    "E7501-001": "备案结束日期早于开始日期",
    "E7501-002": "备案类型应为 filed（异地长期居住）或 temporary（临时外出）：{kind}",
    # E8001 policy and case files
    "E8001-001": "政策文件错误：{detail}",
    "E8001-002": "案例文件错误：{detail}",
    "E8001-003": "该功能将在后续版本支持（not yet supported）：{detail}",
    # E7601 the region link between yibao instances (issue 15)
    "E7601-001": "未登记的对端统筹区：{admdvs}（请先执行 yibao region add-peer）",
    "E7601-002": "跨统筹区报文格式错误：{detail}",
    "E7601-003": "跨统筹区请求在时限内没有应答：{detail}",
    "E7601-004": "统筹区之间的链路不可用：{detail}",
    "E7601-005": "跨统筹区报文版本不受支持：{version}",
    "E7601-006": "跨统筹区报文多次处理失败，已转入死信队列，须人工处理：{detail}",
    "E7601-007": "本统筹区没有这条死信：{seq}",
    # Issue 13: the daily transactions (reference data, files, filings, review, lists, inventory)
    "E1201-001": "定点医药机构不存在或类型不符：{detail}",
    "E1301-001": "目录版本号无效：{ver}（平台最新版本{latest}）",
    "E1301-002": "目录导入文件错误：{detail}",
    "E1312-001": "分页参数无效：{detail}",
    "E1317-001": "只能查询本机构的目录对照：{code}",
    "E1901-001": "字典类型不存在：{type}",
    "E2306-001": "费用明细不存在：{detail}",
    "E2403-001": "住院已出院、已撤销或已结算，不能变更：{mdtrt_id}",
    "E2403-002": "入院时间不能变更：{detail}",
    "E2404-001": "已出院，不能撤销入院（请先撤销出院）：{mdtrt_id}",
    "E2405-001": "未办理出院，不能撤销出院：{mdtrt_id}",
    "E2405-002": "已办理出院结算，请先撤销结算再撤销出院：{mdtrt_id}",
    "E2406-001": "该就医特殊属性已登记：{detail}",
    "E2501-001": "备案日期无效：{detail}",
    "E2501-002": "转往机构无效：{detail}",
    "E2501-003": "已有有效的{kind}备案（{sn}），不能重复备案",
    "E2502-001": "备案不存在：{sn}",
    "E2502-002": "备案已撤销，不能重复撤销：{sn}",
    "E2502-003": "备案不是本机构办理或与人员不符：{sn}",
    "E2503-001": "门诊慢特病病种不在门诊慢特病种目录（1309）中：{code}",
    "E2503-003": "未办理门诊慢特病备案或备案不在有效期内，不能按门诊慢特病结算：{detail}",
    "E2505-001": "定点医药机构无效：{detail}",
    "E3103-001": "审核结果不存在或不属于本机构：{jr_id}",
    "E3103-002": "继续执行医嘱须填写理由（dspo_way_rea）：{jr_id}",
    "E3103-003": "该审核结果已反馈：{jr_id}",
    "E3202-001": "对明细账文件内容无效：{detail}",
    "E3202-002": "对账期间无效：{detail}",
    "E3203-001": "该期间尚未逐笔对平（3202），不能申请清算：{detail}",
    "E3203-002": "清算申请金额与平台记录不符：{detail}",
    "E3203-003": "该清算年月已申请清算，请先撤销：{setlym}",
    "E3203-004": "清算年月或期间无效：{detail}",
    "E3204-001": "清算申请不存在或不属于本机构：{evt_id}",
    "E3204-002": "清算申请已撤销：{evt_id}",
    "E3301-001": "医疗目录编码不在医保目录中：{code}",
    "E3301-002": "本机构目录编号{medins}已有有效对照（{code}），请先撤销",
    "E3301-003": "对照的开始、结束日期无效：{detail}",
    "E3302-001": "没有可撤销的目录对照：{medins} → {code}",
    "E3401-001": "科室编码已存在：{code}",
    "E3401-002": "科室不存在或与登记信息不符：{code}",
    "E3401-003": "科室日期无效：{detail}",
    "E3501-001": "进销存数量或日期无效：{detail}",
    "E3501-002": "批次{batch}库存不足：现有{held}，本次需{want}",
    "E3501-003": "批次{batch}已用于另一商品（{code}），同一批次只能对应一个商品",
    "E3501-004": "只有定点零售药店上传进销存：{code}",
    "E3592-001": "批次不存在，不能生成虚拟追溯码：{batch}",
    "E3504-001": "采购退货数量超过该批次采购未退数量（{left}）：{batch}",
    "E3505-001": "销售与结算不一致：{setl_id} {detail}",
    "E3505-002": "药品追溯码不是该结算（2102）上传的追溯码：{setl_id}",
    "E3506-001": "销售退货数量超过已销售未退数量（{left}）：{batch}",
    "E3507-001": "没有可删除的商品信息：{detail}",
    "E3507-002": "删除后批次{batch}库存将为负数，不能删除",
    "E4101-001": "结算已撤销，不能上传结算清单：{setl_id}",
    "E4101-002": "结算清单已提交，不能修改（请先以4102改为未提交）：{setl_id}",
    "E4101-003": "结算清单的基金支付与平台结算不符：{detail}",
    "E4101-004": "结算清单参数无效：{detail}",
    "E4101-005": "该结算没有结算清单：{setl_id}",
    "E5201-001": "查询时间范围无效：{detail}",
    "E9101-001": "上传文件无效：{detail}",
    "E9102-001": "文件不存在或已过下载截止时间：{file_qury_no}",
    "E9102-002": "无权下载该文件：{file_qury_no}",
    # E7602 cross-region settlement: reservations, clearing, claim-back (issue 15 phase 2)
    "E7602-001": "跨统筹区预留不存在：{rid}",
    "E7602-002": "跨统筹区预留状态不允许此操作：{detail}",
    "E7602-003": "同一预留号 {rid} 的内容与首次不一致",
    "E7602-004": "参保地账户或基金余额不足，无法预留：{detail}",
    "E7602-005": "参保地拒绝：{detail}",
    "E7602-006": "本实例未连接统筹区之间的链路，不能办理异地结算",
    "E7602-007": "月度清算无法办理：{detail}",
    "E7602-008": "手工报销不予受理：{detail}",
    "E7602-009": "票据已报销，不能重复报销：{receipt}",
    "E7602-010": "该次就诊已在就医地直接结算，不能再手工报销：{setl_ref}",
}


def plain_message(code: str) -> str:
    """The code's sentence without its fields ("结算ID不存在"): for pages, where a field would repeat
    text from the URL (an identifier someone typed or linked) inside an official-looking message."""
    return re.sub(r"[：:（(]?\{[^}]*\}[）)]?", "", CATALOGUE[code]).rstrip("：:，,")


def refuse(code: str, /, **fields: object) -> DomainError:
    """Build the refusal for ``code``; unknown codes are a programming error."""
    template = CATALOGUE[code]
    return DomainError(code, template.format(**fields) if fields else template.replace("{", "").replace("}", ""))
