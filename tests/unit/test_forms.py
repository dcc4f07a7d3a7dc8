"""Form schemas and validation with real check characters (GB 11643, GB 32100) and hostile input."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk import forms
from kiosk.forms import (
    Field,
    FormSchemaError,
    clean_text,
    credit_code_check_char,
    fill_from_card,
    form_for_item,
    is_valid_credit_code,
    validate_field,
    validate_form,
)

TODAY = date(2026, 12, 7)
# Published codes of real enterprises plus the example of GB 32100-2015 itself.
REAL_CREDIT_CODES = ["91350100M000100Y43", "91440300708461136T", "91110108551385082Q",
                     "914403001922038216", "91330100799655058B"]


def _item(kind: str, form: dict | None = None) -> dict:
    item = {"code": "TEST-XK-001", "kind": kind, "guide": {"materials": []}}
    if form is not None:
        item["form"] = form
    return item


def field_of(kind: str, name: str) -> Field:
    return form_for_item(_item(kind)).field(name)


@pytest.mark.parametrize("code", REAL_CREDIT_CODES)
def test_real_credit_codes_pass(code):
    assert is_valid_credit_code(code)
    assert validate_field(field_of("licence", "credit_code"), code.lower()) == (code, None)


@pytest.mark.parametrize("code, key", [
    ("91350100M000100Y44", "form.error.credit_check"),   # check character changed
    ("91440300708461163T", "form.error.credit_check"),   # two characters swapped
    ("91350100M000100Y4", "form.error.credit_length"),
    ("91350100O000100Y43", "form.error.credit_chars"),   # O is not in the GB 32100 alphabet
])
def test_wrong_credit_codes_are_named(code, key):
    value, error = validate_field(field_of("licence", "credit_code"), code)
    assert error is not None and error.key == key


def test_credit_check_char_matches_standard_example():
    assert credit_code_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014", "110101201001010015"])
def test_real_id_numbers_pass(number):
    value, error = validate_field(field_of("licence", "id_number"), number.lower(), today=TODAY)
    assert error is None and value == number


@pytest.mark.parametrize("number, key", [
    ("110105194912310021", "form.error.id_check"),
    ("11010519491321002X", "form.error.id_birth"),
    ("99010519491231002X", "form.error.id_region"),
    ("1101051949123100", "form.error.id_length"),
    ("11010519491231002Y", "form.error.id_chars"),
])
def test_wrong_id_numbers_are_named(number, key):
    _, error = validate_field(field_of("licence", "id_number"), number, today=TODAY)
    assert error is not None and error.key == key
    # Every key has its text in all three languages.
    for lang in ("zh-Hans", "zh-Hant", "en"):
        assert error.message(lang)


@pytest.mark.parametrize("phone, ok", [
    ("13800138000", True), ("+86 138 0013 8000", True), ("010-12345678", True),
    ("0755-8888888", True), ("12800138000", False), ("1380013800", False), ("abc", False),
])
def test_phone(phone, ok):
    _, error = validate_field(field_of("licence", "phone"), phone)
    assert (error is None) is ok


def test_dates_accept_common_forms_and_respect_direction():
    incident = field_of("complaint", "incident_date")
    assert validate_field(incident, "2026年3月5日", today=TODAY) == ("2026-03-05", None)
    assert validate_field(incident, "2026/03/05", today=TODAY)[0] == "2026-03-05"
    assert validate_field(incident, "2026-02-30", today=TODAY)[1].key == "form.error.date"
    assert validate_field(incident, "2027-01-01", today=TODAY)[1].key == "form.error.date_future"
    preferred = field_of("inspection", "preferred_date")
    assert validate_field(preferred, "2026-12-01", today=TODAY)[1].key == "form.error.date_past"


def test_amounts():
    amount = field_of("complaint", "amount")
    assert validate_field(amount, "¥1,200.5") == ("1200.50", None)
    assert validate_field(amount, "12.345")[1].key == "form.error.amount"
    assert validate_field(amount, "-3")[1].key == "form.error.amount"
    assert validate_field(amount, "1" * 20)[1].key == "form.error.amount"
    assert validate_field(amount, "") == ("", None)  # optional


def test_hostile_text_is_cleaned_or_refused():
    name = field_of("licence", "name")
    # RLO would show "张三" reversed with whatever follows; bidi, zero-width, controls all go.
    value, error = validate_field(name, "\u202e张\u200b三\x00\x07\u2066\ufeff")
    assert (value, error) == ("张三", None)
    assert clean_text("a\tb\r\nc", multiline=True) == "a b\nc"
    assert clean_text("a\nb") == "ab"
    assert clean_text("x\ud800y") == "xy"  # a lone surrogate cannot be stored as UTF-8
    value, error = validate_field(name, "王" * 10_000)
    assert error.key == "form.error.too_long" and error.values == {"max": 50}
    assert "50" in error.message("en")
    assert forms.strip_invisible("a\u202eb\u2067c\nd\x07") == "abc\nd"
    _, error = validate_field(name, "\u200f\u200e \x1b")
    assert error.key == "form.error.required"  # nothing visible left


def test_conditional_company_fields():
    schema = form_for_item(_item("licence"))
    person = {"applicant_type": "person", "name": "张三", "id_number": "11010519491231002X",
              "phone": "13800138000", "credit_code": "garbage"}
    result = validate_form(schema, person, today=TODAY)
    assert result.ok and "credit_code" not in result.values  # hidden: neither checked nor kept
    company = dict(person, applicant_type="company")
    result = validate_form(schema, company, today=TODAY)
    assert {e.field: e.key for e in result.errors} == {
        "company_name": "form.error.required", "credit_code": "form.error.credit_length"}


def test_every_kind_has_a_form_and_catalog_form_extends_it(sample_bundle):
    for item in sample_bundle["items"]:
        schema = form_for_item(item)
        assert schema.field("name").required and schema.field("phone")
    schema = form_for_item(_item("filing", {"fields": [
        {"name": "shop_area", "type": "amount", "label": {"zh-Hans": "经营面积"}, "required": True},
        {"name": "note", "type": "text", "label": {"zh-Hans": "备注"}, "pattern": "[A-Z]+",
         "when": {"field": "applicant_type", "equals": "company"}},
    ]}))
    assert schema.field("shop_area").type == "amount"
    assert schema.field("note").when == {"field": "applicant_type", "in": ["company"]}
    assert validate_field(schema.field("note"), "abc")[1].key == "form.error.pattern"


@pytest.mark.parametrize("bad, words", [
    ({"name": "x", "type": "colour", "label": {"zh-Hans": "x"}}, "type"),
    ({"name": "x", "type": "text", "label": {"zh-Hans": "x"}, "pattern": "("}, "pattern"),
    ({"name": "x", "type": "choice", "label": {"zh-Hans": "x"}}, "choices"),
    ({"name": "x", "type": "text"}, "zh-Hans"),
    ({"name": "x", "type": "text", "label": {"zh-Hans": "x"}, "when": {"field": "nope", "in": []}},
     "unknown field"),
])
def test_bad_catalog_forms_are_refused_with_the_field_named(bad, words):
    with pytest.raises(FormSchemaError, match=words) as info:
        form_for_item(_item("filing", {"fields": [bad]}))
    assert "TEST-XK-001" in str(info.value)


def test_fill_from_card_takes_only_card_fields():
    class Card:
        name = "张\u202e三"
        id_number = "11010519491231002X"
        address = "北京市"

    assert fill_from_card(form_for_item(_item("licence")), Card()) == {
        "name": "张三", "id_number": "11010519491231002X"}


def test_field_types_listed():
    assert set(forms.FIELD_TYPES) == {"text", "id_number", "phone", "credit_code", "date",
                                      "amount", "choice"}
