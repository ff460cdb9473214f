"""The audit actions of the warehouse (SEC1): batches and snapshots, front-end machines, source databases
and extraction, housekeeping, and every read through the one query path (``warehouse.usage.ACTION``)."""

from audit.actions import declare

from . import usage

declare({
    usage.ACTION: "查询数据",
    "warehouse.open_batch": "接收数据批次",
    "warehouse.refuse_batch": "退回数据批次",
    "warehouse.publish_snapshot": "发布数据快照",
    "warehouse.encrypt_snapshot": "加密数据快照",
    "warehouse.assign_issue": "指定问题数据更正人",
    "warehouse.assign_problem_data": "问题数据分派提供部门核实更正",
    "warehouse.request_governance": "提出数据治理需求",
    "warehouse.report_problem_data": "登记并分派发现的问题数据",
    "warehouse.resolve_problem_data": "问题数据已核实更正",
    "warehouse.collect_garbage": "清理无主数据文件",
    "warehouse.flag_stale_data": "提示数据逾期未更新",
    "warehouse.purge_usage_logs": "清理到期使用日志",
    "warehouse.register_front_end": "登记前置机",
    "warehouse.authenticate_push": "前置机推送认证",
    "warehouse.register_source_database": "登记源数据库",
    "warehouse.approve_source_database": "批准源数据库",
    "warehouse.refuse_source_database": "不予批准源数据库",
    "warehouse.withdraw_source_database": "撤回源数据库登记",
    "warehouse.suspend_source_database": "暂停源数据库抽取",
    "warehouse.reinstate_source_database": "恢复源数据库抽取",
    "warehouse.add_source_host": "源数据库网络加入白名单",
    "warehouse.remove_source_host": "源数据库网络移出白名单",
    "warehouse.register_extraction": "登记库表抽取",
    "warehouse.run_extraction": "执行库表抽取",
})
