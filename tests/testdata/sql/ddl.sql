# Databases and tables: create, describe, show, drop.

statement ok
CREATE DATABASE ddl_db;

statement ok
CREATE DATABASE IF NOT EXISTS ddl_db;

statement error already exists
CREATE DATABASE ddl_db;

statement error no database selected
SHOW TABLES;

statement ok
USE ddl_db;

statement ok
CREATE TABLE t1 (
  c1 string NOT NULL,
  c2 int DEFAULT 7,
  c3 timestamp,
  c4 date,
  c5 double,
  INDEX(KEY=c1, TS=c3, TTL_TYPE=absolute, TTL=30d),
  INDEX(KEY=(c1, c2), TTL_TYPE=latest, TTL=10)
) OPTIONS (PARTITIONNUM=4, REPLICANUM=3);

statement ok
CREATE TABLE IF NOT EXISTS t1 (x int);

statement ok
CREATE TABLE ddl_db.t2 (id bigint, name string);

query
SHOW TABLES;
----
 --------
  Tables
 --------
  t1
  t2
 --------

2 rows in set

query
DESC t1;
----
 --- ------- ----------- ------ ---------
  #   Field   Type        Null   Default
 --- ------- ----------- ------ ---------
  1   c1      Varchar     NO
  2   c2      Int         YES    7
  3   c3      Timestamp   YES
  4   c4      Date        YES
  5   c5      Double      YES
 --- ------- ----------- ------ ---------
 --- --------- ------- ---- ---------- ---------------
  #   name      keys    ts   ttl        ttl_type
 --- --------- ------- ---- ---------- ---------------
  1   INDEX_0   c1      c3   43200min   kAbsoluteTime
  2   INDEX_1   c1|c2   -    10         kLatestTime
 --- --------- ------- ---- ---------- ---------------
 --------------
  storage_mode
 --------------
  Memory
 --------------

# Without INDEX, the first column that can be a key becomes one.
query
DESC t2;
----
 --- ------- --------- ------ ---------
  #   Field   Type      Null   Default
 --- ------- --------- ------ ---------
  1   id      BigInt    YES
  2   name    Varchar   YES
 --- ------- --------- ------ ---------
 --- --------- ------ ---- ------ ---------------
  #   name      keys   ts   ttl    ttl_type
 --- --------- ------ ---- ------ ---------------
  1   INDEX_0   id     -    0min   kAbsoluteTime
 --- --------- ------ ---- ------ ---------------
 --------------
  storage_mode
 --------------
  Memory
 --------------

query
SHOW CREATE TABLE t1;
----
 ------- ------------------------------------------------------------------
  Table   Create Table
 ------- ------------------------------------------------------------------
  t1      CREATE TABLE `t1` (
          `c1` string NOT NULL,
          `c2` int DEFAULT 7,
          `c3` timestamp,
          `c4` date,
          `c5` double,
          INDEX (KEY=`c1`, TS=`c3`, TTL_TYPE=ABSOLUTE, TTL=43200m),
          INDEX (KEY=(`c1`,`c2`), TTL_TYPE=LATEST, TTL=10)
          ) OPTIONS (PARTITIONNUM=4, REPLICANUM=3, STORAGE_MODE='Memory');
 ------- ------------------------------------------------------------------

1 rows in set

statement error table t9 does not exist
DESC t9;

statement error unknown column type "varchr"
CREATE TABLE bad (a varchr);

statement error index KEY column nope is not a column of bad
CREATE TABLE bad (a int, INDEX(KEY=nope));

statement error float/double columns cannot be keys
CREATE TABLE bad (a double, INDEX(KEY=a));

statement error index TS column b must be timestamp or bigint, not int
CREATE TABLE bad (a string, b int, INDEX(KEY=a, TS=b));

statement error unknown table option DISTRIBUTION
CREATE TABLE bad (a int) OPTIONS (DISTRIBUTION='x');

statement error STORAGE_MODE HDD is not supported
CREATE TABLE bad (a int) OPTIONS (STORAGE_MODE='HDD');

statement error DEFAULT of column a
CREATE TABLE bad (a int DEFAULT 'x');

statement error column a appears twice
CREATE TABLE bad (a int, a string);

statement ok
DROP TABLE t2;

statement ok
DROP TABLE IF EXISTS t2;

statement error not
DROP TABLE t2;

query
SHOW TABLES FROM ddl_db;
----
 --------
  Tables
 --------
  t1
 --------

1 rows in set

statement ok
DROP TABLE t1;

statement ok
DROP DATABASE ddl_db;

statement error database ddl_db does not exist
USE ddl_db;
