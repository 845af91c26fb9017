"""Header detection, column mapping and presets, and the rows that are not grants."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from analyzer.columns import (
    EXCLUDED_BLANK,
    EXCLUDED_HEADER,
    EXCLUDED_NOTE,
    EXCLUDED_TOTAL,
    Mapping,
    apply_user_mapping,
    auto_mapping,
    exclusion_reasons,
    load_mapping_file,
    normalise_header,
    parse_map_options,
    read_header,
)
from analyzer.errors import ColumnMappingError, HeaderNotFoundError, Location
from analyzer.read import RawSheet, read_file


def raw_sheet(rows: list[list[str | None]]) -> RawSheet:
    width = max(len(r) for r in rows)
    padded = [r + [None] * (width - len(r)) for r in rows]
    cells = pl.DataFrame(padded, schema={f"c{i}": pl.String for i in range(1, width + 1)},
                         orient="row")  # fmt: skip
    return RawSheet(Path("t.csv"), "t.csv", None, "csv", "0", cells)


def test_header_below_title_banner_and_blank_rows(fixtures: Path) -> None:
    raw = read_file(fixtures / "messy_grants.xlsx", sheets=["FY2024 Grants"])[0]
    header = read_header(raw)
    assert header.row == 4
    assert list(header.names.values())[:5] == [
        "Grant ID",
        "Grantee",
        "Program",
        "Purpose",
        "Amount",
    ]
    assert "row 4" in header.notes[0]


def test_header_found_without_known_names() -> None:
    raw = raw_sheet([["Report 2024"], [], ["Alpha", "Beta", "Gamma"], ["x", "1", "2"]])
    assert read_header(raw).row == 3


def test_a_notes_sheet_has_no_header(fixtures: Path) -> None:
    raw = read_file(fixtures / "messy_grants.xlsx", sheets=["Notes"])[0]
    with pytest.raises(HeaderNotFoundError):
        read_header(raw)


def test_blank_and_repeated_headers_are_made_unique() -> None:
    raw = raw_sheet([["Recipient", "Amount", None, "Amount", None], ["A", "1", "x", "2", None]])
    header = read_header(raw)
    # the empty fifth column is dropped; the third has data, so it gets a name
    assert list(header.names.values()) == ["Recipient", "Amount", "Column 3", "Amount (2)"]
    assert any("Column 3" in n for n in header.notes)
    assert any("'Amount (2)'" in n for n in header.notes)


@pytest.mark.parametrize(
    ("text", "norm"),
    [
        ("Amount ($)", "amount"),
        ("Amount ($", "amount"),
        ("  AMOUNT  ", "amount"),
        ("Recipient Org:Name", "recipient org name"),
        ("award_id_fain", "award id fain"),
        ("Grant Amount (USD)", "grant amount"),
    ],
)
def test_normalise_header(text: str, norm: str) -> None:
    assert normalise_header(text) == norm


def test_synonyms() -> None:
    mapping = auto_mapping(
        ["Grantee", "Amount ($)", "Purpose of Funds", "FY", "State", "Grant Number", "Funder"]
    )
    assert mapping.preset is None
    assert mapping.fields == {
        "amount": "Amount ($)",
        "grant_id": "Grant Number",
        "funder": "Funder",
        "recipient": "Grantee",
        "description": "Purpose of Funds",
        "year": "FY",
        "state": "State",
    }


def test_ambiguous_columns_are_reported() -> None:
    mapping = auto_mapping(["Recipient", "Grantee", "Amount"])
    assert mapping.fields["recipient"] == "Recipient"
    assert mapping.ambiguous == ["recipient: chose 'Recipient'; also possible: 'Grantee'"]


def test_an_amount_word_is_enough_when_no_synonym_matches() -> None:
    assert auto_mapping(["Org", "Total Amount Approved 2024"]).fields["amount"] == (
        "Total Amount Approved 2024"
    )
    assert "amount" not in auto_mapping(["Grantee", "Purpose", "Amount Type"]).fields


def test_field_words_find_state_workbook_headers() -> None:
    fields = auto_mapping(
        ["Contract No.", "Sub-Recipient Legal Name", "Description of Services Provided",
         "Total Allocation FY24", "Recipient EIN"]
    ).fields  # fmt: skip
    assert fields["grant_id"] == "Contract No."
    assert fields["recipient"] == "Sub-Recipient Legal Name"
    assert fields["description"] == "Description of Services Provided"
    assert fields["amount"] == "Total Allocation FY24"


HEADERS_360 = [
    "Identifier", "Title", "Description", "Currency", "Amount Awarded", "Award Date",
    "Recipient Org:Name", "Recipient Org:Identifier", "Funding Org:Name",
    "Grant Programme:Title", "Beneficiary Location:Name", "Amount Awarded - website format",
]  # fmt: skip


def test_360giving_preset() -> None:
    mapping = auto_mapping(HEADERS_360)
    assert mapping.preset == "360giving"
    assert mapping.fields["amount"] == "Amount Awarded"
    assert mapping.fields["start_date"] == "Award Date"
    assert mapping.fields["funder"] == "Funding Org:Name"
    assert mapping.fields["program"] == "Grant Programme:Title"


def test_usaspending_transactions_sum_the_transaction_not_the_award_total() -> None:
    headers = [
        "assistance_transaction_unique_key", "award_id_fain", "federal_action_obligation",
        "total_obligated_amount", "action_date", "action_date_fiscal_year",
        "awarding_agency_name", "recipient_name", "prime_award_base_transaction_description",
        "cfda_title", "recipient_state_code",
    ]  # fmt: skip
    mapping = auto_mapping(headers)
    assert mapping.preset == "usaspending-transactions"
    assert mapping.fields["amount"] == "federal_action_obligation"
    assert mapping.fields["year"] == "action_date_fiscal_year"
    assert mapping.fields["grant_id"] == "award_id_fain"
    assert mapping.currency == "USD" and mapping.fiscal_year_start == 10


def test_usaspending_award_downloads() -> None:
    snake = auto_mapping(
        ["award_id_fain", "total_obligated_amount", "recipient_name", "awarding_agency_name",
         "assistance_listing_title", "recipient_state_code", "period_of_performance_start_date"]
    )  # fmt: skip
    assert snake.preset == "usaspending-awards"
    assert snake.fields["amount"] == "total_obligated_amount"
    assert snake.fields["program"] == "assistance_listing_title"
    titled = auto_mapping(
        ["Award ID", "Recipient Name", "Start Date", "End Date", "Award Amount",
         "Awarding Agency", "CFDA Number", "Description", "Place of Performance State Code"]
    )  # fmt: skip
    assert titled.preset == "usaspending-awards-search"
    assert titled.fields["state"] == "Place of Performance State Code"
    assert titled.fields["start_date"] == "Start Date"


def test_user_mapping_wins_and_can_unmap() -> None:
    headers = ["Grantee", "Amount", "Award ($)", "State"]
    mapping = auto_mapping(headers)
    apply_user_mapping(mapping, {"amount": "award ($)", "state": ""}, headers, Location("f"))
    assert mapping.fields["amount"] == "Award ($)"
    assert "state" not in mapping.fields


def test_user_mapping_errors_list_what_is_valid() -> None:
    headers = ["Grantee", "Amount"]
    with pytest.raises(ColumnMappingError) as caught:
        apply_user_mapping(Mapping({}), {"amount": "Award"}, headers, Location("f.csv"))
    assert "'Grantee', 'Amount'" in caught.value.hint
    with pytest.raises(ColumnMappingError) as caught:
        apply_user_mapping(Mapping({}), {"money": "Amount"}, headers, Location("f.csv"))
    assert "grant_id" in caught.value.hint


def test_map_options_and_mapping_files(tmp_path: Path) -> None:
    assert parse_map_options(['amount="Award ($)"', "state="]) == {
        "amount": "Award ($)",
        "state": "",
    }
    with pytest.raises(ColumnMappingError):
        parse_map_options(["amount"])
    yaml_file = tmp_path / "m.yaml"
    yaml_file.write_text("amount: Award ($)\nrecipient: Org\n")
    assert load_mapping_file(yaml_file) == {"amount": "Award ($)", "recipient": "Org"}
    json_file = tmp_path / "m.json"
    json_file.write_text(json.dumps({"amount": "Award ($)"}))
    assert load_mapping_file(json_file) == {"amount": "Award ($)"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ColumnMappingError):
        load_mapping_file(bad)


def reasons(rows: list[list[str | None]], identity: list[str]) -> list[str | None]:
    frame = pl.DataFrame(rows, schema=["c1", "c2", "c3"], orient="row")
    return exclusion_reasons(frame, ["c1", "c2", "c3"], "c3", "Amount", identity).to_list()


def test_total_rows_but_not_grantees_named_total() -> None:
    rows = [
        ["G1", "Total Community Care Inc", "500"],  # a real grantee
        ["G2", "Totally Kids", "100"],
        [None, "Total", "600"],
        [None, "TOTAL:", "600"],
        [None, "Subtotal", "600"],
        [None, "Sub-total - North", "600"],
        [None, "Grand Total", "600"],
        [None, "Total for Region 2", "600"],
        [None, "Totals", "600"],
        ["Total", None, "600"],
        [None, "Total grants", "600"],
        [None, "Total Community Care Inc", "500"],  # no id, but still a name, not a label
    ]
    got = reasons(rows, identity=["c1", "c2"])
    assert got[:2] == [None, None]
    assert got[2:11] == [EXCLUDED_TOTAL] * 9
    assert got[11] is None


def test_blank_header_and_note_rows() -> None:
    rows = [
        [None, None, None],
        ["  ", "", None],
        ["Grant ID", "Grantee", "amount"],
        ["Source: foundation records", None, None],
        ["Youth programs", None, None],
        ["G1", "Org", None],  # a grant without an amount: not excluded, it will be rejected
    ]
    assert reasons(rows, identity=["c1", "c2"]) == [
        EXCLUDED_BLANK, EXCLUDED_BLANK, EXCLUDED_HEADER, EXCLUDED_NOTE, EXCLUDED_NOTE, None
    ]  # fmt: skip


def test_an_empty_sheet_says_so() -> None:
    with pytest.raises(HeaderNotFoundError, match="empty"):
        read_header(raw_sheet([[None, None]]))
