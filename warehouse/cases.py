"""The warehouse's cases as declarations on the workflow engine.

The review of a source database for extraction (A1): the agency registers the database it wants
extracted; the bureau of its region approves it, or refuses it with its reasons, within the rulebook's
deadline (a platform default: SYS is silent on it). Only an approved source is ever read; the bureau may
later suspend it (``services.suspend_source_database``).

A data-governance request (SYS Art. 17(3)): an agency asks the bureau of its level to govern data with it;
the bureau takes it into its planned governance work (saying how and when), or declines with its reasons,
within the rulebook's deadline; the agency may withdraw while it waits.

Problem data (A3): problem rows found by the quality checks of a batch, or a problem reported in a
resource's data, are assigned by the bureau or the service centre to the providing agency, which verifies
and corrects them within the rulebook's deadline and reports what it did; the assigner accepts the report
or returns it.
"""

from core.models import Role
from workflow.engine import CaseType, State, Transition, register

BUREAU = frozenset({Role.BUREAU_ADMIN})
OWNER = frozenset({Role.DATA_OFFICER, Role.SERVICE_CENTRE_STAFF})  # who registers a source (data.register_source)
# who delivers a provider's data (data.ingest; the service centre provides the bases, SYS Art. 19)
PROVIDER = frozenset({Role.DATA_OFFICER, Role.AGENCY_STAFF, Role.SERVICE_CENTRE_STAFF})
# who notifies the provider of problem data: the bureau, or the body it designates (SYS Art. 28(1)) — the
# service centre, which governs the aggregated data (SYS Art. 10(3))
ASSIGNER = frozenset({Role.BUREAU_ADMIN, Role.SERVICE_CENTRE_STAFF})

SOURCE_DATABASE_REVIEW = register(
    CaseType(
        name="source_database_review",
        label="源数据库审核",
        prefix="YK",
        states=[
            # SYS Art. 17, 60: platform default deadline (extraction.source_review)
            State("bureau_review", "主管部门审核", party="bureau", deadline="extraction.source_review"),
            State("approved", "已批准", final=True, on_enter="warehouse.services.approve_source_database"),
            State("refused", "未批准", final=True, on_enter="warehouse.services.refuse_source_database"),
            State("withdrawn", "已撤回", final=True, on_enter="warehouse.services.withdraw_source_database"),
        ],
        transitions=[
            Transition("approve", "批准", ("bureau_review",), "approved", BUREAU, "bureau"),
            Transition("refuse", "不予批准", ("bureau_review",), "refused", BUREAU, "bureau", needs_comment=True),
            Transition("withdraw", "撤回登记", ("bureau_review",), "withdrawn", OWNER, "owner"),
        ],
    )
)

# SYS Art. 28(2): the provider verifies and corrects within 5 wd of the notice and reports the result;
# SYS Art. 17(2): problem data traceable and accountable.
PROBLEM_DATA = register(
    CaseType(
        name="problem_data",
        label="问题数据核实更正",
        prefix="WT",
        states=[
            State("fixing", "提供部门核实更正", party="provider", deadline="quality.problem_fix"),
            State("reviewing", "分派方确认处理结果", party="assigner", deadline="quality.problem_review"),
            State("resolved", "已处理", final=True, on_enter="warehouse.services.resolve_problem_data"),
        ],
        transitions=[
            Transition("report", "报送核实更正结果", ("fixing",), "reviewing", PROVIDER, "provider", needs_comment=True),
            Transition("accept", "确认已处理", ("reviewing",), "resolved", ASSIGNER, "assigner"),
            Transition("return", "退回重新处理", ("reviewing",), "fixing", ASSIGNER, "assigner", needs_comment=True),
        ],
    )
)


GOVERNANCE_REQUEST = register(
    CaseType(
        name="governance_request",
        label="数据治理需求",
        prefix="ZL",
        states=[
            State("bureau_review", "主管部门研究", party="bureau", deadline="governance.answer"),
            State("planned", "纳入统筹治理", final=True),  # the answer says how and when
            State("declined", "暂不开展", final=True),
            State("withdrawn", "已撤回", final=True),
        ],
        transitions=[
            Transition("plan", "纳入统筹治理", ("bureau_review",), "planned", BUREAU, "bureau", needs_comment=True),
            Transition("decline", "暂不开展", ("bureau_review",), "declined", BUREAU, "bureau", needs_comment=True),
            Transition("withdraw", "撤回需求", ("bureau_review",), "withdrawn", PROVIDER, "applicant"),
        ],
    )
)
