package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/internal/buildinfo"
	"github.com/openmldb-go/openmldb/internal/config"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/internal/server"
	"github.com/openmldb-go/openmldb/internal/sql"
	"github.com/openmldb-go/openmldb/schema"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 8 << 20

// Run serves the REST API until ctx is cancelled, then deregisters and
// drains in-flight requests.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	reg := server.NewRegistry("apiserver")
	hs, err := server.Listen(cfg.Endpoint, reg, log)
	if err != nil {
		return err
	}
	sdk, err := client.Connect(ctx, client.Options{ZkCluster: cfg.ZkCluster, ZkRootPath: cfg.ZkRootPath})
	if err != nil {
		return err
	}
	defer sdk.Close()
	start := time.Now().UTC()
	api := New(sdk, cfg.ZkRootPath, reg)
	api.Register(hs.Mux)
	hs.Mux.Handle("GET /status", server.StatusHandler("apiserver", cfg.Endpoint, start, nil))

	keys := coord.Keys{Root: cfg.ZkRootPath}
	regCtx, stopReg := context.WithCancel(context.Background())
	regDone := make(chan struct{})
	go func() {
		defer close(regDone)
		register(regCtx, sdk.Etcd(), keys.APIServer(cfg.Endpoint), coord.NodeInfo{
			Endpoint: cfg.Endpoint, Version: buildinfo.Version, Commit: buildinfo.Commit, StartTime: start, SessionID: coord.NewSessionID(),
		}, coord.LeaseTTLSeconds(cfg.ZkSessionTimeout), log)
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve() }()
	log.Info("apiserver started", "endpoint", cfg.Endpoint, "zk_cluster", cfg.ZkCluster, "zk_root_path", cfg.ZkRootPath)
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-serveErr:
		runErr = fmt.Errorf("http server: %w", runErr)
	}
	// Leave the component list first, then finish what clients sent: a
	// request accepted before the stop still gets its answer.
	stopReg()
	<-regDone
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	log.Info("apiserver stopped")
	return runErr
}

// register keeps a leased key with this apiserver's info until ctx ends,
// re-creating the lease if etcd loses it.
func register(ctx context.Context, cli *clientv3.Client, key string, info coord.NodeInfo, ttl int, log *slog.Logger) {
	val, _ := json.Marshal(info)
	for ctx.Err() == nil {
		sess, end, err := coord.NewSession(cli, ttl)
		if err == nil {
			_, err = cli.Put(ctx, key, string(val), clientv3.WithLease(sess.Lease()))
			if err == nil {
				select {
				case <-ctx.Done():
				case <-sess.Done():
					log.Warn("apiserver registration lease lost; registering again")
				}
			}
			end()
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("registering apiserver in etcd", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// API serves OpenMLDB's REST routes.
type API struct {
	sdk    *client.Client
	engine *sql.Engine
	reqs   *prometheus.CounterVec
	lat    *prometheus.HistogramVec
}

// New builds the API over an SDK; reg may be nil.
func New(sdk *client.Client, root string, reg *prometheus.Registry) *API {
	a := &API{sdk: sdk, engine: sql.NewEngine(sdk, root)}
	a.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "openmldb_apiserver_requests_total", Help: "REST requests by route and result code (0 ok, -1 error).",
	}, []string{"route", "code"})
	a.lat = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "openmldb_apiserver_request_seconds", Help: "REST request latency by route.",
		Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16),
	}, []string{"route"})
	if reg != nil {
		reg.MustRegister(a.reqs, a.lat)
	}
	return a
}

// Register adds the routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("PUT /dbs/{db}/tables/{table}", a.wrap("put", a.put))
	mux.HandleFunc("POST /dbs/{db}", a.wrap("query", a.query))
	mux.HandleFunc("GET /dbs", a.wrap("dbs", a.listDBs))
	mux.HandleFunc("GET /dbs/{db}/tables", a.wrap("tables", a.listTables))
	mux.HandleFunc("GET /dbs/{db}/tables/{table}", a.wrap("table", a.getTable))
	mux.HandleFunc("POST /refresh", a.wrap("refresh", a.refresh))
	mux.HandleFunc("POST /dbs/{db}/deployments/{name}", a.wrap("deployment", a.callDeployment))
	mux.HandleFunc("GET /dbs/{db}/deployments/{name}", a.wrap("get_deployment", a.getDeployment))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errBody(fmt.Sprintf("no route %s %s; routes: PUT /dbs/{db}/tables/{table}, POST /dbs/{db}, GET /dbs, GET /dbs/{db}/tables, GET /dbs/{db}/tables/{table}, POST /dbs/{db}/deployments/{name}, GET /dbs/{db}/deployments/{name}, POST /refresh", r.Method, r.URL.Path)))
	})
}

// apiError is a failure reported as {"code":-1,"msg":...} with an HTTP status.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusOK, fmt.Sprintf(format, args...)}
}

type handler func(r *http.Request) (map[string]any, error)

// wrap runs a handler and writes OpenMLDB's envelope: code 0 and "ok" on
// success, code -1 and the reason otherwise. As OpenMLDB's apiserver,
// request errors are answered with HTTP 200 and code -1; only unknown
// routes (404) and oversized bodies (413) use other statuses.
func (a *API) wrap(route string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		body, err := h(r)
		code := "0"
		if err != nil {
			code = "-1"
			status := http.StatusOK
			var ae *apiError
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe):
				status = http.StatusRequestEntityTooLarge
				err = fmt.Errorf("request body larger than %d bytes", MaxBodyBytes)
			case errors.As(err, &ae):
				status = ae.status
			}
			writeJSON(w, status, errBody(err.Error()))
		} else {
			if body == nil {
				body = map[string]any{}
			}
			body["code"], body["msg"] = 0, "ok"
			writeJSON(w, http.StatusOK, body)
		}
		a.reqs.WithLabelValues(route, code).Inc()
		a.lat.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}
}

func errBody(msg string) map[string]any { return map[string]any{"code": -1, "msg": msg} }

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errBody("encoding the response: " + err.Error()))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// decodeBody reads a JSON object strictly: numbers stay exact, trailing
// data is an error.
func decodeBody(r *http.Request, into any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return badRequest("empty request body: a JSON object is expected")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return badRequest("malformed JSON body: %v", err)
	}
	if dec.More() {
		return badRequest("malformed JSON body: data after the JSON object")
	}
	return nil
}

type putBody struct {
	Value []json.RawMessage `json:"value"`
}

func (a *API) put(r *http.Request) (map[string]any, error) {
	db, name := r.PathValue("db"), r.PathValue("table")
	t, err := a.sdk.Table(db, name)
	if err != nil {
		return nil, badRequest("table %s does not exist in database %s", name, db)
	}
	var body putBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if len(body.Value) == 0 {
		return nil, badRequest(`"value" must hold at least one row, e.g. {"value":[[v1, v2, ...]]}`)
	}
	rows := make([][]any, 0, len(body.Value))
	for i, raw := range body.Value {
		row, err := rowFromJSON(t, raw)
		if err != nil {
			return nil, badRequest("row %d: %v", i+1, err)
		}
		rows = append(rows, row)
	}
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		// Row i of the request gets key#i: a retried request stores each row once.
		for i, row := range rows {
			if err := a.sdk.PutIdempotent(r.Context(), db, name, row, fmt.Sprintf("%s#%d", key, i)); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	if len(rows) == 1 {
		err = a.sdk.Put(r.Context(), db, name, rows[0])
	} else {
		err = a.sdk.PutBatch(r.Context(), db, name, rows)
	}
	if err != nil {
		return nil, err
	}
	return nil, nil
}

// rowFromJSON reads one row: an array in column order or an object by
// column name (missing columns take their DEFAULT or NULL).
func rowFromJSON(t schema.Table, raw json.RawMessage) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	row := make([]any, len(t.Columns))
	switch x := v.(type) {
	case []any:
		if len(x) != len(t.Columns) {
			return nil, fmt.Errorf("table %s has %d columns, the row has %d values", t.Name, len(t.Columns), len(x))
		}
		for i, c := range t.Columns {
			cv, err := fromJSON(c, x[i])
			if err != nil {
				return nil, err
			}
			row[i] = cv
		}
	case map[string]any:
		for k := range x {
			if t.ColumnIndex(k) < 0 {
				return nil, fmt.Errorf("column %s not found in table %s", k, t.Name)
			}
		}
		for i, c := range t.Columns {
			jv, ok := x[c.Name]
			if !ok {
				jv = c.Default
			}
			cv, err := fromJSON(c, jv)
			if err != nil {
				return nil, err
			}
			row[i] = cv
		}
	default:
		return nil, fmt.Errorf("a row must be a JSON array or object, not %s", string(raw))
	}
	return row, nil
}

// fromJSON converts a decoded JSON value to a column's value.
func fromJSON(c schema.Column, v any) (any, error) {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			v = i
		} else if f, err := n.Float64(); err == nil {
			v = f
		} else {
			return nil, fmt.Errorf("column %s: bad number %s", c.Name, n)
		}
	}
	if s, ok := v.(string); ok && c.Type == schema.TypeTimestamp {
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			v = ms
		} else if tm, err := time.Parse("2006-01-02 15:04:05", s); err == nil {
			v = tm.UnixMilli()
		} else {
			return nil, fmt.Errorf("column %s (timestamp): %q is not a timestamp (milliseconds or \"yyyy-mm-dd hh:mm:ss\")", c.Name, s)
		}
	}
	nv, err := schema.Normalize(c, v)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), schema.ErrInvalid.Error()+": "))
	}
	return nv, nil
}

type queryBody struct {
	Mode  string `json:"mode"`
	SQL   string `json:"sql"`
	Input *struct {
		Schema []string `json:"schema"`
		Data   []any    `json:"data"`
	} `json:"input"`
}

func (a *API) query(r *http.Request) (map[string]any, error) {
	db := r.PathValue("db")
	var body queryBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	switch strings.ToLower(body.Mode) {
	case "online", "":
	case "offsync", "offasync", "offline":
		return nil, badRequest("mode %q needs a taskmanager and offline engine, which this cluster does not run; use \"online\"", body.Mode)
	default:
		return nil, badRequest("unknown mode %q (want \"online\")", body.Mode)
	}
	if strings.TrimSpace(body.SQL) == "" {
		return nil, badRequest(`"sql" is empty`)
	}
	var args []any
	if body.Input != nil {
		if len(body.Input.Schema) != len(body.Input.Data) {
			return nil, badRequest("input has %d schema types and %d values", len(body.Input.Schema), len(body.Input.Data))
		}
		for i, tn := range body.Input.Schema {
			ty, err := restType(tn)
			if err != nil {
				return nil, badRequest("input schema %d: %v", i+1, err)
			}
			v, err := fromJSON(schema.Column{Name: fmt.Sprintf("input %d", i+1), Type: ty}, body.Input.Data[i])
			if err != nil {
				return nil, badRequest("%v", err)
			}
			args = append(args, v)
		}
	}
	st, err := sql.Parse(body.SQL)
	if err != nil {
		return nil, err
	}
	sess := a.engine.NewSession(r.Context(), db)
	if _, isCreateDB := st.(*sql.CreateDatabase); !isCreateDB {
		if err := a.requireDB(r.Context(), db); err != nil {
			return nil, err
		}
	}
	res, err := a.engine.Exec(r.Context(), sess, st, args)
	if err != nil {
		return nil, err
	}
	if !res.IsQuery {
		return nil, nil
	}
	return map[string]any{"data": resultJSON(res)}, nil
}

func (a *API) requireDB(ctx context.Context, db string) error {
	if len(a.sdk.Tables(db)) > 0 {
		return nil // known from the SDK's metadata cache: no round trip
	}
	dbs, err := a.sdk.Databases(ctx)
	if err != nil {
		return err
	}
	for _, d := range dbs {
		if d == db {
			return nil
		}
	}
	return badRequest("database %s does not exist", db)
}

// resultJSON renders {"schema":[{"name","type"}],"data":[[...]]}.
func resultJSON(res *sql.Result) map[string]any {
	sch := make([]map[string]string, len(res.Columns))
	for i, c := range res.Columns {
		sch[i] = map[string]string{"name": c.Name, "type": RestTypeName(c.Type)}
	}
	data := make([][]any, len(res.Rows))
	for i, row := range res.Rows {
		out := make([]any, len(row))
		for j, v := range row {
			out[j] = jsonValue(v)
		}
		data[i] = out
	}
	return map[string]any{"schema": sch, "data": data}
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case schema.Date:
		return x.String()
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil
		}
	}
	return v
}

var restTypes = map[schema.Type]string{
	schema.TypeBool: "Bool", schema.TypeInt16: "Int16", schema.TypeInt32: "Int32", schema.TypeInt64: "Int64",
	schema.TypeFloat: "Float", schema.TypeDouble: "Double", schema.TypeString: "String", schema.TypeDate: "Date",
	schema.TypeTimestamp: "Timestamp",
}

// RestTypeName is a type as OpenMLDB's REST schemas name it.
func RestTypeName(t schema.Type) string {
	if n, ok := restTypes[t]; ok {
		return n
	}
	return "String"
}

func restType(name string) (schema.Type, error) {
	for t, n := range restTypes {
		if strings.EqualFold(n, name) {
			return t, nil
		}
	}
	if t, err := schema.ParseType(name); err == nil {
		return t, nil
	}
	return 0, fmt.Errorf("unknown type %q (want Bool, Int16, Int32, Int64, Float, Double, String, Date, Timestamp)", name)
}

func (a *API) listDBs(r *http.Request) (map[string]any, error) {
	dbs, err := a.sdk.Databases(r.Context())
	if err != nil {
		return nil, err
	}
	if dbs == nil {
		dbs = []string{}
	}
	return map[string]any{"dbs": dbs}, nil
}

func (a *API) listTables(r *http.Request) (map[string]any, error) {
	db := r.PathValue("db")
	if err := a.requireDB(r.Context(), db); err != nil {
		return nil, err
	}
	metas := a.sdk.Tables(db)
	sort.Slice(metas, func(i, j int) bool { return metas[i].Table.Name < metas[j].Table.Name })
	tables := make([]map[string]any, 0, len(metas))
	for _, tm := range metas {
		tables = append(tables, tableInfo(tm))
	}
	return map[string]any{"tables": tables}, nil
}

func (a *API) getTable(r *http.Request) (map[string]any, error) {
	db, name := r.PathValue("db"), r.PathValue("table")
	for _, tm := range a.sdk.Tables(db) {
		if tm.Table.Name == name {
			return map[string]any{"table": tableInfo(tm)}, nil
		}
	}
	return nil, badRequest("table %s does not exist in database %s", name, db)
}

func (a *API) refresh(r *http.Request) (map[string]any, error) {
	return nil, a.sdk.Refresh(r.Context())
}

var dataTypes = map[schema.Type]string{
	schema.TypeBool: "kBool", schema.TypeInt16: "kSmallInt", schema.TypeInt32: "kInt", schema.TypeInt64: "kBigInt",
	schema.TypeFloat: "kFloat", schema.TypeDouble: "kDouble", schema.TypeString: "kVarchar", schema.TypeDate: "kDate",
	schema.TypeTimestamp: "kTimestamp",
}

// tableInfo renders a table in the shape of OpenMLDB's TableInfo JSON.
func tableInfo(tm coord.TableMeta) map[string]any {
	t := tm.Table
	cols := make([]map[string]any, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = map[string]any{"name": c.Name, "data_type": dataTypes[c.Type], "not_null": c.NotNull}
		if c.Default != nil {
			cols[i]["default_value"] = fmt.Sprint(c.Default)
		}
	}
	keys := make([]map[string]any, len(t.Indexes))
	for i, ix := range t.Indexes {
		k := map[string]any{"index_name": ix.Name, "col_name": ix.Keys,
			"ttl": map[string]any{"ttl_type": sql.TTLTypeName(ix.TTLType), "abs_ttl": int64(ix.AbsTTL / time.Minute), "lat_ttl": ix.LatTTL}}
		if ix.TS != "" {
			k["ts_name"] = ix.TS
		}
		keys[i] = k
	}
	return map[string]any{"name": t.Name, "db": t.DB, "tid": tm.TID, "partition_num": t.PartitionNum,
		"replica_num": t.ReplicaNum, "storage_mode": "kMemory", "column_desc": cols, "column_key": keys}
}

type deploymentBody struct {
	Input      []json.RawMessage `json:"input"`
	NeedSchema bool              `json:"need_schema"`
}

func columnsJSON(cols []schema.Column) []map[string]string {
	out := make([]map[string]string, len(cols))
	for i, c := range cols {
		out[i] = map[string]string{"name": c.Name, "type": RestTypeName(c.Type)}
	}
	return out
}

// callDeployment computes a deployment for request rows:
// {"input":[[v, ...]] | [{"col": v}], "need_schema": bool}.
func (a *API) callDeployment(r *http.Request) (map[string]any, error) {
	db, name := r.PathValue("db"), r.PathValue("name")
	d, err := a.sdk.GetDeployment(r.Context(), db, name)
	if err != nil {
		return nil, err
	}
	t, err := a.sdk.Table(db, d.Table)
	if err != nil {
		return nil, badRequest("deployment %s reads table %s, which does not exist any more", name, d.Table)
	}
	var body deploymentBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if len(body.Input) == 0 {
		return nil, badRequest(`"input" must hold at least one request row, e.g. {"input":[[v1, v2, ...]]}`)
	}
	rows := make([][]any, 0, len(body.Input))
	for i, raw := range body.Input {
		row, err := rowFromJSON(t, raw)
		if err != nil {
			return nil, badRequest("input row %d: %v", i+1, err)
		}
		rows = append(rows, row)
	}
	out, err := a.sdk.CallDeployment(r.Context(), db, name, rows)
	if err != nil {
		return nil, err
	}
	data := make([][]any, len(out))
	for i, row := range out {
		vals := make([]any, len(row))
		for j, v := range row {
			vals[j] = sql.JSONValue(v)
		}
		data[i] = vals
	}
	res := map[string]any{"data": data, "common_cols_data": []any{}}
	if body.NeedSchema {
		res["schema"] = columnsJSON(d.Columns)
	}
	return map[string]any{"data": res}, nil
}

func (a *API) getDeployment(r *http.Request) (map[string]any, error) {
	db, name := r.PathValue("db"), r.PathValue("name")
	d, err := a.sdk.GetDeployment(r.Context(), db, name)
	if err != nil {
		return nil, err
	}
	t, err := a.sdk.Table(db, d.Table)
	if err != nil {
		return nil, badRequest("deployment %s reads table %s, which does not exist any more", name, d.Table)
	}
	return map[string]any{"data": map[string]any{"db": d.DB, "name": d.Name, "sql": d.SQL, "table": d.Table,
		"input_schema": columnsJSON(t.Columns), "output_schema": columnsJSON(d.Columns)}}, nil
}
