package sql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/schema"
)

// deployOptions are the DEPLOY options accepted (OpenMLDB's names); they
// are stored with the deployment. Indexes are never created by DEPLOY here.
// CREATE_INDEX='true' lets DEPLOY add the indexes its windows and joins
// need (built from the stored rows, like CREATE INDEX).
var deployOptions = map[string]bool{"RANGE_BIAS": true, "ROWS_BIAS": true, "LONG_WINDOWS": true, "SYNC": true, "SKIP_INDEX_CHECK": true, "CREATE_INDEX": true}

func (e *Engine) deploy(ctx context.Context, s *Session, x *Deploy) (*Result, error) {
	if s.DB == "" && (x.Query.From == nil || x.Query.From.Table.DB == "") {
		return nil, semanticf("no database selected: USE <db> first")
	}
	if x.Query.Where != nil {
		return nil, semanticf("a deployment computes one output row per request row: WHERE is not supported in DEPLOY")
	}
	if x.Query.Limit >= 0 {
		return nil, semanticf("LIMIT is not supported in DEPLOY")
	}
	opts := map[string]string{}
	for k, v := range x.Options {
		if !deployOptions[k] {
			return nil, semanticf("unknown DEPLOY option %s (supported: RANGE_BIAS, ROWS_BIAS, LONG_WINDOWS, SYNC, SKIP_INDEX_CHECK)", k)
		}
		val, err := constEval(v, nil)
		if err != nil {
			return nil, err
		}
		opts[k] = formatValue(val)
	}
	createIndex := strings.EqualFold(opts["CREATE_INDEX"], "true")
	var q *FeatureQuery
	for attempt := 0; ; attempt++ {
		// Compile a copy: compiling rewrites inline windows in the AST.
		st, err := Parse(x.Text)
		if err != nil {
			return nil, err
		}
		q, err = CompileFeature(SDKSource{e.SDK}, s.DB, st.(*Select))
		var missing *MissingIndexError
		if errors.As(err, &missing) && attempt < 8 {
			if !createIndex {
				return nil, fmt.Errorf("%w (create it with CREATE INDEX, or let DEPLOY add it: OPTIONS(CREATE_INDEX='true'))", err)
			}
			if err := e.SDK.AddIndex(ctx, missing.DB, missing.Table, missing.Index); err != nil {
				return nil, fmt.Errorf("%w: adding %s to %s: %v", ErrExecution, neededIndex(missing.Index.Keys, missing.Index.TS), missing.Table, err)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	rec := coord.DeploymentRecord{DB: q.DB, Name: x.Name, SQL: x.Text, Table: q.Main.Name, Options: opts, CreatedMs: time.Now().UnixMilli()}
	for _, c := range q.Columns {
		rec.Columns = append(rec.Columns, coord.DeploymentColumn{Name: c.Name, Type: uint8(c.Type)})
	}
	b, _ := json.Marshal(rec)
	key := e.Keys.Deployment(q.DB, x.Name)
	resp, err := e.SDK.Etcd().Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(b))).Commit()
	if err != nil {
		return nil, fmt.Errorf("%w: storing the deployment: %v", ErrExecution, err)
	}
	if !resp.Succeeded && !x.IfNotExists {
		return nil, semanticf("deployment %s already exists in database %s (DROP DEPLOYMENT %s first)", x.Name, q.DB, x.Name)
	}
	return &Result{}, nil
}

func (e *Engine) readDeployment(ctx context.Context, db, name string) (coord.DeploymentRecord, error) {
	return readDeployment(ctx, e.SDK.Etcd(), e.Keys, db, name)
}

func readDeployment(ctx context.Context, cli *clientv3.Client, keys coord.Keys, db, name string) (coord.DeploymentRecord, error) {
	var rec coord.DeploymentRecord
	resp, err := cli.Get(ctx, keys.Deployment(db, name))
	if err != nil {
		return rec, fmt.Errorf("%w: reading deployment: %v", ErrExecution, err)
	}
	if len(resp.Kvs) == 0 {
		return rec, fmt.Errorf("%w: deployment %s does not exist in database %s", client.ErrNotFound, name, db)
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
		return rec, fmt.Errorf("%w: deployment %s: %v", ErrExecution, name, err)
	}
	return rec, nil
}

func (e *Engine) showDeployments(ctx context.Context, s *Session) (*Result, error) {
	prefix := e.Keys.DeploymentPrefix()
	if s.DB != "" {
		prefix += s.DB + "/"
	}
	resp, err := e.SDK.Etcd().Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrExecution, err)
	}
	r := &Result{IsQuery: true, Columns: []Column{{"DB", schema.TypeString}, {"Deployment", schema.TypeString}}}
	for _, kv := range resp.Kvs {
		var rec coord.DeploymentRecord
		if json.Unmarshal(kv.Value, &rec) == nil {
			r.Rows = append(r.Rows, []any{rec.DB, rec.Name})
		}
	}
	sort.Slice(r.Rows, func(i, j int) bool {
		return fmt.Sprint(r.Rows[i]) < fmt.Sprint(r.Rows[j])
	})
	return r, nil
}

func (e *Engine) showDeployment(ctx context.Context, s *Session, name string) (*Result, error) {
	if s.DB == "" {
		return nil, semanticf("no database selected: USE <db> first")
	}
	rec, err := e.readDeployment(ctx, s.DB, name)
	if err != nil {
		return nil, err
	}
	head := &Result{IsQuery: true, Columns: []Column{{"DB", schema.TypeString}, {"Deployment", schema.TypeString}, {"Table", schema.TypeString}},
		Rows: [][]any{{rec.DB, rec.Name, rec.Table}}}
	sqlRes := &Result{IsQuery: true, Columns: []Column{{"SQL", schema.TypeString}}, Rows: [][]any{{rec.SQL + ";"}}}
	out := &Result{IsQuery: true, Columns: []Column{{"#", schema.TypeInt32}, {"Output_column", schema.TypeString}, {"Type", schema.TypeString}}}
	for i, c := range rec.Columns {
		out.Rows = append(out.Rows, []any{int64(i + 1), c.Name, TypeName(schema.Type(c.Type))})
	}
	head.More = []*Result{sqlRes, out}
	return head, nil
}

func (e *Engine) dropDeployment(ctx context.Context, s *Session, x *DropDeployment) (*Result, error) {
	if s.DB == "" {
		return nil, semanticf("no database selected: USE <db> first")
	}
	resp, err := e.SDK.Etcd().Delete(ctx, e.Keys.Deployment(s.DB, x.Name))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrExecution, err)
	}
	if resp.Deleted == 0 && !x.IfExists {
		return nil, semanticf("deployment %s does not exist in database %s", x.Name, s.DB)
	}
	return &Result{}, nil
}

// DeploymentRunner computes deployments for request rows, keeping each
// compiled plan and re-reading the stored deployment at most once a second.
type DeploymentRunner struct {
	Etcd *clientv3.Client
	Keys coord.Keys
	Src  RowSource

	mu    sync.Mutex
	cache map[string]*cachedDeployment
	// refreshedAt: the last time a failed compile re-read the metadata
	// (at most once a second: a deployment that really no longer compiles
	// must not reload every table on every request).
	refreshedAt time.Time
}

// compile compiles a deployment's query. The record was read from etcd
// just now, but the tables come from a watch that may be behind it: a
// deployment created a moment ago with CREATE_INDEX needs the index it
// added. So a failed compile is tried again on re-read metadata before the
// deployment is called broken.
func (r *DeploymentRunner) compile(ctx context.Context, db string, sel *Select) (*FeatureQuery, error) {
	q, err := CompileFeature(r.Src, db, sel)
	if err != nil && r.refresh(ctx) {
		q, err = CompileFeature(r.Src, db, sel)
	}
	return q, err
}

// refresh re-reads the source's table definitions if it can and has not
// done so in the last second; it reports whether it did.
func (r *DeploymentRunner) refresh(ctx context.Context) bool {
	m, ok := r.Src.(MetadataRefresher)
	if !ok {
		return false
	}
	r.mu.Lock()
	if time.Since(r.refreshedAt) < time.Second {
		r.mu.Unlock()
		return false
	}
	r.refreshedAt = time.Now()
	r.mu.Unlock()
	return m.Refresh(ctx) == nil
}

type cachedDeployment struct {
	rec coord.DeploymentRecord
	q   *FeatureQuery
	at  time.Time
}

// Deployment returns a deployment's record and compiled plan.
func (r *DeploymentRunner) Deployment(ctx context.Context, db, name string) (coord.DeploymentRecord, *FeatureQuery, error) {
	key := db + "/" + name
	r.mu.Lock()
	c := r.cache[key]
	r.mu.Unlock()
	if c != nil && time.Since(c.at) < time.Second {
		return c.rec, c.q, nil
	}
	rec, err := readDeployment(ctx, r.Etcd, r.Keys, db, name)
	if err != nil {
		return rec, nil, err
	}
	var q *FeatureQuery
	if c != nil && c.rec.SQL == rec.SQL && c.rec.CreatedMs == rec.CreatedMs {
		q = c.q
	} else {
		st, err := Parse(rec.SQL)
		if err != nil {
			return rec, nil, err
		}
		if q, err = r.compile(ctx, db, st.(*Select)); err != nil {
			return rec, nil, fmt.Errorf("deployment %s no longer compiles: %w", name, err)
		}
	}
	r.mu.Lock()
	if r.cache == nil {
		r.cache = map[string]*cachedDeployment{}
	}
	r.cache[key] = &cachedDeployment{rec: rec, q: q, at: time.Now()}
	r.mu.Unlock()
	return rec, q, nil
}

// Call computes the deployment for each request row (values in the main
// table's column order).
func (r *DeploymentRunner) Call(ctx context.Context, db, name string, rows [][]any) ([][]any, error) {
	_, q, err := r.Deployment(ctx, db, name)
	if err != nil {
		return nil, err
	}
	out := make([][]any, 0, len(rows))
	for i, vals := range rows {
		req, err := q.NormalizeRequest(vals)
		if err != nil {
			return nil, fmt.Errorf("request row %d: %w", i+1, err)
		}
		o, err := q.Request(ctx, r.Src, req, nil)
		if err != nil {
			return nil, fmt.Errorf("request row %d: %w", i+1, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// JSONValue is a value as REST and the tablets' deployment replies carry
// it: dates as "yyyy-mm-dd", NaN and infinities as null.
func JSONValue(v any) any {
	switch x := canon(v).(type) {
	case schema.Date:
		return x.String()
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	default:
		return x
	}
}

// IsNotFound reports whether err says a deployment, table or database is missing.
func IsNotFound(err error) bool { return errors.Is(err, client.ErrNotFound) }
