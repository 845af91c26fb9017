-- The facts every summary table is computed from: one row per grant and approach category
-- under the chosen allocation policy (SET VARIABLE policy = 'primary' | 'split').
--
-- Money comes from `allocations`, whose amounts add back to each grant's amount exactly under
-- both policies, so every grouping below adds back to the portfolio total. `summary_categories`
-- is registered by analyzer/aggregate.py from the taxonomy: category, label, sort_order, side
-- ('symptoms' | 'causes' | NULL) and kind ('classified' | 'out-of-scope' | 'unclassified').
-- Blank grouping values get a visible label instead of NULL so that they are counted, not lost.
-- A table, not a view: every summary query reads it, and the joins on record_id are the
-- expensive part. `is_grant_row` marks one row per grant (its primary category's row), so
-- grants are counted with a filter instead of a costly count(DISTINCT record_id).

CREATE OR REPLACE TEMP TABLE summary_facts AS
SELECT
    a.record_id,
    coalesce(nullif(trim(g.currency), ''), 'unknown')          AS currency,
    g.year                                                     AS year,
    coalesce(nullif(trim(g.funder), ''), '(no funder)')        AS funder,
    coalesce(nullif(trim(g.recipient), ''), '(no recipient)')  AS recipient,
    coalesce(nullif(trim(g.state), ''), '(no state)')          AS state,
    coalesce(nullif(c.provider_type, ''), 'unknown')           AS provider_type,
    coalesce(c.rights, '')                                     AS rights,
    coalesce(c.risk_factors, '')                               AS risk_factors,
    coalesce(c.ambiguous, false)                               AS ambiguous,
    a.category                                                 AS category,
    a.category = c.approach                                    AS is_grant_row,
    -- A category the taxonomy does not list (an override naming a new one) still counts as
    -- classified money; it just has no side.
    coalesce(s.kind, 'classified')                             AS kind,
    s.side                                                     AS side,
    a.amount                                                   AS amount
FROM allocations AS a
JOIN grants AS g USING (record_id)
LEFT JOIN classifications AS c USING (record_id)
LEFT JOIN summary_categories AS s ON s.category = a.category
WHERE a.policy = getvariable('policy');
