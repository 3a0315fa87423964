# Variables and statements about the session.

query
SHOW VARIABLES LIKE 'execute_mode';
----
 --------------- --------
  Variable_name   Value
 --------------- --------
  execute_mode    online
 --------------- --------

1 rows in set

statement ok
SET @@execute_mode='online';

statement ok
SET @@session.enable_trace = 'true';

query
SHOW SESSION VARIABLES LIKE 'enable%';
----
 --------------- -------
  Variable_name   Value
 --------------- -------
  enable_trace    true
 --------------- -------

1 rows in set

statement error execute_mode must be 'online' or 'offline', not "request"
SET @@execute_mode='request';

statement error unknown variable nope
SET @@nope = 1;

statement error Syntax error: line 1, column 10: expected ';' or end of statement, found 'FORM'
SELECT * FORM t;

statement error Syntax error: line 2, column 1: expected an expression, found keyword FROM
SELECT a,
FROM t;

statement error no database selected for table t
SELECT * FROM t;

statement error database nope does not exist
USE nope;
