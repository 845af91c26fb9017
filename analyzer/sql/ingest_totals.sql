-- Loaded money per source and currency, and per currency over all sources (source_id NULL).
-- Currencies are never added together. Totals as text to stay exact through any client.
SELECT source_id, currency, CAST(sum(amount) AS VARCHAR) AS total, count(*) AS grants
FROM grants
GROUP BY GROUPING SETS ((source_id, currency), (currency))
ORDER BY source_id NULLS LAST, currency;
