-- One row per grant with its classification, if any (read by ingest.export, which keeps the
-- export columns of schema.py). LEFT JOIN: an unclassified store still exports every grant.
SELECT g.*, c.* EXCLUDE (record_id)
FROM grants AS g
LEFT JOIN classifications AS c USING (record_id)
ORDER BY g.source_id, g.source_row;
