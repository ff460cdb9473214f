"""The review of a source database for extraction (A1) as a declaration on the workflow engine.

The agency registers the database it wants extracted; the bureau of its region approves it, or refuses
it with its reasons, within the rulebook's deadline (a platform default: SYS is silent on it). Only an
approved source is ever read; the bureau may later suspend it (``services.suspend_source_database``).
"""

from core.models import Role
from workflow.engine import CaseType, State, Transition, register

BUREAU = frozenset({Role.BUREAU_ADMIN})
OWNER = frozenset({Role.DATA_OFFICER, Role.SERVICE_CENTRE_STAFF})  # who registers a source (data.register_source)


class _Hooks(dict):
    """Hooks resolved on first use, so declaring the case type imports no services."""

    def get(self, key, default=None):
        if not self:
            from . import services

            self.update({"approved": services.approve_source_database, "refused": services.refuse_source_database,
                         "withdrawn": services.withdraw_source_database})
        return super().get(key, default)


SOURCE_DATABASE_REVIEW = register(
    CaseType(
        name="source_database_review",
        label="源数据库审核",
        prefix="YK",
        states=[
            # SYS Art. 17, 60: platform default deadline (extraction.source_review)
            State("bureau_review", "主管部门审核", party="bureau", deadline="extraction.source_review"),
            State("approved", "已批准", final=True),
            State("refused", "未批准", final=True),
            State("withdrawn", "已撤回", final=True),
        ],
        transitions=[
            Transition("approve", "批准", ("bureau_review",), "approved", BUREAU, "bureau"),
            Transition("refuse", "不予批准", ("bureau_review",), "refused", BUREAU, "bureau", needs_comment=True),
            Transition("withdraw", "撤回登记", ("bureau_review",), "withdrawn", OWNER, "owner"),
        ],
        on_enter=_Hooks(),
    )
)
