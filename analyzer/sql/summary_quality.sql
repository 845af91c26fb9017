-- Data quality: what was read from each file and sheet, and what was not loaded and why.
-- Three queries, separated by the marker line "-- name: <query>" (read by aggregate.py).

-- name: sources
SELECT
    file_name AS file,
    sheet,
    format,
    encoding,
    header_row,
    preset,
    rows_seen,
    rows_loaded,
    rows_excluded,
    rows_rejected,
    CAST(notes AS VARCHAR) AS notes
FROM sources
ORDER BY source_id;

-- name: rejects
SELECT
    source_file AS file,
    source_sheet AS sheet,
    disposition,
    reason,
    count(*) AS rows,
    min(source_row) AS first_row
FROM rejects
GROUP BY ALL
ORDER BY file, sheet, disposition, rows DESC, reason;

-- name: currencies
SELECT
    coalesce(nullif(trim(currency), ''), 'unknown') AS currency,
    count(*) AS grants,
    sum(amount) AS total,
    count(*) FILTER (WHERE amount < 0) AS negative_grants,
    coalesce(sum(amount) FILTER (WHERE amount < 0), 0) AS negative_total,
    count(*) FILTER (WHERE amount = 0) AS zero_grants
FROM grants
GROUP BY ALL
ORDER BY sum(abs(amount)) DESC, currency;
