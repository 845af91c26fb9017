-- Money and the codebook's headline measures per currency, for the whole portfolio and per
-- funder, year, funder and year, state and provider type (one pass, GROUPING SETS).
--
-- `grouping` names the grouping of each row; the columns that are not part of it are NULL.
-- Measures are computed within one currency only. Definitions (docs: shared codebook):
--   in_scope   = all money except out-of-scope
--   classified = money in a category of the scale (in-scope minus unclassified)
--   coverage   = classified / in_scope
--   prevention_share   = causes-side money / classified
--   symptoms_to_causes = symptoms-side money / causes-side money
--   structural_share   = money in the scale's last causes-side category / classified
-- Measures that need sides are NULL when the taxonomy gives its categories none
-- (getvariable('has_sides') = false).

CREATE OR REPLACE TEMP TABLE summary_headline AS
WITH sums AS (
    SELECT
        CASE
            WHEN grouping(funder) = 0 AND grouping(year) = 0 THEN 'funder_year'
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
        count(*) FILTER (WHERE is_grant_row) AS grants,
        sum(amount) AS total,
        coalesce(sum(amount) FILTER (WHERE kind <> 'out-of-scope'), 0) AS in_scope,
        coalesce(sum(amount) FILTER (WHERE kind = 'classified'), 0) AS classified,
        coalesce(sum(amount) FILTER (WHERE kind = 'out-of-scope'), 0) AS out_of_scope,
        coalesce(sum(amount) FILTER (WHERE kind = 'unclassified'), 0) AS unclassified,
        coalesce(sum(amount) FILTER (WHERE side = 'symptoms'), 0) AS symptoms,
        coalesce(sum(amount) FILTER (WHERE side = 'causes'), 0) AS causes,
        coalesce(sum(amount) FILTER (WHERE category = getvariable('structural_category')), 0)
            AS structural,
        count(*) FILTER (WHERE kind = 'unclassified') AS unclassified_grants,
        count(*) FILTER (WHERE kind = 'out-of-scope') AS out_of_scope_grants,
        count(*) FILTER (WHERE ambiguous AND is_grant_row) AS ambiguous_grants
    FROM summary_facts
    GROUP BY GROUPING SETS (
        (currency),
        (currency, funder),
        (currency, year),
        (currency, funder, year),
        (currency, state),
        (currency, provider_type)
    )
)
SELECT
    *,
    CAST(classified AS DOUBLE) / nullif(CAST(in_scope AS DOUBLE), 0) AS coverage,
    CASE WHEN getvariable('has_sides')
        THEN CAST(causes AS DOUBLE) / nullif(CAST(classified AS DOUBLE), 0) END
        AS prevention_share,
    CASE WHEN getvariable('has_sides')
        THEN CAST(symptoms AS DOUBLE) / nullif(CAST(causes AS DOUBLE), 0) END
        AS symptoms_to_causes,
    CASE WHEN getvariable('has_sides')
        THEN CAST(structural AS DOUBLE) / nullif(CAST(classified AS DOUBLE), 0) END
        AS structural_share
FROM sums;
