"""Machine-readable exports of the published catalog (C7): DCAT-AP 3 JSON-LD, CSV and XLSX with
Chinese headers, and CKAN-style package dicts (so CKAN harvesters can read the catalog as it is)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db.models import F

from foundation import textfiles

from .models import DataItem, IndustryCategory, Resource, ResourceVersion

FREQUENCY = {
    "realtime": "CONT", "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "quarterly": "QUARTERLY",
    "yearly": "ANNUAL", "irregular": "IRREG",
}
ACCESS_RIGHTS = {"unconditional": "PUBLIC", "conditional": "RESTRICTED", "not_open": "NON_PUBLIC"}
EU_FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
EU_ACCESS = "http://publications.europa.eu/resource/authority/access-right/"
EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "gongshu": "https://gongshu.example/ns#",
}
_LABELS = {
    "data_format": dict(Resource.DataFormat.choices),
    "update_frequency": dict(Resource.UpdateFrequency.choices),
    "share_type": dict(Resource.ShareType.choices),
    "share_methods": dict(Resource.ShareMethod.choices),
    "open_type": dict(Resource.OpenType.choices),
    "operation_status": dict(Resource.OperationStatus.choices),
    "industry_category": dict(IndustryCategory.choices),
    "data_type": dict(DataItem.DataType.choices),
}


def label(field: str, value) -> str:
    if isinstance(value, list):
        return "、".join(str(_LABELS[field].get(v, v)) for v in value)
    return str(_LABELS.get(field, {}).get(value, value if value is not None else ""))


def published(resources) -> Iterator[tuple[Resource, dict]]:
    """Each published entry with the data of its version in force (not the working copy)."""
    versions = (
        ResourceVersion.objects.filter(resource__in=resources.values("pk"), number=F("resource__published_version"))
        .select_related("resource__provider", "resource__spatial_coverage", "resource__grade")
        .order_by("resource__code")
    )
    for version in versions.iterator(chunk_size=1000):
        yield version.resource, version.data


# --- DCAT-AP 3 ------------------------------------------------------------------------------------


def _zh(text: str) -> dict:
    return {"@value": text or "", "@language": "zh"}


def _date(value: str | None, kind: str = "date") -> dict | None:
    return {"@value": value, "@type": f"xsd:{kind}"} if value else None


def dcat_dataset(resource: Resource, data: dict, base: str) -> dict:
    provider = data["provider"]
    spatial = data.get("spatial_coverage") or {}
    dataset = {
        "@id": f"{base}/catalog/{resource.pk}/",
        "@type": "dcat:Dataset",
        "dct:identifier": resource.code,
        "dct:title": _zh(data["name"]),
        "dct:description": _zh(data.get("summary", "")),
        "dct:publisher": {
            "@id": f"{base}/organisations/{provider['code']}",
            "@type": "foaf:Organization",
            "foaf:name": _zh(provider["name"]),
            "dct:identifier": provider["code"],
        },
        "dcat:theme": [
            {"@id": f"{base}/themes/industry/{data.get('industry_category')}", "@type": "skos:Concept",
             "skos:prefLabel": _zh(label("industry_category", data.get("industry_category")))},
        ],
        "dct:spatial": {
            "@id": f"{base}/regions/{spatial.get('code', '')}", "@type": "dct:Location",
            "skos:prefLabel": _zh(spatial.get("name", "")), "dct:identifier": spatial.get("code", ""),
        },
        "dct:accessRights": {"@id": EU_ACCESS + ACCESS_RIGHTS.get(data.get("open_type"), "NON_PUBLIC")},
        "dcat:keyword": [_zh(item["name"]) for item in data.get("items", [])],
        "dcat:version": str(resource.published_version),
        "dct:issued": _date(resource.published_at and resource.published_at.isoformat(), "dateTime"),
        "gongshu:shareType": data.get("share_type"),
        "gongshu:shareConditions": _zh(data.get("share_conditions", "")),
        "gongshu:openConditions": _zh(data.get("open_conditions", "")),
        "gongshu:operationStatus": data.get("operation_status"),
        "gongshu:legalBasis": _zh(data.get("legal_basis", "")),
        "gongshu:dataItem": [
            {"@type": "gongshu:DataItem", "dct:title": _zh(i["name"]), "gongshu:column": i["column"],
             "gongshu:format": i["data_type"], "gongshu:grade": i.get("grade", "")}
            for i in data.get("items", [])
        ],
        "dcat:distribution": [
            {
                "@id": f"{base}/catalog/{resource.pk}/distribution/{method}",
                "@type": "dcat:Distribution",
                "dct:title": _zh(label("share_methods", method)),
                "dcat:accessURL": {"@id": f"{base}/catalog/{resource.pk}/"},
                "dct:format": {"@id": EU_FILE_TYPE + ("JSON" if method == "api" else "CSV")},
            }
            for method in data.get("share_methods") or []
        ],
    }
    if data.get("update_frequency") in FREQUENCY:
        dataset["dct:accrualPeriodicity"] = {"@id": EU_FREQUENCY + FREQUENCY[data["update_frequency"]]}
    if data.get("temporal_start") or data.get("temporal_end"):
        dataset["dct:temporal"] = {
            "@type": "dct:PeriodOfTime",
            **({"dcat:startDate": _date(data["temporal_start"])} if data.get("temporal_start") else {}),
            **({"dcat:endDate": _date(data["temporal_end"])} if data.get("temporal_end") else {}),
        }
    return {k: v for k, v in dataset.items() if v is not None}


def dcat_catalog(rows: Iterable[tuple[Resource, dict]], *, base: str, title: str) -> dict:
    return {
        "@context": CONTEXT,
        "@id": f"{base}/catalog.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": _zh(title),
        "dcat:dataset": [dcat_dataset(resource, data, base) for resource, data in rows],
    }


# --- tables ---------------------------------------------------------------------------------------

COLUMNS = [
    ("目录编码", lambda r, d: r.code),
    ("数据资源名称", lambda r, d: d["name"]),
    ("数据资源摘要", lambda r, d: d.get("summary", "")),
    ("数据格式", lambda r, d: label("data_format", d.get("data_format"))),
    ("行业分类", lambda r, d: label("industry_category", d.get("industry_category"))),
    ("数据覆盖时间（起）", lambda r, d: d.get("temporal_start") or ""),
    ("数据覆盖时间（止）", lambda r, d: d.get("temporal_end") or ""),
    ("数据覆盖地域", lambda r, d: (d.get("spatial_coverage") or {}).get("name", "")),
    ("更新频率", lambda r, d: label("update_frequency", d.get("update_frequency"))),
    ("数据资源提供方名称", lambda r, d: d["provider"]["name"]),
    ("数据资源提供方代码", lambda r, d: d["provider"]["code"]),
    ("共享类型", lambda r, d: label("share_type", d.get("share_type"))),
    ("共享条件", lambda r, d: d.get("share_conditions", "")),
    ("共享方式", lambda r, d: label("share_methods", d.get("share_methods") or [])),
    ("是否向社会开放", lambda r, d: "否" if d.get("open_type") == "not_open" else "是"),
    ("开放条件", lambda r, d: d.get("open_conditions", "")),
    ("授权运营状态", lambda r, d: label("operation_status", d.get("operation_status"))),
    ("授权运营应用场景", lambda r, d: d.get("operation_scenarios", "")),
    ("数据项", lambda r, d: "；".join(f"{i['name']}（{label('data_type', i['data_type'])}）" for i in d.get("items", []))),
    ("数据分级", lambda r, d: r.grade.name if r.grade_id else ""),
    ("法律法规依据", lambda r, d: d.get("legal_basis", "")),
    ("版本", lambda r, d: r.published_version),
    ("发布时间", lambda r, d: r.published_at.strftime("%Y-%m-%d %H:%M") if r.published_at else ""),
]


def table(rows: Iterable[tuple[Resource, dict]]) -> Iterator[list]:
    yield [name for name, _ in COLUMNS]
    for resource, data in rows:
        yield [fn(resource, data) for _, fn in COLUMNS]


# One writer for every spreadsheet the platform hands out (formula-like text neutralised): see foundation.textfiles.
csv_bytes = textfiles.csv_bytes


def xlsx_bytes(rows: Iterable[list], *, sheet: str = "公共数据资源目录") -> bytes:
    return textfiles.xlsx_bytes(rows, sheet=sheet)


# --- CKAN-style (package_search / package_show) --------------------------------------------------


def ckan_package(resource: Resource, data: dict, base: str) -> dict:
    return {
        "id": resource.code,
        "name": resource.code.lower(),
        "title": data["name"],
        "notes": data.get("summary", ""),
        "version": str(resource.published_version),
        "metadata_modified": resource.published_at.isoformat() if resource.published_at else None,
        "organization": {"name": data["provider"]["code"], "title": data["provider"]["name"]},
        "url": f"{base}/catalog/{resource.pk}/",
        "tags": [{"name": i["name"]} for i in data.get("items", [])],
        "resources": [
            {"name": label("share_methods", m), "format": "JSON" if m == "api" else "CSV", "url": f"{base}/catalog/{resource.pk}/"}
            for m in data.get("share_methods") or []
        ],
        "extras": [
            {"key": key, "value": label(key, data.get(key))}
            for key in ("share_type", "open_type", "update_frequency", "industry_category", "operation_status")
        ],
    }
