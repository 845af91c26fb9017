-- The portfolio store. Mirrors analyzer/schema.py column for column.
-- No PRIMARY KEY constraints: an ART index on a million keys slows bulk loads several-fold,
-- and uniqueness of record_id is guaranteed by how it is built (file name, sheet, row).

CREATE TABLE IF NOT EXISTS sources (
    source_id      INTEGER,
    path           VARCHAR,      -- absolute path at load time
    file_name      VARCHAR,
    sha256         VARCHAR,
    sheet          VARCHAR,      -- NULL for CSV / parquet
    format         VARCHAR,      -- xlsx | csv | tsv | parquet
    encoding       VARCHAR,      -- detected text encoding (CSV only)
    header_row     INTEGER,      -- spreadsheet row of the detected header
    preset         VARCHAR,      -- column-mapping preset recognised, if any
    mapping        JSON,         -- {canonical field: original header}
    notes          JSON,         -- list of warnings shown at ingest (assumed currency, ...)
    loaded_at      TIMESTAMP,
    rows_seen      BIGINT,
    rows_loaded    BIGINT,
    rows_excluded  BIGINT,
    rows_rejected  BIGINT
);

CREATE TABLE IF NOT EXISTS grants (
    record_id     VARCHAR,
    source_id     INTEGER,
    grant_id      VARCHAR,
    funder        VARCHAR,
    recipient     VARCHAR,
    title         VARCHAR,
    description   VARCHAR USING COMPRESSION zstd,  -- long text: zstd writes faster and smaller
    program       VARCHAR,
    amount        DECIMAL(38, 2),
    currency      VARCHAR,
    year          INTEGER,
    state         VARCHAR,
    start_date    DATE,
    end_date      DATE,
    source_file   VARCHAR,
    source_sheet  VARCHAR,
    source_row    BIGINT,
    flags         VARCHAR,
    -- JSON text of every original cell. VARCHAR, not JSON: DuckDB validates JSON on insert
    -- (~5 s per 1M rows). zstd: on this bulky text it writes faster and smaller than the default.
    original      VARCHAR USING COMPRESSION zstd
);

CREATE TABLE IF NOT EXISTS rejects (
    source_id     INTEGER,
    source_file   VARCHAR,
    source_sheet  VARCHAR,
    source_row    BIGINT,
    disposition   VARCHAR,       -- excluded | rejected
    reason        VARCHAR,
    "column"      VARCHAR,
    value         VARCHAR,
    -- JSON text of every original cell. VARCHAR, not JSON: DuckDB validates JSON on insert
    -- (~5 s per 1M rows). zstd: on this bulky text it writes faster and smaller than the default.
    original      VARCHAR USING COMPRESSION zstd
);

-- One current classification of the store's grants (replaced by each classify run).
CREATE TABLE IF NOT EXISTS classifications (
    record_id        VARCHAR,
    approach         VARCHAR,
    approach_shares  VARCHAR,
    ambiguous        BOOLEAN,
    rights           VARCHAR,
    risk_factors     VARCHAR,
    provider_type    VARCHAR,
    matched_rules    VARCHAR,
    explanation      VARCHAR,
    decided_by       VARCHAR
);

CREATE TABLE IF NOT EXISTS matches (
    record_id  VARCHAR,
    dimension  VARCHAR,
    category   VARCHAR,
    rule_id    VARCHAR,
    field      VARCHAR,
    phrase     VARCHAR
);

CREATE TABLE IF NOT EXISTS allocations (
    record_id  VARCHAR,
    policy     VARCHAR,          -- primary | split
    category   VARCHAR,
    share      DECIMAL(5, 4),
    amount     DECIMAL(38, 2)
);

-- What produced the current classification: for the methodology appendix.
CREATE TABLE IF NOT EXISTS classification_runs (
    taxonomy_name     VARCHAR,
    taxonomy_version  VARCHAR,
    taxonomy_sha256   VARCHAR,
    taxonomy_path     VARCHAR,
    rule_count        INTEGER,
    overrides_path    VARCHAR,
    override_count    INTEGER,
    classified_at     TIMESTAMP
);
