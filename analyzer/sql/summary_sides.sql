-- Money and grant counts per side of the scale (symptoms, causes) per currency. A grant split
-- across both sides counts once on each; one split within a side counts once.

SELECT
    currency,
    side,
    count(DISTINCT record_id) AS grants,
    sum(amount) AS amount
FROM summary_facts
WHERE side IN ('symptoms', 'causes') AND getvariable('has_sides')
GROUP BY currency, side;
