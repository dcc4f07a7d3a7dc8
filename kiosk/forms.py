"""Application forms: a schema per service item, and validation a visitor can act on.

Every item gets a default applicant form derived from its ``kind`` (who applies, how to reach
them, what the matter is); an item whose catalog entry carries a ``form`` adds fields to it (or
replaces a default field of the same name). Validation uses the real check characters: GB 11643
for resident ID numbers (kiosk.idnumbers), GB 32100 for unified social credit codes. Text is
cleaned of what a visitor cannot see (control characters, bidi overrides, zero-width marks) and
refused when too long; each error carries a ui.json key so it is shown in the visitor's language.
No Qt here: the form screen renders these fields and calls ``validate_field`` as the visitor types.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from kiosk.i18n import pick, tr
from kiosk.idnumbers import IdNumberError, parse_resident_id

FIELD_TYPES = ("text", "id_number", "phone", "credit_code", "date", "amount", "choice")
TEXT_MAX = 200  # one line of a form: a name, an address
LONG_TEXT_MAX = 2000  # a complaint or a description


class FormSchemaError(ValueError):
    """A catalog form schema is malformed; the message names the item and the field."""


# --- schema --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    value: str
    label: dict


@dataclass(frozen=True)
class Field:
    """One form field. ``when`` shows it only if another field has one of some values."""

    name: str
    type: str
    label: dict
    required: bool = True
    pattern: str | None = None
    choices: tuple[Choice, ...] = ()
    help: dict | None = None
    when: dict | None = None  # {"field": "applicant_type", "in": ["company"]}
    max_length: int = TEXT_MAX
    multiline: bool = False
    dates: str | None = None  # "past" (not after today) | "future" (not before today)
    source: str | None = None  # filled from the ID card: "card.name" | "card.id_number"

    def title(self, lang: str) -> str:
        return pick(self.label, lang)

    def shown(self, values: dict[str, Any]) -> bool:
        """Whether the field applies given the other answers (its ``when`` condition)."""
        if not self.when:
            return True
        return str(values.get(self.when["field"], "")) in self.when["in"]


@dataclass(frozen=True)
class FormSchema:
    item_code: str
    fields: tuple[Field, ...]
    rules: tuple[dict, ...] = ()  # item rules checked by pre-review, e.g. {"type": "min_age"}

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def visible(self, values: dict[str, Any]) -> list[Field]:
        return [f for f in self.fields if f.shown(values)]


def _t(zh: str, hant: str, en: str) -> dict:
    return {"zh-Hans": zh, "zh-Hant": hant, "en": en}


APPLICANT_TYPE = Field(
    "applicant_type", "choice", _t("申请人类型", "申請人類型", "Applicant"),
    choices=(Choice("person", _t("个人", "個人", "A person")),
             Choice("company", _t("企业或组织", "企業或組織", "A company or organisation"))),
)
NAME = Field("name", "text", _t("申请人姓名", "申請人姓名", "Applicant's name"),
             max_length=50, source="card.name",
             help=_t("读取身份证后自动填写", "讀取身份證後自動填寫", "Filled in from the ID card"))
ID_NUMBER = Field("id_number", "id_number", _t("身份证号码", "身份證號碼", "ID card number"),
                  source="card.id_number",
                  help=_t("18 位，最后一位可能是 X", "18 位，最後一位可能是 X",
                          "18 characters; the last may be X"))
PHONE = Field("phone", "phone", _t("联系电话", "聯繫電話", "Phone number"),
              help=_t("手机号码或带区号的固定电话", "手機號碼或帶區號的固定電話",
                      "A mobile number, or a landline with its area code"))
COMPANY = Field("company_name", "text", _t("企业（组织）名称", "企業（組織）名稱",
                                           "Name of the company or organisation"),
                when={"field": "applicant_type", "in": ["company"]}, max_length=100)
CREDIT_CODE = Field("credit_code", "credit_code",
                    _t("统一社会信用代码", "統一社會信用代碼", "Unified social credit code"),
                    when={"field": "applicant_type", "in": ["company"]},
                    help=_t("营业执照上的 18 位代码", "營業執照上的 18 位代碼",
                            "The 18-character code on the business licence"))
ADDRESS = Field("address", "text", _t("联系地址", "聯繫地址", "Address"), required=False,
                max_length=120)
NOTE = Field("note", "text", _t("补充说明", "補充說明", "Anything to add"), required=False,
             max_length=LONG_TEXT_MAX, multiline=True)

_PERSON = (NAME, ID_NUMBER, PHONE)
_EITHER = (APPLICANT_TYPE, NAME, ID_NUMBER, PHONE, COMPANY, CREDIT_CODE, ADDRESS)

DEFAULT_FIELDS: dict[str, tuple[Field, ...]] = {
    "licence": _EITHER + (NOTE,),
    "confirmation": _EITHER + (NOTE,),
    "filing": _EITHER + (NOTE,),
    "inspection": _EITHER + (
        Field("preferred_date", "date", _t("希望检验日期", "希望檢驗日期", "Preferred date"),
              required=False, dates="future"),
        NOTE,
    ),
    "public_service": _PERSON + (ADDRESS, NOTE),
    "complaint": _PERSON + (
        Field("incident_date", "date", _t("事发日期", "事發日期", "Date it happened"),
              dates="past"),
        Field("amount", "amount", _t("涉及金额（元）", "涉及金額（元）", "Amount involved (yuan)"),
              required=False),
        Field("details", "text", _t("投诉举报内容", "投訴舉報內容", "What happened"),
              max_length=LONG_TEXT_MAX, multiline=True),
    ),
    "other": _PERSON + (ADDRESS, NOTE),
}
# A person applying for a licence must be of full civil capacity (18 and over).
DEFAULT_RULES: dict[str, tuple[dict, ...]] = {"licence": ({"type": "min_age", "years": 18},)}


def _text3(value: Any, where: str) -> dict:
    if not isinstance(value, dict) or not isinstance(value.get("zh-Hans"), str):
        raise FormSchemaError(f"{where}: needs a text with at least zh-Hans")
    return value


def _parse_field(raw: Any, where: str) -> Field:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise FormSchemaError(f"{where}: a field needs a 'name'")
    where = f"{where} {raw['name']}"
    kind = raw.get("type")
    if kind not in FIELD_TYPES:
        raise FormSchemaError(f"{where}: type {kind!r} is not one of {', '.join(FIELD_TYPES)}")
    pattern = raw.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise FormSchemaError(f"{where}: pattern does not compile ({exc})") from None
    choices = tuple(Choice(str(c["value"]), _text3(c.get("label"), f"{where} choice"))
                    for c in raw.get("choices", []))
    if kind == "choice" and not choices:
        raise FormSchemaError(f"{where}: a choice field needs 'choices'")
    when = raw.get("when")
    if when is not None and (not isinstance(when, dict) or "field" not in when):
        raise FormSchemaError(f"{where}: 'when' needs a 'field' and 'equals' or 'in'")
    if when is not None:
        values = when.get("in", [when.get("equals")])
        when = {"field": when["field"], "in": [str(v) for v in values]}
    if raw.get("dates") not in (None, "past", "future"):
        raise FormSchemaError(f"{where}: 'dates' is 'past' or 'future'")
    multiline = bool(raw.get("multiline", False))
    return Field(
        raw["name"], kind, _text3(raw.get("label"), where), bool(raw.get("required", True)),
        pattern, choices, _text3(raw["help"], f"{where} help") if raw.get("help") else None,
        when, int(raw.get("max_length", LONG_TEXT_MAX if multiline else TEXT_MAX)), multiline,
        raw.get("dates"), None,
    )


def form_for_item(item: dict) -> FormSchema:
    """The item's form: the default for its kind, plus (or overridden by) its catalog ``form``."""
    fields = {f.name: f for f in DEFAULT_FIELDS.get(item.get("kind", "other"), DEFAULT_FIELDS["other"])}
    rules = list(DEFAULT_RULES.get(item.get("kind", ""), ()))
    extra = item.get("form") or {}
    where = f"item {item.get('code', '?')}, form field"
    for raw in extra.get("fields", []):
        parsed = _parse_field(raw, where)
        fields[parsed.name] = parsed
    rules += list(extra.get("rules", []))
    for f in fields.values():
        if f.when and f.when["field"] not in fields:
            raise FormSchemaError(f"{where} {f.name}: 'when' names unknown field {f.when['field']}")
    return FormSchema(item.get("code", ""), tuple(fields.values()), tuple(rules))


# --- cleaning ------------------------------------------------------------------------------------

# Characters a visitor cannot see or that reorder what is shown: bidi embeddings, overrides and
# isolates, the RLM/LRM/ALM marks, zero-width characters, the BOM.
_INVISIBLE = re.compile(
    "[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]"
)


def clean_text(value: Any, *, multiline: bool = False) -> str:
    """Text as a form stores it: NFC, no control or invisible characters, trimmed.

    Tabs become spaces; newlines survive only in multi-line fields; lone surrogates (which no
    encoder accepts) are dropped.
    """
    text = unicodedata.normalize("NFC", str(value))
    text = text.encode("utf-8", "ignore").decode("utf-8") if _has_surrogates(text) else text
    text = _INVISIBLE.sub("", text).replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n")
    keep = "\n" if multiline else ""
    text = "".join(ch for ch in text if ch in keep or unicodedata.category(ch) not in ("Cc", "Cs"))
    if not multiline:
        text = re.sub(r" {2,}", " ", text)
    return text.strip()


def strip_invisible(text: str) -> str:
    """``text`` without bidi controls, zero-width marks and control characters (newlines kept):
    what an input box may show while the visitor types, before the full clean_text on submit."""
    text = _INVISIBLE.sub("", text)
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc")


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# --- check characters ----------------------------------------------------------------------------

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    """GB 32100-2015 check character for the first 17 characters of a credit code."""
    if len(first17) != 17 or any(ch not in _USCC_CHARS for ch in first17):
        raise ValueError("the first 17 characters must be digits or capitals other than I O S V Z")
    total = sum(_USCC_CHARS.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def is_valid_credit_code(text: str) -> bool:
    """True for an 18-character unified social credit code with the right check character."""
    code = text.strip().upper()
    return (len(code) == 18 and all(ch in _USCC_CHARS for ch in code)
            and credit_code_check_char(code[:17]) == code[17])


# --- validation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one field, as a ui.json key with its values."""

    field: str
    key: str
    values: dict = field(default_factory=dict)

    def message(self, lang: str, label: str = "") -> str:
        return tr(self.key, lang, label=label, **self.values)


_PHONE_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(-\d{1,6})?")
_DATE_FORMS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
AMOUNT_MAX = Decimal("1000000000000")  # a trillion yuan: anything larger is a typing slip


def _id_error_key(number: str, exc: IdNumberError) -> str:
    text = str(exc)
    if len(number) != 18:
        return "form.error.id_length"
    if "check digit" in text:
        return "form.error.id_check"
    if "region" in text:
        return "form.error.id_region"
    if "birth" in text:
        return "form.error.id_birth"
    return "form.error.id_chars"


def validate_field(f: Field, raw: Any, *, today: date | None = None) -> tuple[str, FieldError | None]:
    """Clean one answer and check it; returns (cleaned value, error or None).

    An empty answer is an error only for a required field.
    """
    today = today or date.today()
    value = clean_text("" if raw is None else raw, multiline=f.multiline)
    if not value:
        return "", FieldError(f.name, "form.error.required") if f.required else None
    if len(value) > f.max_length:
        return value, FieldError(f.name, "form.error.too_long", {"max": f.max_length})
    if f.type == "text":
        if f.pattern and not re.fullmatch(f.pattern, value):
            return value, FieldError(f.name, "form.error.pattern")
        return value, None
    if f.type == "id_number":
        number = value.replace(" ", "").upper()
        try:
            return parse_resident_id(number, today=today).number, None
        except IdNumberError as exc:
            return number, FieldError(f.name, _id_error_key(number, exc))
    if f.type == "phone":
        number = re.sub(r"[\s()]", "", value)
        number = re.sub(r"^(\+86|0086)-?", "", number)
        if _PHONE_MOBILE.fullmatch(number) or _PHONE_LANDLINE.fullmatch(number):
            return number, None
        return number, FieldError(f.name, "form.error.phone")
    if f.type == "credit_code":
        code = value.replace(" ", "").upper()
        if len(code) != 18:
            return code, FieldError(f.name, "form.error.credit_length")
        if any(ch not in _USCC_CHARS for ch in code):
            return code, FieldError(f.name, "form.error.credit_chars")
        if credit_code_check_char(code[:17]) != code[17]:
            return code, FieldError(f.name, "form.error.credit_check")
        return code, None
    if f.type == "date":
        return _check_date(f, value, today)
    if f.type == "amount":
        return _check_amount(f, value)
    if f.type == "choice":
        if value not in {c.value for c in f.choices}:
            return value, FieldError(f.name, "form.error.choice")
        return value, None
    raise FormSchemaError(f"field {f.name}: unknown type {f.type}")


def _check_date(f: Field, value: str, today: date) -> tuple[str, FieldError | None]:
    for form in _DATE_FORMS:
        m = form.fullmatch(value.replace(" ", ""))
        if m:
            try:
                day = date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return value, FieldError(f.name, "form.error.date")
            if f.dates == "past" and day > today:
                return day.isoformat(), FieldError(f.name, "form.error.date_future")
            if f.dates == "future" and day < today:
                return day.isoformat(), FieldError(f.name, "form.error.date_past")
            return day.isoformat(), None
    return value, FieldError(f.name, "form.error.date")


def _check_amount(f: Field, value: str) -> tuple[str, FieldError | None]:
    text = re.sub(r"[\s,，¥￥元]", "", value)
    if not re.fullmatch(r"\d+(\.\d{1,2})?", text):
        return value, FieldError(f.name, "form.error.amount")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return value, FieldError(f.name, "form.error.amount")
    if amount > AMOUNT_MAX:
        return value, FieldError(f.name, "form.error.amount")
    return f"{amount:.2f}", None


@dataclass(frozen=True)
class FormResult:
    values: dict[str, str]  # cleaned answers of the fields that apply (hidden ones dropped)
    errors: list[FieldError]

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_form(schema: FormSchema, answers: dict[str, Any], *,
                  today: date | None = None) -> FormResult:
    """Clean and check every field that applies; hidden fields are neither checked nor kept."""
    values: dict[str, str] = {}
    errors: list[FieldError] = []
    # ``when`` looks at the cleaned answer of the controlling field, so clean choices first.
    cleaned = {k: clean_text(v) if isinstance(v, str) else v for k, v in answers.items()}
    for f in schema.fields:
        if not f.shown(cleaned):
            continue
        value, error = validate_field(f, answers.get(f.name), today=today)
        if value:
            values[f.name] = value
        if error is not None:
            errors.append(error)
    return FormResult(values, errors)


def fill_from_card(schema: FormSchema, card: Any) -> dict[str, str]:
    """Answers taken from an ID card (kiosk.devices.idcard.IdCard): the fields with a source."""
    answers = {}
    for f in schema.fields:
        if f.source and f.source.startswith("card."):
            value = getattr(card, f.source[5:], None)
            if value:
                answers[f.name] = clean_text(value)
    return answers
