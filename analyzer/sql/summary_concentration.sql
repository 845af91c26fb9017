-- How concentrated the money is, per currency, among recipients and among funders:
-- the share of the largest 10 and the Herfindahl-Hirschman index (sum of squared shares,
-- 0 to 1; above 0.25 is usually called highly concentrated). Computed on positive totals only,
-- since a net de-obligation is not a share of the money.

WITH per_entity AS (
    SELECT 'recipient' AS entity, currency, recipient AS name, sum(amount) AS total
    FROM summary_facts GROUP BY currency, recipient
    UNION ALL
    SELECT 'funder' AS entity, currency, funder AS name, sum(amount) AS total
    FROM summary_facts GROUP BY currency, funder
),
ranked AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY entity, currency ORDER BY total DESC, name) AS rank,
        CAST(total AS DOUBLE)
            / sum(CAST(total AS DOUBLE)) OVER (PARTITION BY entity, currency) AS share
    FROM per_entity
    WHERE total > 0
)
SELECT
    currency,
    entity,
    count(*) AS entities,
    sum(total) AS total,
    sum(share) FILTER (WHERE rank <= 10) AS top10_share,
    max(share) AS largest_share,
    sum(share * share) AS hhi
FROM ranked
GROUP BY currency, entity
ORDER BY currency, entity DESC;
