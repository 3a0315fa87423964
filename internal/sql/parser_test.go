package sql

import (
	"strings"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/schema"
)

func TestParseAccepts(t *testing.T) {
	for _, src := range []string{
		"CREATE DATABASE IF NOT EXISTS db1;",
		"create database db1",
		"DROP DATABASE db1",
		"USE db1;",
		"SHOW DATABASES",
		"SHOW TABLES",
		"show tables from db1",
		"SHOW COMPONENTS;",
		"SHOW TABLE STATUS LIKE '%';",
		"SHOW TABLE STATUS",
		"SHOW VARIABLES",
		"SHOW GLOBAL VARIABLES LIKE 'exec%'",
		"SHOW CREATE TABLE t1",
		"DESC db1.t1",
		"SET @@execute_mode='online';",
		"SET @@global.execute_mode = 'online'",
		"CREATE TABLE t1 (c1 string, c2 int NOT NULL DEFAULT 5, c3 timestamp, c4 date, INDEX(KEY=c1, TS=c3, TTL_TYPE=absolute, TTL=30d)) OPTIONS(PARTITIONNUM=8, REPLICANUM=3);",
		"CREATE TABLE IF NOT EXISTS db.t (a bigint, b double, INDEX(KEY=(a,c), TTL_TYPE=absorlat, TTL=(10m, 100)), INDEX idx2 (KEY=b))",
		"CREATE TABLE t (a bigint, INDEX(KEY=a, TTL_TYPE=latest, TTL=10))",
		"DROP TABLE IF EXISTS t1",
		"INSERT INTO t1 VALUES ('a', 1, 1590738989000, '2020-05-01'), ('b', -2, 0, NULL);",
		"INSERT INTO t1 (c1, c2) VALUES (?, ?)",
		"DELETE FROM t1 WHERE c1 = 'a' AND c2 = 3",
		"SELECT * FROM t1",
		"SELECT c1, c2 + 1 AS n, upper(c1) u FROM db1.t1 WHERE c1 = 'a' AND c3 >= 100 AND c3 < 200 LIMIT 10;",
		"SELECT 1 + 2 * 3, 'x' LIKE 'x%', NOT true, 3 BETWEEN 1 AND 5, 2 IN (1, 2), c IS NOT NULL FROM t",
		"SELECT CASE WHEN a > 1 THEN 'big' ELSE 'small' END, CASE a WHEN 1 THEN 'one' END, CAST(a AS string) FROM t",
		"select `select` from `from` where `where` = 1",
		"SELECT -9223372036854775808, 1.5e3, .5, 'it''s', \"dq\" -- comment\n",
		"/* block */ SELECT 1 # trailing",
		"SELECT c1, sum(c2) OVER w1 AS s, count(*) OVER w1, avg(c2) OVER (PARTITION BY c1 ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM t1 WINDOW w1 AS (PARTITION BY c1 ORDER BY ts ROWS_RANGE BETWEEN 10s PRECEDING AND CURRENT ROW MAXSIZE 100 EXCLUDE CURRENT_ROW EXCLUDE CURRENT_TIME), w2 AS (UNION t2, t3 PARTITION BY c1, c3 ORDER BY ts ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING INSTANCE_NOT_IN_WINDOW)",
		"SELECT t1.c1, t2.c2 FROM t1 LAST JOIN t2 ORDER BY t2.ts ON t1.c1 = t2.c1 LAST JOIN t3 AS x ON t1.c1 = x.c1",
		"DEPLOY demo OPTIONS (RANGE_BIAS='inf', ROWS_BIAS=inf) SELECT c1, sum(c2) OVER w FROM t1 WINDOW w AS (PARTITION BY c1 ORDER BY ts ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW);",
		"SHOW DEPLOYMENTS", "SHOW DEPLOYMENT demo",
		"CREATE INDEX by_mcc ON t1 (mcc) OPTIONS (TS=ts, TTL_TYPE=absolute, TTL=30d)", "CREATE INDEX i2 ON db.t1 (a, b)", "DROP DEPLOYMENT demo", "DROP DEPLOYMENT IF EXISTS demo",
	} {
		if _, err := ParseScript(src); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}

func TestParseErrorsNamePosition(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"SELEC 1", "line 1, column 1: expected a statement"},
		{"SELECT * FORM t", "line 1, column 10: expected ';' or end of statement, found 'FORM'"},
		{"SELECT a,\n  FROM t", "line 2, column 3: expected an expression, found keyword FROM"},
		{"CREATE TABLE t (c1 string, INDEX(KEY=c1, TTL=))", "column 46: expected a TTL like 30d"},
		{"CREATE TABLE t (c1 string", "expected ',' or ')' in the column list, found end of input"},
		{"INSERT INTO t VALUES (1, 2", "expected ',' or ')' in VALUES, found end of input"},
		{"SELECT 'abc", "unterminated string"},
		{"SELECT 1 FROM t WINDOW w AS (PARTITION BY a)", "line 1, column 44: expected ORDER, found ')'"},
		{"SELECT sum(a) OVER w FROM t WINDOW w AS (PARTITION BY a ORDER BY ts ROWS BETWEEN 3 PRECEDING AND 5 PRECEDING)", "the frame ends before it starts"},
		{"SELECT sum(a) OVER w FROM t WINDOW w AS (PARTITION BY a ORDER BY ts ROWS BETWEEN 10s PRECEDING AND CURRENT ROW)", "ROWS frames count rows"},
		{"SELECT sum(a) OVER w FROM t WINDOW w AS (PARTITION BY a ORDER BY ts ROWS_RANGE BETWEEN 10x PRECEDING AND CURRENT ROW)", "bad interval 10x"},
		{"SELECT sum(a) OVER w FROM t WINDOW w AS (PARTITION BY a ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW MAXSIZE 0)", "MAXSIZE must be a positive"},
		{"SELECT a FROM t LAST JOIN t2 ORDER BY t2.ts", "expected ON, found end of input"},
		{"SELECT a FROM t GROUP BY a", "GROUP is not supported"},
		{"DEPLOY d INSERT INTO t VALUES (1)", "expected SELECT after the deployment name"},
		{"CREATE VIEW v AS SELECT 1", "expected DATABASE, TABLE or INDEX after CREATE, found 'VIEW'"},
		{"CREATE INDEX i ON t(c) OPTIONS (KEY=c)", "unknown index option 'KEY' (want TS, TTL_TYPE or TTL)"},
		{"SELECT 99999999999999999999", "integer 99999999999999999999 out of range"},
		{"SET execute_mode = 1", "expected a variable like @@execute_mode"},
		{"", "empty statement"},
		{"SELECT 1 LIMIT x", "expected a row count after LIMIT"},
	} {
		_, err := ParseScript(c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want it to contain %q", c.src, err, c.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "Syntax error: line ") {
			t.Errorf("%q: error %q lacks the position prefix", c.src, err)
		}
	}
}

func TestEvalConstants(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"SELECT 1 + 2 * 3", "7"},
		{"SELECT 7 / 2", "3.5"},
		{"SELECT 7 % 3", "1"},
		{"SELECT 1 / 0", "NULL"},
		{"SELECT NULL + 1", "NULL"},
		{"SELECT NULL AND false", "false"},
		{"SELECT NULL OR true", "true"},
		{"SELECT NULL AND true", "NULL"},
		{"SELECT 2 IN (1, NULL)", "NULL"},
		{"SELECT 2 NOT IN (1, 3)", "true"},
		{"SELECT 'abc' LIKE 'a_c'", "true"},
		{"SELECT upper(concat('a', 1, 'b'))", "A1B"},
		{"SELECT substr('hello', 2, 3)", "ell"},
		{"SELECT substr('hello', -3)", "llo"},
		{"SELECT ifnull(NULL, 'x')", "x"},
		{"SELECT if(1 > 2, 'a', 'b')", "b"},
		{"SELECT CASE 2 WHEN 1 THEN 'one' WHEN 2 THEN 'two' END", "two"},
		{"SELECT year(timestamp('2024-03-05 10:11:12'))", "2024"},
		{"SELECT date_format(timestamp('2024-03-05 10:11:12'), '%Y/%m/%d %H:%M:%S')", "2024/03/05 10:11:12"},
		{"SELECT dayofweek(date('2024-03-05'))", "3"},
		{"SELECT CAST('12' AS int) + 1", "13"},
		{"SELECT round(2.567, 2)", "2.57"},
		{"SELECT abs(-3)", "3"},
		{"SELECT floor(-1.5)", "-2"},
		{"SELECT 3 BETWEEN 1 AND 3", "true"},
		{"SELECT NOT (1 = 1)", "false"},
		{"SELECT length('héllo'), char_length('héllo')", "6|5"},
	} {
		st, err := Parse(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		sel := st.(*Select)
		var got []string
		for _, it := range sel.Items {
			v, err := eval(it.Expr, &scope{})
			if err != nil {
				t.Fatalf("%s: %v", c.src, err)
			}
			got = append(got, formatValue(v))
		}
		if g := strings.Join(got, "|"); g != c.want {
			t.Errorf("%s = %s, want %s", c.src, g, c.want)
		}
	}
	for _, c := range []struct{ src, want string }{
		{"SELECT 'a' + 1", "operator + needs numbers"},
		{"SELECT nosuch(1)", "unknown function nosuch"},
		{"SELECT count(*)", "aggregate count() needs a window"},
		{"SELECT substr('a')", "function substr takes 2 to 3 arguments, got 1"},
		{"SELECT 1 < 'a'", "cannot compare bigint with string"},
	} {
		st, err := Parse(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		_, err = eval(st.(*Select).Items[0].Expr, &scope{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.src, err, c.want)
		}
	}
}

// CreateTableText must read back to the same table.
func TestCreateTableTextRoundTrip(t *testing.T) {
	tbl := schema.Table{DB: "d", Name: "t", PartitionNum: 4, ReplicaNum: 2,
		Columns: []schema.Column{{Name: "k", Type: schema.TypeString}, {Name: "n", Type: schema.TypeInt32, NotNull: true, Default: int64(7)},
			{Name: "ts", Type: schema.TypeTimestamp}, {Name: "d", Type: schema.TypeDate, Default: "2024-01-02"}, {Name: "s", Type: schema.TypeString, Default: "it's"}},
		Indexes: []schema.Index{{Name: "INDEX_0", Keys: []string{"k"}, TS: "ts", TTLType: schema.TTLAbsolute, AbsTTL: 30 * 24 * time.Hour},
			{Name: "INDEX_1", Keys: []string{"k", "n"}, TTLType: schema.TTLAbsOrLat, AbsTTL: 10 * time.Minute, LatTTL: 5},
			{Name: "INDEX_2", Keys: []string{"n"}, TTLType: schema.TTLLatest, LatTTL: 3}}}
	text := CreateTableText(tbl)
	st, err := Parse(text)
	if err != nil {
		t.Fatalf("%s\n%v", text, err)
	}
	ct := st.(*CreateTable)
	if len(ct.Columns) != 5 || len(ct.Indexes) != 3 || ct.Columns[1].Default == nil || !ct.Columns[1].NotNull {
		t.Fatalf("round trip lost parts: %+v", ct)
	}
	for i, ix := range ct.Indexes {
		tt, abs, lat, err := schema.ParseTTL(ix.TTLType, ix.TTL)
		want := tbl.Indexes[i]
		if err != nil || tt != want.TTLType || abs != want.AbsTTL || lat != want.LatTTL || ix.TS != want.TS || len(ix.Keys) != len(want.Keys) {
			t.Errorf("index %d: %v %v %v %v, want %+v", i, tt, abs, lat, err, want)
		}
	}
}

func TestSplitStatements(t *testing.T) {
	stmts, complete := SplitStatements("select 'a;b'; select 2 -- c;\n; select")
	if complete || len(stmts) != 3 || stmts[0] != "select 'a;b'" {
		t.Fatalf("got %q complete=%v", stmts, complete)
	}
	if _, complete := SplitStatements("select 1;\n"); !complete {
		t.Fatal("want complete")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"SELECT a, b+1 FROM t WHERE a = 'x' LIMIT 3", "CREATE TABLE t (a int, INDEX(KEY=a, TTL=(1m,2)))",
		"INSERT INTO t VALUES (1, 'a', NULL)", "SET @@x = 1", "SHOW TABLE STATUS LIKE '%'", "select case when a then b end from t",
		"DELETE FROM t WHERE a = ?", "/* x */ select `a` -- y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		stmts, err := ParseScript(src)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		// Constant expressions must evaluate without panicking.
		for _, st := range stmts {
			if sel, ok := st.(*Select); ok && sel.From == nil {
				for _, it := range sel.Items {
					if !it.Star {
						_, _ = eval(it.Expr, &scope{})
					}
				}
			}
		}
	})
}
