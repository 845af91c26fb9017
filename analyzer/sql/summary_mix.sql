-- Money and grant counts per approach category, for the whole portfolio and per funder, year,
-- funder and year, state, state and year, and provider type (one pass, GROUPING SETS).
-- `grouping` names the grouping of each row; columns outside it are NULL. Under the split
-- policy a grant counts under every category that holds a share of its money.

SELECT
    CASE
        WHEN grouping(funder) = 0 AND grouping(year) = 0 THEN 'funder_year'
        WHEN grouping(state) = 0 AND grouping(year) = 0 THEN 'state_year'
        WHEN grouping(funder) = 0 THEN 'funder'
        WHEN grouping(year) = 0 THEN 'year'
        WHEN grouping(state) = 0 THEN 'state'
        WHEN grouping(provider_type) = 0 THEN 'provider_type'
        ELSE 'portfolio'
    END AS "grouping",
    currency,
    funder,
    year,
    state,
    provider_type,
    category,
    count(*) AS grants,  -- one allocation row per grant and category
    sum(amount) AS amount
FROM summary_facts
GROUP BY GROUPING SETS (
    (currency, category),
    (currency, funder, category),
    (currency, year, category),
    (currency, funder, year, category),
    (currency, state, category),
    (currency, state, year, category),
    (currency, provider_type, category)
);
