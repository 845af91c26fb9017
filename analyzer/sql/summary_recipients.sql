-- The largest recipients per currency (top getvariable('top_n') by total money), with their
-- classified and causes-side money.

WITH per_recipient AS (
    SELECT
        currency,
        recipient,
        count(*) FILTER (WHERE is_grant_row) AS grants,
        count(DISTINCT funder) AS funders,
        sum(amount) AS total,
        coalesce(sum(amount) FILTER (WHERE kind = 'classified'), 0) AS classified,
        coalesce(sum(amount) FILTER (WHERE side = 'causes'), 0) AS causes
    FROM summary_facts
    GROUP BY currency, recipient
),
portfolio AS (
    SELECT currency, sum(amount) AS portfolio_total FROM summary_facts GROUP BY currency
)
SELECT
    currency,
    row_number() OVER (PARTITION BY currency ORDER BY total DESC, recipient) AS rank,
    recipient,
    grants,
    funders,
    total,
    CAST(total AS DOUBLE) / nullif(CAST(portfolio_total AS DOUBLE), 0) AS share_of_total,
    classified,
    CASE WHEN getvariable('has_sides')
        THEN CAST(causes AS DOUBLE) / nullif(CAST(classified AS DOUBLE), 0) END
        AS prevention_share
FROM per_recipient
JOIN portfolio USING (currency)
QUALIFY rank <= getvariable('top_n')
ORDER BY currency, rank;
