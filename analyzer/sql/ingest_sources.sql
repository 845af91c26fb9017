-- What was loaded from each file and sheet (read by ingest.summary).
SELECT source_id, file_name, sheet, format, preset, loaded_at,
       rows_seen, rows_loaded, rows_excluded, rows_rejected
FROM sources
ORDER BY source_id;
