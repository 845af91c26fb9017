-- Year-over-year change per currency, from the per-year rows of summary_headline.
-- "Previous year" is the previous year that has money, named in previous_year, so a gap in
-- the data is visible rather than silently bridged. Money changes are exact decimals;
-- measure changes are in share points (0.05 = 5 points).

SELECT
    currency,
    year,
    lag(year) OVER w AS previous_year,
    total,
    total - lag(total) OVER w AS total_change,
    CAST(total - lag(total) OVER w AS DOUBLE)
        / nullif(abs(CAST(lag(total) OVER w AS DOUBLE)), 0) AS total_change_pct,
    classified,
    classified - lag(classified) OVER w AS classified_change,
    coverage,
    prevention_share,
    prevention_share - lag(prevention_share) OVER w AS prevention_share_change,
    structural_share,
    structural_share - lag(structural_share) OVER w AS structural_share_change
FROM summary_headline
WHERE "grouping" = 'year' AND year IS NOT NULL
WINDOW w AS (PARTITION BY currency ORDER BY year)
ORDER BY currency, year;
