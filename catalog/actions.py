"""The audit actions of the catalog (SEC1): entries and their review, grade suggestions, lists, projects."""

from audit.actions import declare

declare({
    "catalog.draft_resource": "起草目录",
    "catalog.update_draft": "修改目录工作稿",
    "catalog.submit_resource": "提交目录审核",
    "catalog.record_basis_change": "登记法律依据或法定职能变化",
    "catalog.publish_version": "发布目录版本",
    "catalog.suggest_grades": "生成分类分级建议",
    "catalog.decide_suggestion": "确认或驳回分级建议",
    "catalog.add_list_entry": "添加清单条目",
    "catalog.register_project": "信息化项目备案",
    "catalog.file_project_resources": "报送项目数据资源目录",
    "catalog.accept_project": "信息化项目验收",
    # the review is opened by the submission itself (catalog.services.submit_resource names the step)
    "workflow.catalog_review.submit": "目录审核：提交审核",
    "workflow.catalog_update_review.submit": "目录更新审核：提交审核",
})
