"""Sensitive-data discovery (G4): suggest a sensitivity type and grade per column of a sample.

Identifiers are recognised by their check digits (citizen ID GB 11643, USCC GB 32100, bank card
Luhn), not by their shape alone; a suggestion is made when the share of matching non-empty values
reaches the rulebook's threshold. The data officer then confirms or rejects it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from stdnum import luhn

from foundation import rulebook
from foundation.identifiers import citizen_id_problem, uscc_problem

from .scheme import sensitivity_types

_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟"
    "谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢"
    "安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游"
    "辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应"
    "臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_COMPOUND_SURNAMES = {"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "令狐", "宇文", "夏侯", "端木"}
_CJK = re.compile(r"^[\u4e00-\u9fff·]+$")
_MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
_PLATE = re.compile(
    r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]$"
)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_ADDRESS_MARKERS = re.compile(r"省|自治区|市|区|县|旗|镇|乡|街道|路|街|巷|道|号|村|社区|小区|栋|幢|单元|室|楼")


def _is_name(value: str) -> bool:
    if not (2 <= len(value) <= 4 and _CJK.match(value)):
        return False
    return value[0] in _SURNAMES or value[:2] in _COMPOUND_SURNAMES


def _is_address(value: str) -> bool:
    return len(value) >= 6 and "\u4e00" <= value[0] <= "\u9fff" and len(_ADDRESS_MARKERS.findall(value)) >= 2


def _is_bank_card(value: str) -> bool:
    return value.isdigit() and 16 <= len(value) <= 19 and value[0] in "3456" and luhn.is_valid(value)


def _compact(value: str) -> str:
    return value.replace(" ", "").replace("-", "")


# Order matters only for ties: the first, most specific, wins.
DETECTORS: dict[str, Callable[[str], bool]] = {
    "citizen_id": lambda v: len(v) == 18 and citizen_id_problem(v) is None,
    "uscc": lambda v: len(v) == 18 and uscc_problem(v) is None,
    "bank_card": lambda v: _is_bank_card(_compact(v)),
    "mobile": lambda v: bool(_MOBILE.match(_compact(v))),
    "plate": lambda v: bool(_PLATE.match(v.upper())),
    "email": lambda v: bool(_EMAIL.match(v)),
    "name": _is_name,
    "address": _is_address,
}


@dataclass(frozen=True)
class Finding:
    column: str
    sensitivity: str
    label: str
    share: float
    matched: int
    non_empty: int
    category: str
    grade: str


def discover(columns: list[str], rows: Iterable) -> list[Finding]:
    """One finding per column whose values are mostly of one sensitive type (share ≥ rulebook threshold)."""
    threshold = float(rulebook.value("grading.discovery.min_share"))
    limit = int(rulebook.value("grading.discovery.sample_rows"))
    types = sensitivity_types()
    values: dict[str, list[str]] = {c: [] for c in columns}
    for n, row in enumerate(rows):
        if n >= limit:
            break
        cells = row if isinstance(row, (list, tuple)) else [row.get(c) for c in columns]
        for column, cell in zip(columns, cells):
            text = "" if cell is None else str(cell).strip()
            if text:
                values[column].append(text)
    findings = []
    for column, present in values.items():
        if not present:
            continue
        best = None
        for key, detector in DETECTORS.items():
            matched = sum(1 for v in present if detector(v))
            if best is None or matched > best[1]:
                best = (key, matched)
        key, matched = best
        share = matched / len(present)
        if matched and share >= threshold and key in types:
            t = types[key]
            findings.append(Finding(column, key, t.label, round(share, 4), matched, len(present), t.category, t.grade))
    return findings
