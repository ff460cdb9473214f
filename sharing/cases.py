"""The share request (S3, SYS Art. 27) as a declaration on the workflow engine.

Unconditional data: the bureau reviews, then the applicant has access. Conditional data: the provider
decides within its deadline, and a refusal states its reasons. The applicant may withdraw while it waits.
Grade protections (G1, SYS Art. 11): when an item's grade is used only with the provider's approval
(important data), or is exported only with approval and the method is a file or a database sync, an
unconditional request is approved by the provider first and reviewed by the bureau after; the bureau may
send back to the provider a request whose items were re-graded while it waited.
"""

from core.models import Role
from foundation.roles import PLATFORM_MONITOR
from workflow.engine import CaseType, State, Transition, register

BUREAU = frozenset({Role.BUREAU_ADMIN})
PROVIDER = frozenset({Role.DATA_OFFICER, Role.SERVICE_CENTRE_STAFF})  # the service centre provides the bases
APPLICANT = frozenset({Role.DATA_OFFICER, Role.AGENCY_STAFF})
PROVIDER_APPROVALS = ("agree", "endorse")  # the provider's approving decisions on a share request


SHARE_REQUEST = register(
    CaseType(
        name="share_request",
        label="共享申请",
        prefix="GX",
        summary="sharing.cases.request_facts",
        states=[
            State("bureau_review", "主管部门审核", party="bureau", deadline="share.unconditional.review"),
            State("provider_review", "提供部门审核", party="provider", deadline="share.conditional.review"),
            State("provider_approval", "提供部门审批", party="provider", deadline="share.provider_approval"),
            State("granted", "已授权", final=True, on_enter="sharing.services.grant_from_case"),
            State("refused", "不予共享", final=True),
            State("withdrawn", "已撤回", final=True),
        ],
        transitions=[
            Transition("approve", "审核通过", ("bureau_review",), "granted", BUREAU, "bureau"),
            Transition("refuse", "不予通过", ("bureau_review",), "refused", BUREAU, "bureau", needs_comment=True),
            Transition("to_provider", "转提供部门审批", ("bureau_review",), "provider_approval", BUREAU, "bureau"),
            Transition("agree", "同意共享", ("provider_review",), "granted", PROVIDER, "provider"),
            Transition("endorse", "同意，报主管部门审核", ("provider_approval",), "bureau_review", PROVIDER, "provider"),
            Transition("decline", "不同意共享", ("provider_review", "provider_approval"), "refused", PROVIDER, "provider",
                       needs_comment=True),
            Transition("withdraw", "撤回申请", ("bureau_review", "provider_review", "provider_approval"), "withdrawn", APPLICANT,
                       "applicant"),
        ],
        # unconditional data goes to the bureau, conditional to the provider; approval by grade first (G1)
        initial=("bureau_review", "provider_review", "provider_approval"),
    )
)


# A correction (S5, SYS Art. 28): the provider verifies, corrects and answers within its deadline;
# entering "corrected" publishes the corrected record as a new snapshot, in the same transaction.
CORRECTION = register(
    CaseType(
        name="correction",
        label="校核纠错",
        prefix="JC",
        summary="sharing.cases.correction_facts",
        states=[
            State("verifying", "提供部门核实", party="provider", deadline="correction.resolve"),
            State("corrected", "已更正", final=True, on_enter="sharing.services.apply_correction"),
            State("rejected", "经核实无误", final=True),
        ],
        transitions=[
            Transition("correct", "核实并更正", ("verifying",), "corrected", PROVIDER, "provider", needs_comment=True),
            Transition("reject", "核实无误", ("verifying",), "rejected", PROVIDER, "provider", needs_comment=True),
        ],
    )
)


# Rectification of a grant's use (S7, SYS Art. 31, 33): the holder reports what it changed, the provider
# accepts or returns it. Past the deadline the scheduled review suspends the grant, and terminates it if
# the rectification is still open after the rulebook's further period.
HOLDER = frozenset({Role.DATA_OFFICER, Role.AGENCY_STAFF})

RECTIFICATION = register(
    CaseType(
        name="rectification",
        label="限期整改",
        prefix="ZG",
        states=[
            State("rectifying", "使用部门整改", party="holder", deadline="share.rectify"),
            State("reviewing", "提供部门审核整改", party="provider", deadline="share.rectify_review"),
            State("rectified", "整改完成", final=True, on_enter="sharing.services.end_rectification"),
            State("terminated", "终止授权", final=True, on_enter="sharing.services.terminate_for_rectification"),
        ],
        transitions=[
            Transition("report", "报送整改情况", ("rectifying",), "reviewing", HOLDER, "holder", needs_comment=True),
            Transition("accept", "整改通过", ("reviewing",), "rectified", PROVIDER, "provider"),
            Transition("return", "退回整改", ("reviewing",), "rectifying", PROVIDER, "provider", needs_comment=True),
            Transition("terminate", "逾期未整改，终止授权", ("rectifying", "reviewing"), "terminated", BUREAU | {PLATFORM_MONITOR}, "bureau",
                       needs_comment=True),
        ],
    )
)


# Demand matching (S8, SYS Art. 32): the provider answers within 3 wd (reasons if it declines); an
# accepted demand for data not catalogued obliges it to publish the entry and mount the data in 10 wd.
DEMAND = register(
    CaseType(
        name="demand",
        label="数据需求",
        prefix="XQ",
        states=[
            State("answering", "提供部门答复", party="provider", deadline="demand.answer"),
            State("publishing", "编目并挂载数据", party="provider", deadline="demand.publish_and_mount"),
            State("answered", "已满足（可申请共享）", final=True),
            State("fulfilled", "已编目挂载", final=True, on_enter="sharing.services.check_fulfilled"),
            State("declined", "驳回", final=True),
        ],
        transitions=[
            Transition("available", "已有目录，请申请共享", ("answering",), "answered", PROVIDER, "provider", needs_comment=True),
            Transition("accept", "受理，编目并挂载", ("answering",), "publishing", PROVIDER, "provider"),
            Transition("decline", "驳回", ("answering",), "declined", PROVIDER, "provider", needs_comment=True),
            Transition("fulfil", "已发布目录并挂载数据", ("publishing",), "fulfilled", PROVIDER, "provider"),
        ],
    )
)

# Disputes (S6, SYS Art. 29): negotiation between the parties, then the same-level bureau coordinates,
# then the city bureau, which decides or refers the matter to the city government and records its decision.
PARTIES = APPLICANT | PROVIDER
DISPUTE = register(
    CaseType(
        name="dispute",
        label="共享争议",
        prefix="ZY",
        states=[
            State("negotiation", "双方协商", party="provider", deadline="dispute.negotiate"),
            State("bureau", "同级主管部门协调", party="bureau", deadline="dispute.decide"),
            State("city_bureau", "市主管部门协调", party="city_bureau", deadline="dispute.decide"),
            State("government", "提请市人民政府决定", party="city_bureau", deadline="dispute.decide"),
            State("settled", "协商一致", final=True),
            State("decided", "已决定", final=True),
        ],
        transitions=[
            Transition("settle", "协商一致", ("negotiation",), "settled", PROVIDER, "provider", needs_comment=True),
            Transition("escalate", "协商不成，提请协调", ("negotiation",), "bureau", PARTIES, "applicant", needs_comment=True),
            Transition("coordinate", "协调解决", ("bureau",), "decided", BUREAU, "bureau", needs_comment=True),
            Transition("refer", "报市主管部门", ("bureau",), "city_bureau", BUREAU, "bureau", needs_comment=True),
            Transition("decide", "市主管部门决定", ("city_bureau",), "decided", BUREAU, "city_bureau", needs_comment=True),
            Transition("to_government", "提请市人民政府决定", ("city_bureau",), "government", BUREAU, "city_bureau",
                       needs_comment=True),
            Transition("record_decision", "登记市人民政府决定", ("government",), "decided", BUREAU, "city_bureau",
                       needs_comment=True),
        ],
    )
)


# Periodic re-evaluation of a conditional entry (S1, SYS Art. 25), opened by the scheduled review.
REEVALUATION = register(
    CaseType(
        name="share_reevaluation",
        label="有条件共享定期评估",
        prefix="PG",
        states=[
            State("evaluating", "提供部门评估", party="provider", deadline="share.reevaluate_answer"),
            State("kept", "维持有条件共享", final=True),
            State("relaxed", "放宽为无条件共享（目录更新已报审）", final=True,
                  on_enter="sharing.services.relax_from_reevaluation"),
        ],
        transitions=[
            Transition("keep", "维持", ("evaluating",), "kept", PROVIDER, "provider", needs_comment=True),
            Transition("relax", "放宽", ("evaluating",), "relaxed", PROVIDER, "provider", needs_comment=True),
        ],
    )
)

# Onward provision to a third party (S7, SYS Art. 33): only with the provider's recorded consent.
ONWARD = register(
    CaseType(
        name="onward_provision",
        label="向第三方提供",
        prefix="ZT",
        states=[
            State("consenting", "提供部门审核", party="provider", deadline="share.onward_consent"),
            State("consented", "已同意", final=True, on_enter="sharing.services.grant_onward"),
            State("refused", "不同意", final=True),
        ],
        transitions=[
            Transition("consent", "同意", ("consenting",), "consented", PROVIDER, "provider"),
            Transition("refuse", "不同意", ("consenting",), "refused", PROVIDER, "provider", needs_comment=True),
        ],
    )
)


# --- what each case decides, for its page (workflow.engine.summary) ---------------------------------------


def request_facts(actor, case):
    """A share request's decision shows the entry, each requested item with its grade, the rows, method,
    period, scenario and legal basis, and the grant once made."""
    from workflow.engine import Fact

    request = case.share_request
    resource = request.resource
    items = {i.column: i for i in resource.items.select_related("published_grade")}
    asked = "、".join(f"{items[c].name}（{items[c].published_grade.name if items[c].published_grade else '未分级'}）"
                     if c in items else c for c in request.items)
    rows = "；".join(f"{items[c].name if c in items else c} ∈ {'、'.join(map(str, v))}" for c, v in request.row_filter.items())
    facts = [
        Fact("数据资源", f"{resource.name}（{resource.provider_name}）", f"/catalog/{resource.pk}/"),
        Fact("共享类型（申请时）", request.get_share_type_display()),
        Fact("申请数据项", asked),
        Fact("数据范围", rows or "全部记录"),
        Fact("共享方式", request.get_method_display()),
        Fact("使用期限至", request.valid_until),
        Fact("应用场景", request.scenario),
        Fact("履职依据", request.basis),
    ]
    if request.grant_id:
        facts.append(Fact("共享授权", request.grant.ref, f"/share/grants/{request.grant.ref}/"))
    return facts


def correction_facts(actor, case):
    """A correction shows the record, the item, its current value (read on the query path, as the reader may
    read it) beside the claimed value, and the reason."""
    from foundation.errors import GongshuError
    from warehouse import query
    from workflow.engine import Fact

    correction = case.correction
    resource = correction.resource
    item = resource.items.filter(column=correction.column).first()
    try:
        result = query.run(actor, resource, scope=query.scope_for(actor, resource, purpose=f"核实纠错 {case.number}"),
                           filters={k: str(v) for k, v in correction.key.items()}, limit=1)
        current = result.records[0].get(correction.column, "") if result.rows else "（数据中没有这条记录）"
    except GongshuError:
        current = "（您无权查看该数据的当前值）"
    return [
        Fact("数据资源", resource.name, f"/catalog/{resource.pk}/"),
        Fact("记录", "；".join(f"{k}={v}" for k, v in correction.key.items())),
        Fact("数据项", item.name if item else correction.column),
        Fact("当前值", current),
        Fact("应为", correction.claimed_value),
        Fact("理由或依据", correction.reason),
        Fact("来源", correction.get_source_display()),
    ]
