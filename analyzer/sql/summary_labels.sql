-- Money and grant counts per approach category for each right and each risk factor a grant
-- addresses (multi-label: a grant counts under every label it has, so these rows do not add
-- up to the portfolio total; grants with no label are counted under '(none)').

WITH labelled AS (
    SELECT 'right' AS dimension, unnest(string_split(
        CASE WHEN rights = '' THEN '(none)' ELSE rights END, ';')) AS label, *
    FROM summary_facts
    UNION ALL
    SELECT 'risk_factor' AS dimension, unnest(string_split(
        CASE WHEN risk_factors = '' THEN '(none)' ELSE risk_factors END, ';')) AS label, *
    FROM summary_facts
)
SELECT
    dimension,
    currency,
    trim(label) AS label,
    category,
    count(*) AS grants,  -- one row per grant, label and category
    sum(amount) AS amount
FROM labelled
WHERE trim(label) <> ''
GROUP BY ALL
ORDER BY dimension, currency, label, category;
