"""Catalog shapes as the demo city's agencies fill them in."""

import datetime as dt


def entry_fields(**overrides):
    fields = {
        "name": "流动人口居住登记信息",
        "summary": "流动人口居住登记、变更登记和居住证办理信息。",
        "data_format": "table",
        "industry_category": "S",
        "update_frequency": "daily",
        "share_type": "conditional",
        "share_conditions": "仅限依法履职需要",
        "share_methods": ["api"],
        "open_type": "not_open",
        "legal_basis": "《居住证暂行条例》",
        "temporal_start": dt.date(2016, 1, 1),
        "category": "P7",
    }
    fields.update(overrides)
    return fields


def entry_items():
    return [
        {"name": "公民身份号码", "column": "citizen_id", "data_type": "string", "is_key": True, "required": True,
         "category": "P1", "grade": "general_sensitive", "sensitivity": "citizen_id"},
        {"name": "姓名", "column": "name", "data_type": "string", "required": True,
         "category": "P1", "grade": "general_sensitive", "sensitivity": "name"},
        {"name": "居住地址", "column": "address", "data_type": "string",
         "category": "P7", "grade": "general_internal"},
    ]
