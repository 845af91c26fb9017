"""Files -> raw tables of text cells, one per sheet, with spreadsheet row numbers.

Every cell is read as text: type inference silently turns "TBD" or "March 2024" into null, and
the later stages must see what the person typed. Row ``i`` of a ``RawSheet.cells`` frame is
row ``i + 1`` of the file as a spreadsheet program shows it (the Excel row; for a CSV the record
number, a quoted multi-line field being one record and a blank line a record of its own), so
provenance needs no bookkeeping beyond the frame's own row index.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from .errors import InputFileError, Location, UnknownSheetError

WORKBOOK_FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsm"}
TEXT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv"}
PARQUET_FORMATS = {".parquet": "parquet"}
SUPPORTED = sorted({**WORKBOOK_FORMATS, **TEXT_FORMATS, **PARQUET_FORMATS})

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # compound file: .xls, or an encrypted .xlsx
ZIP_SIGNATURE = b"PK\x03\x04"
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")

DELIMITERS = (",", "\t", ";", "|")
SNIFF_BYTES = 256 * 1024


@dataclass(frozen=True)
class CellRange:
    """A rectangle of cells, numbered as a spreadsheet program numbers them (from 1)."""

    first_row: int
    first_column: int
    last_row: int
    last_column: int


@dataclass
class Layout:
    """What a sheet's XML says about its cells beyond their values, which calamine does not
    report."""

    #: Merged ranges: calamine gives a range's value in its first cell only; a person sees it
    #: across the range.
    merged: list[CellRange] = field(default_factory=list)
    #: (row, column) of formulas with no saved value (a file written by a program that does
    #: not calculate, e.g. openpyxl): calamine reads them as empty; Excel would show a value.
    unsaved_formulas: list[tuple[int, int]] = field(default_factory=list)
    #: Rows and columns hidden in the workbook: calamine reads them like the others; a person
    #: scrolling the sheet does not see them (often rows someone meant to leave out).
    hidden_rows: list[int] = field(default_factory=list)
    hidden_columns: list[int] = field(default_factory=list)


@dataclass
class RawSheet:
    """One sheet (or the one table of a CSV / parquet file) as text cells.

    ``cells`` has one String column per spreadsheet column, named ``c<N>`` with N the 1-based
    column number, and one row per spreadsheet row starting at row 1.
    """

    path: Path
    file_name: str
    sheet: str | None
    format: str
    sha256: str
    cells: pl.DataFrame
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    #: For a workbook: every sheet name, to list in errors about this sheet.
    workbook_sheets: list[str] = field(default_factory=list)
    #: For a workbook sheet: what calamine does not say about its cells (see ``Layout``).
    layout: Layout = field(default_factory=Layout)

    @property
    def location(self) -> Location:
        return Location(file=self.file_name, sheet=self.sheet)


def column_name(number: int) -> str:
    """Internal name of the spreadsheet column with this 1-based number."""
    return f"c{number}"


def column_number(name: str) -> int:
    return int(name[1:])


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    for formats in (WORKBOOK_FORMATS, TEXT_FORMATS, PARQUET_FORMATS):
        if suffix in formats:
            return formats[suffix]
    raise InputFileError(
        f"unsupported file type {suffix or '(none)'!r}",
        hint="save it as one of " + ", ".join(SUPPORTED),
        location=Location(file=path.name),
    )


def read_file(path: str | Path, *, sheets: list[str] | None = None) -> list[RawSheet]:
    """Read every sheet of a workbook (or the named ``sheets``), or the one table of a CSV,
    TSV or parquet file. Raises InputFileError for anything that cannot be read at all."""
    path = Path(path)
    where = Location(file=path.name)
    if not path.is_file():
        raise InputFileError("file not found", hint=f"check the path {str(path)!r}", location=where)
    fmt = file_format(path)
    data = path.read_bytes()
    if not data[:65536].strip() and not data.strip():
        raise InputFileError(
            "the file is empty",
            hint="export the data again; the file has no content",
            location=where,
        )
    # hashlib releases the GIL: the digest is computed while the file is parsed.
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        if fmt in WORKBOOK_FORMATS.values():
            raws = _read_workbook(path, data, fmt, sheets)
        elif fmt == "parquet":
            raws = [_read_parquet(path, data)]
        else:
            raws = [_read_text(path, data, fmt)]
        for raw in raws:
            raw.sha256 = digest.result()
    return raws


# --- Workbooks ---------------------------------------------------------------------------------


def _open_workbook(path: Path, data: bytes):
    import fastexcel

    where = Location(file=path.name)
    if data.startswith(OLE_SIGNATURE):
        if ENCRYPTED_STREAM in data:
            raise InputFileError(
                "the workbook is password-protected (encrypted)",
                hint="open it in Excel, remove the password (File > Info > Protect Workbook), "
                "save it and ingest that copy",
                location=where,
            )
        raise InputFileError(
            "this is an old-style .xls (or other OLE) file, not an .xlsx workbook",
            hint="open it in a spreadsheet program and save it as .xlsx",
            location=where,
        )
    if not data.startswith(ZIP_SIGNATURE):
        raise InputFileError(
            "the file is not a valid .xlsx workbook (it does not start like one)",
            hint="check that the file is really an Excel workbook; re-export or re-save it",
            location=where,
        )
    try:
        return fastexcel.read_excel(data)
    except Exception as error:  # fastexcel raises its own error tree for every parse failure
        raise InputFileError(
            f"the workbook is corrupt or unreadable ({_first_line(error)})",
            hint="open it in a spreadsheet program and save a fresh copy, or export it as CSV",
            location=where,
        ) from None


def _read_workbook(path: Path, data: bytes, fmt: str, sheets: list[str] | None) -> list[RawSheet]:
    reader = _open_workbook(path, data)
    # The layouts are read from the workbook's XML on the other core while calamine reads the
    # cells (zlib releases the GIL).
    with ThreadPoolExecutor(max_workers=1) as pool:
        layouts = pool.submit(sheet_layouts, data)
        raws = _read_sheets(reader, path, fmt, sheets)
        found, problem = layouts.result()
    for raw in raws:
        raw.layout = found.get(raw.sheet, Layout())
        if problem:
            raw.notes.append(
                f"the sheet's layout (merged cells, formulas, hidden rows) could not be read "
                f"({problem}); a merged value is read in its first cell only"
            )
    return raws


def _read_sheets(reader, path: Path, fmt: str, sheets: list[str] | None) -> list[RawSheet]:
    names = list(reader.sheet_names)
    for wanted in sheets or []:
        if wanted not in names:
            raise UnknownSheetError(
                f"no sheet named {wanted!r}",
                hint="the workbook has the sheets " + ", ".join(repr(n) for n in names),
                location=Location(file=path.name),
            )
    chosen = [n for n in names if n in sheets] if sheets else names
    raws = []
    for name in chosen:
        cells, notes = _load_sheet(reader, name, path)
        raws.append(
            RawSheet(
                path=path,
                file_name=path.name,
                sheet=name,
                format=fmt,
                sha256="",
                cells=cells,
                notes=notes,
                workbook_sheets=names,
            )
        )
    return raws


def _load_sheet(reader, name: str, path: Path) -> tuple[pl.DataFrame, list[str]]:
    """All cells of one sheet as text, row 0 being Excel row 1.

    ``skip_rows=0`` with ``header_row=None`` makes fastexcel keep the blank rows above the
    first used cell, so indexes are absolute; columns are renamed by their absolute position.
    """
    try:
        sheet = reader.load_sheet(name, header_row=None, dtypes="string", skip_rows=0)
        frame = sheet.to_polars()
    except Exception as error:
        raise InputFileError(
            f"the sheet cannot be read ({_first_line(error)})",
            hint="open the workbook in a spreadsheet program and save a fresh copy",
            location=Location(file=path.name, sheet=name),
        ) from None
    numbers = [info.absolute_index + 1 for info in sheet.available_columns()]
    frame = frame.rename(dict(zip(frame.columns, map(column_name, numbers), strict=True)))
    notes = []
    if str(sheet.visible).lower() != "visible":
        notes.append(f"sheet {name!r} is hidden in the workbook; it was read like the others")
    return frame, notes


_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_ATTRIBUTE = re.compile(rb'([\w:]+)="([^"]*)"')
_MERGE_START = re.compile(rb"<(?:\w+:)?mergeCells\b")
_MERGE_CELL = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([A-Z]+)([0-9]+):([A-Z]+)([0-9]+)"')
#: A cell holding a formula and no value (no <v>, or an empty one).
_UNSAVED_FORMULA = re.compile(
    rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]+)([0-9]+)"[^>]*>\s*'
    rb"<(?:\w+:)?f\b[^>]*?(?:/>|>[^<]*</(?:\w+:)?f>)\s*"
    rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>"
)
#: Texts one of which is in any XML holding such a cell: the regex runs only where one is (a
#: file saved by a spreadsheet program has none).
_UNSAVED_HINTS = (b"f></", b"v/>", b"v />", b"v></v", b'"/></c>')
_HIDDEN_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*\bhidden="(?:1|true)"[^>]*>')
_HIDDEN_COLUMNS = re.compile(rb'<(?:\w+:)?col\b[^>]*\bhidden="(?:1|true)"[^>]*>')
_CHUNK = 1 << 22
_OVERLAP = 4096


def sheet_layouts(data: bytes) -> tuple[dict[str, Layout], str | None]:
    """(every sheet's ``Layout`` by sheet name, a problem that kept them from being read).

    Each sheet's XML is read through once, in chunks: formulas without a value are looked for
    only in chunks that hint at one; the merged ranges come after the cells, so only what
    follows ``<mergeCells`` is kept.
    """
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            parts = _sheet_parts(book)
            return {name: _layout_of(book, part) for name, part in parts.items()}, None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        return {}, _first_line(error) or type(error).__name__


def _sheet_parts(book) -> dict[str, str]:
    """Sheet name -> the path of its XML in the package (via the workbook's relationships)."""
    targets = {}
    for tag in _RELATIONSHIP.findall(book.read("xl/_rels/workbook.xml.rels")):
        attributes = dict(_ATTRIBUTE.findall(tag))
        if b"Id" in attributes and b"Target" in attributes:
            target = attributes[b"Target"].decode()
            targets[attributes[b"Id"]] = (
                target.lstrip("/") if target.startswith("/") else ("xl/" + target)
            )
    parts = {}
    for tag in _SHEET.findall(book.read("xl/workbook.xml")):
        attributes = dict(_ATTRIBUTE.findall(tag))
        relation = next((v for k, v in attributes.items() if k.endswith(b":id")), None)
        if b"name" in attributes and relation in targets:
            parts[_xml_text(attributes[b"name"])] = targets[relation]
    return parts


def _layout_of(book, part: str) -> Layout:
    keep, tail = b"", b""
    formulas: set[tuple[int, int]] = set()
    hidden_rows: set[int] = set()
    hidden_columns: set[int] = set()
    with book.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            if keep:
                keep += chunk
                continue
            text = tail + chunk
            has_formula = b"<f" in text or b":f" in text  # <f ...> or <x:f ...>
            if has_formula and any(hint in text for hint in _UNSAVED_HINTS):
                formulas.update(
                    (int(row), _column_number(column))
                    for column, row in _UNSAVED_FORMULA.findall(text)
                )
            if b'hidden="' in text:
                hidden_rows.update(map(_row_number, _HIDDEN_ROW.findall(text)))
                for tag in _HIDDEN_COLUMNS.findall(text):
                    span = dict(_ATTRIBUTE.findall(tag))
                    first, last = span.get(b"min", b"0"), span.get(b"max", b"0")
                    hidden_columns.update(range(int(first), int(last) + 1))
            if text.find(b"mergeCells") >= 0 and (start := _MERGE_START.search(text)):
                keep = text[start.start() :]
            tail = text[-_OVERLAP:]
    merged = [
        CellRange(int(r1), _column_number(c1), int(r2), _column_number(c2))
        for c1, r1, c2, r2 in _MERGE_CELL.findall(keep)
    ]
    hidden_rows.discard(0)
    hidden_columns.discard(0)
    return Layout(merged, sorted(formulas), sorted(hidden_rows), sorted(hidden_columns))


def _row_number(tag: bytes) -> int:
    found = re.search(rb'\br="([0-9]+)"', tag)
    return int(found.group(1)) if found else 0


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _xml_text(value: bytes) -> str:
    import html

    return html.unescape(value.decode("utf-8"))


# --- Parquet -----------------------------------------------------------------------------------


def _read_parquet(path: Path, data: bytes) -> RawSheet:
    """A parquet file as text cells, its column names as row 1 (like a CSV header)."""
    where = Location(file=path.name)
    try:
        table = pl.read_parquet(io.BytesIO(data))
    except Exception as error:
        raise InputFileError(
            f"the parquet file is corrupt or unreadable ({_first_line(error)})",
            hint="write the file again",
            location=where,
        ) from None
    names = [column_name(i) for i in range(1, table.width + 1)]
    try:
        body = table.select(pl.col(c).cast(pl.String) for c in table.columns)
    except Exception:
        nested = [c for c, t in table.schema.items() if t.is_nested()]
        raise InputFileError(
            "columns hold lists or structs, which cannot be read as cells: " + ", ".join(nested),
            hint="flatten those columns before ingesting",
            location=where,
        ) from None
    header = pl.DataFrame([table.columns], schema=names, orient="row")
    return RawSheet(
        path=path,
        file_name=path.name,
        sheet=None,
        format="parquet",
        sha256="",
        cells=pl.concat([header, body.rename(dict(zip(body.columns, names, strict=True)))]),
    )


# --- CSV / TSV ---------------------------------------------------------------------------------


def _read_text(path: Path, data: bytes, fmt: str) -> RawSheet:
    where = Location(file=path.name)
    _refuse_binary(data, where)
    utf8, encoding = to_utf8(data)
    eol = line_ending(utf8)
    sample = _sample_text(utf8)
    delimiter = "\t" if fmt == "tsv" else detect_delimiter(sample)
    width = max(_field_counts(sample, delimiter), default=1)
    notes = []
    try:
        cells = _parse_with_polars(utf8, delimiter, eol, width)
    except (pl.exceptions.ComputeError, pl.exceptions.ShapeError, pl.exceptions.SchemaError):
        # Stray quotes inside unquoted fields or rows longer than any in the sample: the
        # lenient csv module copes where polars refuses. Slower, so only as a fallback.
        cells = _parse_with_csv_module(utf8, delimiter)
        notes.append("the CSV is not strictly well-formed; it was read with the lenient parser")
    if cells.height == 0:
        raise InputFileError("the file has no rows", hint="export the data again", location=where)
    return RawSheet(
        path=path,
        file_name=path.name,
        sheet=None,
        format=fmt,
        sha256="",
        cells=cells,
        encoding=encoding,
        notes=notes,
    )


def _refuse_binary(data: bytes, where: Location) -> None:
    head = data[:8192]
    if head.startswith(ZIP_SIGNATURE):
        raise InputFileError(
            "this is a zip container (probably an .xlsx workbook) named like a text file",
            hint="rename it to .xlsx, or export the sheet as CSV",
            location=where,
        )
    if head.startswith(OLE_SIGNATURE):
        raise InputFileError(
            "this is an Excel .xls (OLE) file named like a text file",
            hint="open it in a spreadsheet program and save it as .xlsx or CSV",
            location=where,
        )
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(
            "this is a binary file, not a CSV (it contains NUL bytes)",
            hint="check that you picked the right file; export the data as CSV or .xlsx",
            location=where,
        )


def to_utf8(data: bytes) -> tuple[bytes, str]:
    """The text as UTF-8 bytes without BOM, and the encoding it was in.

    UTF-8 is tried first (strict), then a BOM decides UTF-16. Anything else is one of the
    single-byte encodings spreadsheet programs write: Windows-1252 (Excel's "CSV" on Windows;
    latin-1 where it leaves a byte undefined) or Mac Roman (Excel's CSV on classic Mac OS).
    The same bytes are valid in both, so the one whose non-ASCII characters read as plausible
    text wins: "today’s" (Mac Roman) over "todayÕs" (cp1252).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:], "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16").encode("utf-8"), "utf-16"
    if data.isascii():
        return data, "utf-8"
    try:
        data.decode("utf-8")
        return data, "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        windows = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        windows = data.decode("latin-1"), "latin-1"
    mac = data.decode("mac_roman"), "mac_roman"
    text, encoding = max(windows, mac, key=lambda decoded: _plausibility(decoded[0]))
    return text.encode("utf-8"), encoding


#: Non-ASCII characters that are common in grant text: typographic punctuation and signs.
_TYPOGRAPHY = set("’‘“”–—…•®©™°·§€£¥\xa0")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _plausibility(text: str, sample: int = 4 * 1024 * 1024) -> int:
    """How much the non-ASCII characters of a decoded text look like real text.

    Typographic punctuation scores 2 (0 inside a word, where "Se–ora" is a misread "Señora"
    but "well—being" is real), a letter 1. A capital glued after a lower-case letter
    ("todayÕs") and anything else (control characters, stray symbols such as ¨ or ª) score -2.
    """
    score = 0
    head = text[:sample]
    for match in _NON_ASCII.finditer(head):
        char, at = match.group(), match.start()
        before = head[at - 1] if at > 0 else " "
        after = head[at + 1] if at + 1 < len(head) else " "
        if char in _TYPOGRAPHY:
            inside_word = before.islower() and after.islower() and char not in "’'"
            score += 0 if inside_word else 2
        elif char.isalpha():
            score += -2 if char.isupper() and before.islower() else 1
        else:
            score -= 2
    return score


def line_ending(data: bytes) -> str:
    """'\\r' for classic-Mac files (CR only), else '\\n' (polars handles CRLF itself)."""
    head = data[:SNIFF_BYTES]
    bare_cr = head.count(b"\r") - head.count(b"\r\n")
    return "\r" if bare_cr > head.count(b"\n") else "\n"


def _sample_text(utf8: bytes) -> str:
    head = utf8[:SNIFF_BYTES].decode("utf-8", errors="ignore")
    if len(utf8) > SNIFF_BYTES:  # drop the last, probably cut, line
        cut = max(head.rfind("\n"), head.rfind("\r"))
        head = head[:cut] if cut > 0 else head
    return head


def _field_counts(sample: str, delimiter: str) -> list[int]:
    try:
        return [
            len(row) for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        ]
    except csv.Error:
        return []


def detect_delimiter(sample: str) -> str:
    """The delimiter that splits the sample's records into the most consistent number of
    fields (more than one); comma when nothing does."""
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = [n for n in _field_counts(sample, delimiter) if n > 0]
        if not counts:
            continue
        width, rows = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        score = (rows, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _parse_with_polars(utf8: bytes, delimiter: str, eol: str, width: int) -> pl.DataFrame:
    schema = {column_name(i): pl.String for i in range(1, width + 1)}
    return pl.read_csv(
        io.BytesIO(utf8),
        has_header=False,
        separator=delimiter,
        quote_char='"',
        eol_char=eol,
        schema=schema,
        missing_columns="insert",
        raise_if_empty=False,
    )


def _parse_with_csv_module(utf8: bytes, delimiter: str) -> pl.DataFrame:
    text = utf8.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    width = max((len(r) for r in rows), default=1)
    columns = [column_name(i) for i in range(1, width + 1)]
    padded = [r + [None] * (width - len(r)) if r else [None] * width for r in rows]
    return pl.DataFrame(padded, schema={c: pl.String for c in columns}, orient="row")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
