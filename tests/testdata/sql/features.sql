# Feature SQL: windows, aggregates, LAST JOIN, deployments (request mode,
# computed by the tablets) and the same SQL offline over stored rows.

statement ok
CREATE DATABASE feat;

statement ok
USE feat;

statement ok
CREATE TABLE tx (
  card string,
  mcc string,
  amt double,
  ts timestamp,
  INDEX(KEY=card, TS=ts),
  INDEX(KEY=mcc, TS=ts)
) OPTIONS (PARTITIONNUM=4, REPLICANUM=3);

statement ok
CREATE TABLE profile (
  card string,
  pts timestamp,
  level int,
  INDEX(KEY=card, TS=pts)
) OPTIONS (PARTITIONNUM=2, REPLICANUM=2);

statement ok
INSERT INTO tx VALUES ('c1', 'food', 10.0, 1000), ('c1', 'food', 20.0, 2000), ('c1', 'fuel', 30.0, 3000), ('c1', 'food', NULL, 4000), ('c2', 'fuel', 5.0, 1500);

statement ok
INSERT INTO profile VALUES ('c1', 500, 1), ('c1', 2500, 2);

statement ok
DEPLOY card_features SELECT card, ts,
  sum(amt) OVER w3 AS sum_3,
  count(amt) OVER w3 AS cnt_3,
  avg(amt) OVER w2s AS avg_2s,
  max(amt) OVER w2s AS max_2s,
  distinct_count(mcc) OVER wall AS mccs,
  count_where(amt, mcc = 'food') OVER wall AS food_cnt,
  top_n_key_sum_cate_where(amt, amt > 0, mcc, 2) OVER wall AS top_mcc,
  lag(amt, 1) OVER w3 AS prev_amt,
  ew_avg(amt, 0.5) OVER w3 AS ew,
  profile.level AS level
FROM tx
  LAST JOIN profile ORDER BY profile.pts ON tx.card = profile.card AND profile.pts <= tx.ts
WINDOW w3 AS (PARTITION BY card ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW),
  w2s AS (PARTITION BY card ORDER BY ts ROWS_RANGE BETWEEN 2s PRECEDING AND CURRENT ROW EXCLUDE CURRENT_TIME),
  wall AS (PARTITION BY card ORDER BY ts ROWS_RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);

# A request row is computed as if appended at its timestamp; it is not stored.
request card_features
('c1', 'fuel', 40.0, 5000), ('c1', 'food', 1.0, 2000), ('c9', 'food', 7.0, 100);
----
 ------ ------ ------- ------- -------- -------- ------ ---------- ----------------- ---------- -------------------- -------
  card   ts     sum_3   cnt_3   avg_2s   max_2s   mccs   food_cnt   top_mcc           prev_amt   ew                   level
 ------ ------ ------- ------- -------- -------- ------ ---------- ----------------- ---------- -------------------- -------
  c1     5000   70      2       35       40       2      2          fuel:70,food:30   NULL       36.666666666666664   2
  c1     2000   31      3       5.5      10       1      3          food:31           20         7.714285714285714    1
  c9     100    7       1       7        7        1      1          food:7            NULL       7                    NULL
 ------ ------ ------- ------- -------- -------- ------ ---------- ----------------- ---------- -------------------- -------

3 rows in set

# Request rows are not stored.
query
SELECT card, ts FROM tx WHERE card = 'c9';
----
 ------ ----
  card   ts
 ------ ----
 ------ ----

Empty set

query
SHOW DEPLOYMENTS;
----
 ------ ---------------
  DB     Deployment
 ------ ---------------
  feat   card_features
 ------ ---------------

1 rows in set

statement ok
SHOW DEPLOYMENT card_features;

statement error deployment card_features already exists in database feat
DEPLOY card_features SELECT card FROM tx;

statement ok
DEPLOY IF NOT EXISTS card_features SELECT card FROM tx;

statement error window w needs an index of table tx keyed by its PARTITION BY columns with its ORDER BY column as TS: INDEX(KEY=(card, mcc), TS=ts)
DEPLOY bad SELECT sum(amt) OVER w FROM tx WINDOW w AS (PARTITION BY card, mcc ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW);

statement error WHERE is not supported in DEPLOY
DEPLOY bad SELECT card FROM tx WHERE card = 'c1';

statement error windows and LAST JOIN are computed for request rows by a deployment
SELECT sum(amt) OVER w FROM tx WHERE card = 'c1' WINDOW w AS (PARTITION BY card ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW);

# The same SQL offline: one output row per stored row.
statement ok
SET @@execute_mode='offline';

query
SELECT card, ts, sum(amt) OVER w AS s, count(*) OVER w AS n, lag(mcc, 1) OVER w AS prev FROM tx WHERE card = 'c1' WINDOW w AS (PARTITION BY card ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW);
----
 ------ ------ ---- --- ------
  card   ts     s    n   prev
 ------ ------ ---- --- ------
  c1     1000   10   1   NULL
  c1     2000   30   2   food
  c1     3000   50   2   food
  c1     4000   30   2   fuel
 ------ ------ ---- --- ------

4 rows in set

statement ok
SET @@execute_mode='online';

# A deployment whose window needs an index the table lacks: refused,
# unless the user lets DEPLOY add it (built from the stored rows).
statement error create it with CREATE INDEX, or let DEPLOY add it: OPTIONS(CREATE_INDEX='true')
DEPLOY by_card_mcc SELECT mcc, count(*) OVER w AS n FROM tx WINDOW w AS (PARTITION BY card, mcc ORDER BY ts ROWS BETWEEN 10 PRECEDING AND CURRENT ROW);

statement ok
DEPLOY by_card_mcc OPTIONS (CREATE_INDEX='true') SELECT mcc, count(*) OVER w AS n FROM tx WINDOW w AS (PARTITION BY card, mcc ORDER BY ts ROWS BETWEEN 10 PRECEDING AND CURRENT ROW);

request by_card_mcc
('c1', 'food', 1.0, 5000), ('c1', 'fuel', 1.0, 5000);
----
 ------ ---
  mcc    n
 ------ ---
  food   4
  fuel   2
 ------ ---

2 rows in set

# CREATE INDEX builds an index from the rows already stored.
statement ok
CREATE INDEX by_level ON profile (level) OPTIONS (TS=pts, TTL_TYPE=absolute, TTL=0);

query
SELECT card, pts FROM profile WHERE level = 2;
----
 ------ ------
  card   pts
 ------ ------
  c1     2500
 ------ ------

1 rows in set

statement error index name by_level appears twice
CREATE INDEX by_level ON profile (card);

statement ok
DROP DEPLOYMENT by_card_mcc;

statement ok
DROP DEPLOYMENT card_features;

statement error deployment card_features does not exist in database feat
DROP DEPLOYMENT card_features;

statement ok
DROP TABLE tx;

statement ok
DROP TABLE profile;

statement ok
DROP DATABASE feat;
