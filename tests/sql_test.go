package tests

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openmldb-go/openmldb/internal/sql"
	"github.com/openmldb-go/openmldb/tests/cluster"
)

// sqlCase is one step of a data-driven SQL script.
type sqlCase struct {
	where    string // file:line
	stmt     string
	wantErr  string // "statement error <substring>"
	expected *string
	// request names a deployment: stmt holds request rows as VALUES tuples.
	request string
}

// parseSQLTest reads the .test format (modelled on sqllogictest and
// promqltest):
//
//	statement ok            the statement must succeed
//	statement error <text>  it must fail with an error containing <text>
//	query                   the statement's printed output must equal the
//	----                    lines after ----, up to the next directive
//	request <deployment>    the lines are request rows, ('a', 1), (...);
//	----                    and the deployment's answer (computed by the
//	                        tablets through the SDK) is the expected table
//
// Statements run until a line ending in ';'. Lines starting with # outside
// expected output are comments.
func parseSQLTest(name, text string) ([]sqlCase, error) {
	var out []sqlCase
	lines := strings.Split(text, "\n")
	isDirective := func(l string) bool {
		return strings.HasPrefix(l, "statement ") || l == "query" || strings.HasPrefix(l, "request ") || strings.HasPrefix(l, "#")
	}
	for i := 0; i < len(lines); {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			i++
			continue
		}
		c := sqlCase{where: fmt.Sprintf("%s:%d", name, i+1)}
		switch {
		case l == "statement ok", l == "query":
		case strings.HasPrefix(l, "request "):
			c.request = strings.TrimSpace(strings.TrimPrefix(l, "request "))
		case strings.HasPrefix(l, "statement error "):
			c.wantErr = strings.TrimPrefix(l, "statement error ")
		default:
			return nil, fmt.Errorf("%s: expected statement ok|statement error <text>|query, found %q", c.where, l)
		}
		i++
		var stmt []string
		for ; i < len(lines); i++ {
			stmt = append(stmt, lines[i])
			if strings.HasSuffix(strings.TrimSpace(lines[i]), ";") {
				i++
				break
			}
		}
		c.stmt = strings.Join(stmt, "\n")
		if l == "query" || c.request != "" {
			if i >= len(lines) || lines[i] != "----" {
				return nil, fmt.Errorf("%s: query needs ---- and the expected output", c.where)
			}
			i++
			var exp []string
			for ; i < len(lines) && !isDirective(lines[i]); i++ {
				exp = append(exp, lines[i])
			}
			s := strings.TrimRight(strings.Join(exp, "\n"), "\n")
			c.expected = &s
		}
		out = append(out, c)
	}
	return out, nil
}

// runSQLCases runs cases in one session and reports every mismatch.
func runSQLCases(t *testing.T, ctx context.Context, eng *sql.Engine, cases []sqlCase) {
	t.Helper()
	sess := eng.NewSession(ctx, "")
	for _, c := range cases {
		var buf strings.Builder
		if c.request != "" {
			err := callDeploymentCase(ctx, eng, sess, c, &buf)
			if err != nil {
				t.Errorf("%s: request %s: %v", c.where, c.request, err)
			} else if got := strings.TrimRight(buf.String(), "\n"); got != *c.expected {
				t.Errorf("%s: request %s %s\n--- got ---\n%s\n--- want ---\n%s", c.where, c.request, c.stmt, got, *c.expected)
			}
			continue
		}
		st, err := sql.Parse(c.stmt)
		if err == nil {
			var r *sql.Result
			if r, err = eng.Exec(ctx, sess, st, nil); err == nil {
				sql.WriteResult(&buf, r)
			}
		}
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: %s\nwant an error containing %q, got %v", c.where, c.stmt, c.wantErr, err)
			}
		case err != nil:
			t.Errorf("%s: %s\nunexpected error: %v", c.where, c.stmt, err)
		case c.expected != nil:
			got := strings.TrimRight(buf.String(), "\n")
			if got != *c.expected {
				t.Errorf("%s: %s\n--- got ---\n%s\n--- want ---\n%s", c.where, c.stmt, got, *c.expected)
			}
		}
	}
}

// The data-driven SQL tests (tests/testdata/sql/*.sql) and the examples
// of docs/sql.md, against a real cluster.
func TestSQLScripts(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 3})
	sdk := connectSDK(t, c)
	eng := sql.NewEngine(sdk, c.RootPath)
	eng.MaxScanRows = 20
	files, _ := filepath.Glob("testdata/sql/*.sql")
	if len(files) == 0 {
		t.Fatal("no testdata/sql/*.sql files")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases, err := parseSQLTest(f, string(data))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(f), func(t *testing.T) { runSQLCases(t, cluster.Ctx(t), eng, cases) })
	}
	t.Run("docs/sql.md", func(t *testing.T) {
		cases, err := docSQLCases("../docs/sql.md")
		if err != nil {
			t.Fatal(err)
		}
		if len(cases) < 10 {
			t.Fatalf("docs/sql.md has only %d examples", len(cases))
		}
		runSQLCases(t, cluster.Ctx(t), eng, cases)
	})
}

// docSQLCases turns docs/sql.md into cases: every statement of a ```sql
// block must succeed; a ```text block right after it is the printed
// output of the block's last statement; a ```sql-error block's statement
// must fail with the error text given in the following ```text block.
func docSQLCases(path string) ([]sqlCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []sqlCase
	sc := bufio.NewScanner(f)
	lineNo := 0
	var block []string
	var kind string
	start := 0
	lastSQL := -1
	wantErrNext := false
	for sc.Scan() {
		lineNo++
		l := sc.Text()
		if kind == "" {
			if m := regexp.MustCompile("^```(sql|sql-error|text)$").FindStringSubmatch(l); m != nil {
				kind, block, start = m[1], nil, lineNo
			} else if strings.TrimSpace(l) != "" {
				lastSQL = -1 // prose between: the text block does not belong to it
			}
			continue
		}
		if l != "```" {
			block = append(block, l)
			continue
		}
		where := fmt.Sprintf("%s:%d", path, start)
		switch kind {
		case "sql", "sql-error":
			stmts, complete := sql.SplitStatements(strings.Join(block, "\n"))
			if !complete {
				return nil, fmt.Errorf("%s: the last statement lacks ';'", where)
			}
			for _, s := range stmts {
				out = append(out, sqlCase{where: where, stmt: s})
			}
			lastSQL = len(out) - 1
			wantErrNext = kind == "sql-error"
		case "text":
			if lastSQL < 0 {
				break // an output block not tied to a statement (e.g. a shell session)
			}
			s := strings.TrimRight(strings.Join(block, "\n"), "\n")
			if wantErrNext {
				out[lastSQL].wantErr = strings.TrimPrefix(s, "Error: ")
			} else {
				out[lastSQL].expected = &s
			}
			lastSQL = -1
		}
		kind = ""
	}
	return out, sc.Err()
}

// sql_client as scripts use it: --cmd runs statements, exit status 1 on
// the first failure, which is named with its position.
func TestSQLClientCommand(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 2})
	ctx := cluster.Ctx(t)
	out, err := c.SQLClient(ctx, "CREATE DATABASE sc; USE sc; CREATE TABLE t (k string, v bigint, INDEX(KEY=k, TS=v)) OPTIONS(PARTITIONNUM=2, REPLICANUM=2); INSERT INTO t VALUES ('a', 1), ('a', 2);")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err = c.SQLClient(ctx, "SELECT v FROM t WHERE k = 'a';", "--database=sc")
	if err != nil || !strings.Contains(out, "2 rows in set") {
		t.Fatalf("select: %v\n%s", err, out)
	}
	// The ops tool of OpenMLDB runs exactly this.
	out, err = c.SQLClient(ctx, "show table status like '%';")
	if err != nil || !strings.Contains(out, "Table_id") || !strings.Contains(out, " sc ") {
		t.Fatalf("show table status: %v\n%s", err, out)
	}
	out, err = c.SQLClient(ctx, "SHOW COMPONENTS;")
	rows, perr := cluster.ParseBorderedTable(out)
	if err != nil || perr != nil || len(rows) != 3 {
		t.Fatalf("show components: %v %v\n%s", err, perr, out)
	}
	for _, r := range rows {
		if r["Version"] != version || r["Status"] != "online" {
			t.Errorf("component %v: want version %s online", r, version)
		}
	}
	out, err = c.SQLClient(ctx, "SELECT v FROM t WHERE k = 'a' LIMT 1;", "--database=sc")
	if err == nil || !strings.Contains(out, "Syntax error: line 1, column 31") {
		t.Fatalf("bad statement: want exit 1 and a positioned error, got %v\n%s", err, out)
	}
	out, err = c.SQLClient(ctx, "INSERT INTO t VALUES ('b', 3); SELECT * FROM nope; INSERT INTO t VALUES ('b', 4);", "--database=sc")
	if err == nil || !strings.Contains(out, "table nope does not exist") {
		t.Fatalf("want the script to stop at the failing statement: %v\n%s", err, out)
	}
	out, _ = c.SQLClient(ctx, "SELECT v FROM t WHERE k = 'b';", "--database=sc")
	if !strings.Contains(out, "1 rows in set") {
		t.Fatalf("statements after a failure must not run:\n%s", out)
	}
	if out, err := c.Run(ctx, "--role=sql_client", "--zk_cluster="+c.ZkCluster, "--interactive=false"); err == nil || !strings.Contains(out, "--cmd") {
		t.Fatalf("--interactive=false without --cmd: %v\n%s", err, out)
	}
}

// A full-scan preview without LIMIT is refused past the bound, never
// silently truncated; with LIMIT it streams.
func TestSQLFullScanBound(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 1})
	sdk := connectSDK(t, c)
	eng := sql.NewEngine(sdk, c.RootPath)
	eng.MaxScanRows = 50
	ctx := cluster.Ctx(t)
	sess := eng.NewSession(ctx, "")
	exec := func(q string) (*sql.Result, error) {
		st, err := sql.Parse(q)
		if err != nil {
			return nil, err
		}
		return eng.Exec(ctx, sess, st, nil)
	}
	for _, q := range []string{"CREATE DATABASE fs", "USE fs", "CREATE TABLE t (k int, v int) OPTIONS(PARTITIONNUM=3, REPLICANUM=1)"} {
		if _, err := exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var vals []string
	for i := 0; i < 60; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d)", i, i*i))
	}
	if r, err := exec("INSERT INTO t VALUES " + strings.Join(vals, ",")); err != nil || r.Affected != 60 {
		t.Fatalf("insert: %v %+v", err, r)
	}
	if _, err := exec("SELECT * FROM t"); err == nil || !strings.Contains(err.Error(), "more than 50 rows") {
		t.Fatalf("want a refusal naming the bound, got %v", err)
	}
	r, err := exec("SELECT * FROM t LIMIT 55")
	if err != nil || len(r.Rows) != 55 {
		t.Fatalf("limit 55: %v, %d rows", err, len(r.Rows))
	}
	r, err = exec("SELECT k FROM t WHERE v > 3000 LIMIT 100")
	if err != nil || len(r.Rows) != 5 { // 55..59
		t.Fatalf("filtered scan: %v %v", err, r.Rows)
	}
	seen := map[int64]bool{}
	r, _ = exec("SELECT k FROM t LIMIT 1000")
	for _, row := range r.Rows {
		seen[row[0].(int64)] = true
	}
	if len(seen) != 60 || len(r.Rows) != 60 {
		t.Fatalf("full scan with a large LIMIT returned %d rows (%d distinct), want each of 60 once", len(r.Rows), len(seen))
	}
}

// callDeploymentCase sends a case's request rows to its deployment through
// the SDK (the tablets compute the answer) and prints it as a table.
func callDeploymentCase(ctx context.Context, eng *sql.Engine, sess *sql.Session, c sqlCase, w io.Writer) error {
	st, err := sql.Parse("INSERT INTO x VALUES " + c.stmt)
	if err != nil {
		return err
	}
	var rows [][]any
	for _, tuple := range st.(*sql.Insert).Rows {
		var vals []any
		for _, e := range tuple {
			v, err := sql.EvalConst(e)
			if err != nil {
				return err
			}
			vals = append(vals, v)
		}
		rows = append(rows, vals)
	}
	d, err := eng.SDK.GetDeployment(ctx, sess.DB, c.request)
	if err != nil {
		return err
	}
	out, err := eng.SDK.CallDeployment(ctx, sess.DB, c.request, rows)
	if err != nil {
		return err
	}
	r := &sql.Result{IsQuery: true}
	for _, col := range d.Columns {
		r.Columns = append(r.Columns, sql.Column{Name: col.Name, Type: col.Type})
	}
	for _, o := range out {
		r.Rows = append(r.Rows, []any(o))
	}
	sql.WriteResult(w, r)
	return nil
}
