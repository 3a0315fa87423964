# INSERT, SELECT (served from an index), DELETE.

statement ok
CREATE DATABASE dml;

statement ok
USE dml;

statement ok
CREATE TABLE trades (
  card string,
  mcc int NOT NULL DEFAULT 0,
  amt double,
  ts timestamp,
  day date,
  INDEX(KEY=card, TS=ts),
  INDEX(KEY=mcc, TS=ts)
) OPTIONS (PARTITIONNUM=4, REPLICANUM=3);

statement ok
INSERT INTO trades VALUES ('c1', 5411, 12.5, 1000, '2024-01-01');

statement ok
INSERT INTO trades VALUES ('c1', 5812, 3.25, 2000, '2024-01-02'), ('c1', 5411, 99.0, 3000, '2024-01-03'), ('c2', 5411, 7.0, 1500, NULL);

# Omitted columns take their DEFAULT, or NULL.
statement ok
INSERT INTO trades (card, ts) VALUES ('c3', 4000);

# Timestamps may be written as text (UTC).
statement ok
INSERT INTO trades (card, mcc, ts) VALUES ('c4', 1, '1970-01-01 00:00:05');

query
SELECT * FROM trades WHERE card = 'c1';
----
 ------ ------ ------ ------ ------------
  card   mcc    amt    ts     day
 ------ ------ ------ ------ ------------
  c1     5411   99     3000   2024-01-03
  c1     5812   3.25   2000   2024-01-02
  c1     5411   12.5   1000   2024-01-01
 ------ ------ ------ ------ ------------

3 rows in set

query
SELECT card, mcc, amt, ts, day FROM trades WHERE card = 'c3';
----
 ------ ----- ------ ------ ------
  card   mcc   amt    ts     day
 ------ ----- ------ ------ ------
  c3     0     NULL   4000   NULL
 ------ ----- ------ ------ ------

1 rows in set

query
SELECT ts FROM trades WHERE card = 'c4';
----
 ------
  ts
 ------
  5000
 ------

1 rows in set

# A time range on the index's TS column.
query
SELECT ts, amt FROM trades WHERE card = 'c1' AND ts >= 1500 AND ts < 3000;
----
 ------ ------
  ts     amt
 ------ ------
  2000   3.25
 ------ ------

1 rows in set

query
SELECT ts FROM trades WHERE card = 'c1' AND ts BETWEEN 1000 AND 2000;
----
 ------
  ts
 ------
  2000
  1000
 ------

2 rows in set

query
SELECT ts FROM trades WHERE card = 'c1' LIMIT 2;
----
 ------
  ts
 ------
  3000
  2000
 ------

2 rows in set

# The second index serves mcc lookups across partitions.
query
SELECT card, ts FROM trades WHERE mcc = 5411 AND amt > 10;
----
 ------ ------
  card   ts
 ------ ------
  c1     3000
  c1     1000
 ------ ------

2 rows in set

# Expressions, aliases, functions, CASE, NULL handling.
query
SELECT card, amt * 2 AS double_amt, upper(card) AS u, CASE WHEN amt > 50 THEN 'big' ELSE 'small' END AS size, ifnull(day, date('1970-01-01')) AS d, year(ts) FROM trades WHERE card = 'c1' AND ts = 3000;
----
 ------ ------------ ---- ------ ------------ ----------
  card   double_amt   u    size   d            year(ts)
 ------ ------------ ---- ------ ------------ ----------
  c1     198          C1   big    2024-01-03   1970
 ------ ------------ ---- ------ ------------ ----------

1 rows in set

query
SELECT card FROM trades WHERE card = 'c2' AND day IS NULL;
----
 ------
  card
 ------
  c2
 ------

1 rows in set

query
SELECT card FROM trades WHERE card = 'none';
----
 ------
  card
 ------
 ------

Empty set

query
SELECT 1 + 1 AS two, concat('a', 'b') AS ab, 7 / 2 AS half;
----
 ----- ---- ------
  two   ab   half
 ----- ---- ------
  2     ab   3.5
 ----- ---- ------

1 rows in set

# Without an index condition: a full scan (bounded; rows come in
# partition order, so this one selects a single row).
query
SELECT card, ts FROM trades WHERE ts > 4500 LIMIT 10;
----
 ------ ------
  card   ts
 ------ ------
  c4     5000
 ------ ------

1 rows in set

statement error NOT NULL
INSERT INTO trades (card, mcc, ts) VALUES ('c5', NULL, 1);

statement error column amt (double): cannot take string value abc
INSERT INTO trades VALUES ('c5', 1, 'abc', 1, NULL);

statement error row 1 has 2 values, expected 5
INSERT INTO trades VALUES ('c5', 1);

statement error column nope not found in table trades
INSERT INTO trades (nope) VALUES (1);

statement error is not a timestamp
INSERT INTO trades (card, ts) VALUES ('c5', 'yesterday');

statement error date "2024-13-01": want yyyy-mm-dd
INSERT INTO trades (card, ts, day) VALUES ('c5', 1, '2024-13-01');

statement error column x not found in table trades
SELECT x FROM trades WHERE card = 'c1';

statement error column x not found in table trades
SELECT card FROM trades WHERE x = 1;

# Nothing of the failed inserts was stored.
query
SELECT card FROM trades WHERE card = 'c5';
----
 ------
  card
 ------
 ------

Empty set

# DELETE by an index key.
statement ok
DELETE FROM trades WHERE card = 'c1';

query
SELECT card FROM trades WHERE card = 'c1';
----
 ------
  card
 ------
 ------

Empty set

statement error DELETE needs WHERE on exactly the key columns of an index
DELETE FROM trades WHERE amt = 1;

statement error DELETE supports only WHERE
DELETE FROM trades WHERE card > 'a';

# Deleting by the second index removes the rows from every partition.
statement ok
DELETE FROM trades WHERE mcc = 5411;

query
SELECT card, mcc FROM trades WHERE card = 'c2';
----
 ------ -----
  card   mcc
 ------ -----
 ------ -----

Empty set

statement ok
DROP TABLE trades;

statement ok
DROP DATABASE dml;
