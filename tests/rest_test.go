package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/tests/cluster"
)

type restReply struct {
	status int
	body   map[string]any
	raw    string
}

func restCall(t *testing.T, method, url, body string) restReply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := restReply{status: resp.StatusCode, raw: string(data)}
	if err := json.Unmarshal(data, &r.body); err != nil {
		t.Fatalf("%s %s: reply is not JSON: %v\n%s", method, url, err, data)
	}
	return r
}

// Every route, with the malformed requests a client will send: each gets
// code -1 and a message naming the problem, and stored data is unchanged.
func TestRESTRoutes(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 3, APIServers: 1})
	base := "http://" + c.APIServers[0].Endpoint
	ok := func(r restReply) restReply {
		t.Helper()
		if r.status != 200 || r.body["code"] != float64(0) || r.body["msg"] != "ok" {
			t.Fatalf("want code 0, got %d %s", r.status, r.raw)
		}
		return r
	}
	fails := func(r restReply, status int, msg string) {
		t.Helper()
		if r.status != status || r.body["code"] != float64(-1) || !strings.Contains(fmt.Sprint(r.body["msg"]), msg) {
			t.Errorf("want HTTP %d, code -1 and a msg containing %q; got %d %s", status, msg, r.status, r.raw)
		}
	}
	query := func(sql string) restReply {
		b, _ := json.Marshal(map[string]any{"mode": "online", "sql": sql})
		return restCall(t, "POST", base+"/dbs/rt", string(b))
	}
	ok(query("CREATE DATABASE rt"))
	ok(query("CREATE TABLE t (k string, n int NOT NULL, x double, ts timestamp, d date, b bool, INDEX(KEY=k, TS=ts)) OPTIONS(PARTITIONNUM=3, REPLICANUM=3)"))
	put := func(body string) restReply { return restCall(t, "PUT", base+"/dbs/rt/tables/t", body) }
	ok(put(`{"value":[["a", 1, 1.5, 1000, "2024-02-29", true]]}`))
	ok(put(`{"value":[["a", 2, null, "1970-01-01 00:00:02", null, false], {"k":"b","n":3,"ts":3000}]}`))
	rows := func() string {
		r := ok(query("SELECT k, n, x, ts, d, b FROM t WHERE k = 'a'"))
		b, _ := json.Marshal(r.body["data"].(map[string]any)["data"])
		return string(b)
	}
	before := rows()
	if want := `[["a",2,null,2000,null,false],["a",1,1.5,1000,"2024-02-29",true]]`; before != want {
		t.Fatalf("rows: %s, want %s", before, want)
	}

	// Malformed PUTs.
	fails(put(`{"value":[["a", 1, 1.5, 1000, "2024-02-29", true]`), 200, "malformed JSON body")
	fails(put(``), 200, "empty request body")
	fails(put(`{"value":[]}`), 200, `"value" must hold at least one row`)
	fails(put(`{"value":[["a", 1]]}`), 200, "table t has 6 columns, the row has 2 values")
	fails(put(`{"value":[["a", "one", 1.5, 1000, null, true]]}`), 200, "column n (int): cannot take string value one")
	fails(put(`{"value":[["a", 1, 1.5, 1000, "2024-02-30", true]]}`), 200, `date "2024-02-30": want yyyy-mm-dd`)
	fails(put(`{"value":[["a", 1, 1.5, "soon", null, true]]}`), 200, `column ts (timestamp): "soon" is not a timestamp`)
	fails(put(`{"value":[["a", null, 1.5, 1000, null, true]]}`), 200, "column n is NOT NULL")
	fails(put(`{"value":[["a", 99999999999, 1.5, 1000, null, true]]}`), 200, "out of range")
	fails(put(`{"value":[["a", 1.5, 1.5, 1000, null, true]]}`), 200, "cannot take float64 value 1.5")
	fails(put(`{"value":[{"k":"a","nope":1}]}`), 200, "column nope not found")
	fails(put(`{"value":[5]}`), 200, "a row must be a JSON array or object")
	fails(put(`{"value":[["ok", 1, 1, 1, null, true]], "extra":1} {}`), 200, "data after the JSON object")
	fails(restCall(t, "PUT", base+"/dbs/rt/tables/nope", `{"value":[["a"]]}`), 200, "table nope does not exist in database rt")
	fails(restCall(t, "PUT", base+"/dbs/nodb/tables/t", `{"value":[["a"]]}`), 200, "table t does not exist in database nodb")
	big := `{"value":[["` + strings.Repeat("x", 9<<20) + `", 1, 1, 1, null, true]]}`
	fails(put(big), 413, "request body larger than")
	// A partly bad batch stores nothing.
	fails(put(`{"value":[["a", 7, 1, 7000, null, true], ["a", "bad", 1, 8000, null, true]]}`), 200, "row 2: column n")
	if after := rows(); after != before {
		t.Fatalf("rejected requests changed stored data:\nbefore %s\nafter  %s", before, after)
	}

	// POST /dbs/{db}.
	fails(restCall(t, "POST", base+"/dbs/rt", `{"mode":"offsync","sql":"SELECT 1"}`), 200, "needs a taskmanager")
	fails(restCall(t, "POST", base+"/dbs/rt", `{"mode":"fast","sql":"SELECT 1"}`), 200, `unknown mode "fast"`)
	fails(restCall(t, "POST", base+"/dbs/rt", `{"mode":"online","sql":""}`), 200, `"sql" is empty`)
	fails(restCall(t, "POST", base+"/dbs/rt", `{"mode":"online","sql":"SELECT * FROM t WHERE k = ?","input":{"schema":["String"],"data":[]}}`), 200, "input has 1 schema types and 0 values")
	fails(restCall(t, "POST", base+"/dbs/rt", `{"mode":"online","sql":"SELECT * FROM t WHERE k = ?","input":{"schema":["Text"],"data":["a"]}}`), 200, `unknown type "Text"`)
	fails(restCall(t, "POST", base+"/dbs/rt", `{"mode":"online","sql":"SELECT * FROM t WHERE k = ?"}`), 200, "placeholder 1 has no value")
	fails(restCall(t, "POST", base+"/dbs/rt", `{"mode":"online","sql":"SELECT nope FROM t"}`), 200, "column nope not found")
	fails(restCall(t, "POST", base+"/dbs/rt", `{"mode":"online","sql":"SELECT 1; SELECT 2"}`), 200, "expected one statement")
	fails(restCall(t, "POST", base+"/dbs/nodb", `{"mode":"online","sql":"SELECT 1"}`), 200, "database nodb does not exist")
	fails(restCall(t, "POST", base+"/dbs/rt", `["not an object"]`), 200, "malformed JSON body")
	r := ok(restCall(t, "POST", base+"/dbs/rt", `{"mode":"online","sql":"SELECT n, ts FROM t WHERE k = ? AND ts > ?","input":{"schema":["String","Timestamp"],"data":["a",1500]}}`))
	if b, _ := json.Marshal(r.body["data"]); string(b) != `{"data":[[2,2000]],"schema":[{"name":"n","type":"Int32"},{"name":"ts","type":"Timestamp"}]}` {
		t.Errorf("parameterized query: %s", b)
	}
	// A request sent twice with the same Idempotency-Key stores its rows once.
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest("PUT", base+"/dbs/rt/tables/t", strings.NewReader(`{"value":[["idem", 1, 1, 1, null, true], ["idem", 2, 1, 2, null, true]]}`))
		req.Header.Set("Idempotency-Key", "req-42")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if r := ok(query("SELECT n FROM t WHERE k = 'idem'")); fmt.Sprint(r.body["data"].(map[string]any)["data"]) != "[[2] [1]]" {
		t.Errorf("a retried Idempotency-Key request stored rows again: %s", r.raw)
	}

	// INSERT and DELETE through SQL over REST.
	ok(query("INSERT INTO t (k, n, ts) VALUES ('c', 1, 10)"))
	ok(query("DELETE FROM t WHERE k = 'c'"))

	// GET routes.
	if r := ok(restCall(t, "GET", base+"/dbs", "")); fmt.Sprint(r.body["dbs"]) != "[rt]" {
		t.Errorf("GET /dbs: %s", r.raw)
	}
	r = ok(restCall(t, "GET", base+"/dbs/rt/tables", ""))
	if tables, _ := r.body["tables"].([]any); len(tables) != 1 || tables[0].(map[string]any)["name"] != "t" {
		t.Errorf("GET /dbs/rt/tables: %s", r.raw)
	}
	r = ok(restCall(t, "GET", base+"/dbs/rt/tables/t", ""))
	if tb := r.body["table"].(map[string]any); tb["partition_num"] != float64(3) || len(tb["column_desc"].([]any)) != 6 {
		t.Errorf("GET /dbs/rt/tables/t: %s", r.raw)
	}
	fails(restCall(t, "GET", base+"/dbs/rt/tables/nope", ""), 200, "table nope does not exist")
	fails(restCall(t, "GET", base+"/dbs/nope/tables", ""), 200, "database nope does not exist")
	ok(restCall(t, "POST", base+"/refresh", ""))
	fails(restCall(t, "GET", base+"/nope", ""), 404, "no route GET /nope")
	fails(restCall(t, "DELETE", base+"/dbs/rt", ""), 404, "no route DELETE /dbs/rt")

	// /status and /metrics on the same port.
	resp, err := http.Get(base + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st["role"] != "apiserver" || st["version"] != version {
		t.Errorf("/status: %v", st)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(metrics, []byte(`openmldb_apiserver_requests_total{code="-1",route="put"}`)) {
		t.Errorf("/metrics lacks the request counter:\n%.2000s", metrics)
	}
	if after := rows(); after != before {
		t.Fatalf("data changed: %s vs %s", after, before)
	}
}

// Two apiservers share a cluster with no state of their own: a row
// written through one is read through the other, and a table created
// through one is usable through the other at once.
func TestRESTTwoAPIServers(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 2, APIServers: 2})
	a, b := "http://"+c.APIServers[0].Endpoint, "http://"+c.APIServers[1].Endpoint
	for _, q := range []string{"CREATE DATABASE two", "CREATE TABLE t (k string, v bigint, INDEX(KEY=k, TS=v)) OPTIONS(PARTITIONNUM=2, REPLICANUM=2)"} {
		b, _ := json.Marshal(map[string]any{"mode": "online", "sql": q})
		if r := restCall(t, "POST", a+"/dbs/two", string(b)); r.body["code"] != float64(0) {
			t.Fatalf("%s: %s", q, r.raw)
		}
	}
	cluster.Eventually(t, 5*time.Second, "second apiserver sees the new table", func() error {
		r := restCall(t, "PUT", b+"/dbs/two/tables/t", `{"value":[["k", 1]]}`)
		if r.body["code"] != float64(0) {
			return fmt.Errorf("%s", r.raw)
		}
		return nil
	})
	r := restCall(t, "POST", a+"/dbs/two", `{"mode":"online","sql":"SELECT v FROM t WHERE k = 'k'"}`)
	if b, _ := json.Marshal(r.body["data"]); !strings.Contains(string(b), `"data":[[1]]`) {
		t.Fatalf("row written through one apiserver, read through the other: %s", r.raw)
	}
	out, err := c.SQLClient(cluster.Ctx(t), "SHOW COMPONENTS;")
	rows, _ := cluster.ParseBorderedTable(out)
	n := 0
	for _, row := range rows {
		if row["Role"] == "apiserver" && row["Version"] == version {
			n++
		}
	}
	if err != nil || n != 2 {
		t.Fatalf("SHOW COMPONENTS lists %d apiservers, want 2: %v\n%s", n, err, out)
	}
}

// The examples of docs/rest.md, executed.
func TestRESTDocs(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 3, APIServers: 1})
	f, err := os.Open("../docs/rest.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	curlRe := regexp.MustCompile(`^curl -s(?: -X (\w+))? (http://127\.0\.0\.1:9080\S*)(?: -d '(.*)')?$`)
	sc := bufio.NewScanner(f)
	var kind string
	var block []string
	var pending []string // method, url, body
	n, line := 0, 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if kind == "" {
			if strings.HasPrefix(l, "```") && len(l) > 3 {
				kind, block = l[3:], nil
			}
			continue
		}
		if l != "```" {
			block = append(block, l)
			continue
		}
		switch kind {
		case "bash":
			pending = nil
			if len(block) == 1 {
				if m := curlRe.FindStringSubmatch(block[0]); m != nil {
					method := m[1]
					if method == "" {
						method = "GET"
					}
					pending = []string{method, strings.Replace(m[2], "127.0.0.1:9080", c.APIServers[0].Endpoint, 1), m[3]}
				}
			}
		case "json":
			if pending == nil {
				t.Fatalf("docs/rest.md:%d: a json block without a curl command before it", line)
			}
			r := restCall(t, pending[0], pending[1], pending[2])
			var want map[string]any
			if err := json.Unmarshal([]byte(strings.Join(block, "\n")), &want); err != nil {
				t.Fatalf("docs/rest.md:%d: %v", line, err)
			}
			if !reflect.DeepEqual(r.body, want) {
				t.Errorf("docs/rest.md:%d: %s %s\n got %s\nwant %s", line, pending[0], pending[1], r.raw, strings.Join(block, "\n"))
			}
			n++
			pending = nil
		}
		kind = ""
	}
	if n < 10 {
		t.Fatalf("docs/rest.md has %d executed examples, want every route covered", n)
	}
}
