package sql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/internal/cli"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/schema"
)

// DefaultMaxScanRows bounds a preview query that has no index condition
// and no LIMIT: past it the query is refused instead of returning a
// truncated answer.
const DefaultMaxScanRows = 10000

// Engine runs statements against one cluster. It is safe for concurrent
// use; per-connection state lives in Session.
type Engine struct {
	SDK  *client.Client
	Keys coord.Keys
	// MaxScanRows overrides DefaultMaxScanRows when positive.
	MaxScanRows int

	// globals caches SET GLOBAL values briefly: the apiserver makes a
	// session per request and must not pay an etcd read for each.
	gmu      sync.Mutex
	globals  map[string]string
	globalAt time.Time
}

// globalsTTL bounds how stale a new session's view of SET GLOBAL values
// may be (SET GLOBAL on this engine refreshes it at once).
const globalsTTL = time.Second

// NewEngine returns an engine for the cluster the SDK is connected to.
func NewEngine(sdk *client.Client, root string) *Engine {
	return &Engine{SDK: sdk, Keys: coord.Keys{Root: root}}
}

// Session is one client's state: the current database and variables.
type Session struct {
	DB   string
	Vars map[string]string
}

// Variables and their defaults (OpenMLDB's names).
var defaultVars = map[string]string{
	"execute_mode": "online",
	"enable_trace": "false",
	"sync_job":     "false",
	"job_timeout":  "20000",
	"spark_config": "",
}

// NewSession starts a session in db, with SET GLOBAL values applied.
func (e *Engine) NewSession(ctx context.Context, db string) *Session {
	s := &Session{DB: db, Vars: map[string]string{}}
	for k, v := range e.globalVars(ctx) {
		s.Vars[k] = v // copied: the cached map is shared
	}
	return s
}

func (e *Engine) globalVars(ctx context.Context) map[string]string {
	e.gmu.Lock()
	defer e.gmu.Unlock()
	if e.globals != nil && time.Since(e.globalAt) < globalsTTL {
		return e.globals
	}
	e.globals, e.globalAt = e.readGlobals(ctx), time.Now()
	return e.globals
}

func (e *Engine) readGlobals(ctx context.Context) map[string]string {
	out := map[string]string{}
	for k, v := range defaultVars {
		out[k] = v
	}
	if e.SDK == nil {
		return out
	}
	resp, err := e.SDK.Etcd().Get(ctx, e.Keys.GlobalVariablePrefix(), clientv3.WithPrefix())
	if err == nil {
		for _, kv := range resp.Kvs {
			out[strings.TrimPrefix(string(kv.Key), e.Keys.GlobalVariablePrefix())] = string(kv.Value)
		}
	}
	return out
}

// Column is one output column.
type Column struct {
	Name string
	Type schema.Type
}

// Result is what a statement returns. Queries (SELECT, SHOW, DESC) fill
// Columns and Rows; DESC adds more tables in More.
type Result struct {
	IsQuery  bool
	Columns  []Column
	Rows     [][]any
	Affected int
	Message  string
	More     []*Result
}

// ErrExecution marks statements that failed while running (cluster errors).
var ErrExecution = errors.New("execution error")

// ExecScript parses and runs every statement of src in order, stopping at
// the first error; it returns the results so far.
func (e *Engine) ExecScript(ctx context.Context, s *Session, src string, args []any) ([]*Result, error) {
	stmts, err := ParseScript(src)
	if err != nil {
		return nil, err
	}
	var out []*Result
	for _, st := range stmts {
		r, err := e.Exec(ctx, s, st, args)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Exec runs one parsed statement; args bind ? placeholders.
func (e *Engine) Exec(ctx context.Context, s *Session, st Statement, args []any) (*Result, error) {
	switch x := st.(type) {
	case *CreateDatabase:
		err := e.SDK.CreateDatabase(ctx, x.Name, x.IfNotExists)
		return &Result{Message: "Create database success"}, wrapClient(err)
	case *DropDatabase:
		err := e.SDK.DropDatabase(ctx, x.Name)
		if x.IfExists && errors.Is(mapClient(err), client.ErrNotFound) {
			err = nil
		}
		if err == nil && strings.EqualFold(s.DB, x.Name) {
			s.DB = ""
		}
		return &Result{Message: "Drop database success"}, wrapClient(err)
	case *Use:
		dbs, err := e.SDK.Databases(ctx)
		if err != nil {
			return nil, wrapClient(err)
		}
		for _, d := range dbs {
			if d == x.Name {
				s.DB = d
				return &Result{Message: "Database changed"}, nil
			}
		}
		return nil, semanticf("database %s does not exist", x.Name)
	case *ShowDatabases:
		dbs, err := e.SDK.Databases(ctx)
		if err != nil {
			return nil, wrapClient(err)
		}
		r := &Result{IsQuery: true, Columns: []Column{{"Databases", schema.TypeString}}}
		for _, d := range dbs {
			r.Rows = append(r.Rows, []any{d})
		}
		return r, nil
	case *ShowTables:
		db := x.DB
		if db == "" {
			db = s.DB
		}
		if db == "" {
			return nil, semanticf("no database selected: USE <db> first, or SHOW TABLES FROM <db>")
		}
		r := &Result{IsQuery: true, Columns: []Column{{"Tables", schema.TypeString}}}
		var names []string
		for _, tm := range e.SDK.Tables(db) {
			names = append(names, tm.Table.Name)
		}
		sort.Strings(names)
		for _, n := range names {
			r.Rows = append(r.Rows, []any{n})
		}
		return r, nil
	case *ShowTableStatus:
		pattern := ""
		if x.Like != nil {
			pattern = *x.Like
		} else if s.DB != "" {
			pattern = s.DB
		}
		r := &Result{IsQuery: true}
		for _, h := range cli.TableStatusHeader {
			r.Columns = append(r.Columns, Column{h, schema.TypeString})
		}
		for _, row := range cli.TableStatusRows(e.SDK.TableStatuses(pattern)) {
			vals := make([]any, len(row))
			for i, v := range row {
				vals[i] = v
			}
			r.Rows = append(r.Rows, vals)
		}
		return r, nil
	case *ShowComponents:
		return e.showComponents(ctx)
	case *ShowVariables:
		vars := s.Vars
		if x.Global {
			e.gmu.Lock()
			e.globals = nil
			e.gmu.Unlock()
			vars = e.globalVars(ctx)
		}
		r := &Result{IsQuery: true, Columns: []Column{{"Variable_name", schema.TypeString}, {"Value", schema.TypeString}}}
		var names []string
		for k := range vars {
			if x.Like == nil || likeMatch(k, *x.Like) {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			r.Rows = append(r.Rows, []any{n, vars[n]})
		}
		return r, nil
	case *Set:
		return e.set(ctx, s, x, args)
	case *ShowCreateTable:
		t, err := e.table(s, x.Table)
		if err != nil {
			return nil, err
		}
		return &Result{IsQuery: true, Columns: []Column{{"Table", schema.TypeString}, {"Create Table", schema.TypeString}},
			Rows: [][]any{{t.Name, CreateTableText(t)}}}, nil
	case *Desc:
		t, err := e.table(s, x.Table)
		if err != nil {
			return nil, err
		}
		return describe(t), nil
	case *CreateTable:
		return e.createTable(ctx, s, x)
	case *DropTable:
		tn := e.qualify(s, x.Table)
		if tn.DB == "" {
			return nil, semanticf("no database selected: USE <db> first or write db.table")
		}
		err := e.SDK.DropTable(ctx, tn.DB, tn.Name)
		if x.IfExists && errors.Is(mapClient(err), client.ErrNotFound) {
			err = nil
		}
		return &Result{Message: "Drop table success"}, wrapClient(err)
	case *Insert:
		return e.insert(ctx, s, x, args)
	case *Delete:
		return e.delete(ctx, s, x, args)
	case *Select:
		if s.Vars["execute_mode"] == "offline" {
			return e.offlineSelect(ctx, s, x, args)
		}
		if len(x.Windows) > 0 || len(x.Joins) > 0 || hasWindowCall(x) {
			return nil, semanticf("windows and LAST JOIN are computed for request rows by a deployment (DEPLOY name SELECT ...), or over stored rows in offline mode (SET @@execute_mode='offline'), not in online preview queries")
		}
		return e.selectStmt(ctx, s, x, args)
	case *Deploy:
		return e.deploy(ctx, s, x)
	case *CreateIndex:
		return e.createIndex(ctx, s, x)
	case *ShowDeployments:
		return e.showDeployments(ctx, s)
	case *ShowDeployment:
		return e.showDeployment(ctx, s, x.Name)
	case *DropDeployment:
		return e.dropDeployment(ctx, s, x)
	}
	return nil, semanticf("statement %T is not supported", st)
}

// mapClient turns connect errors into the SDK's typed errors.
func mapClient(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		switch ce.Code() {
		case connect.CodeNotFound:
			return fmt.Errorf("%w: %s", client.ErrNotFound, ce.Message())
		case connect.CodeAlreadyExists:
			return fmt.Errorf("%w: %s", client.ErrAlreadyExists, ce.Message())
		case connect.CodeInvalidArgument, connect.CodeFailedPrecondition:
			return fmt.Errorf("%w: %s", client.ErrInvalidArgument, ce.Message())
		}
		return fmt.Errorf("%w: %s", ErrExecution, ce.Message())
	}
	return err
}

func wrapClient(err error) error {
	if err == nil {
		return nil
	}
	return mapClient(err)
}

func (e *Engine) qualify(s *Session, tn TableName) TableName {
	if tn.DB == "" {
		tn.DB = s.DB
	}
	return tn
}

func (e *Engine) table(s *Session, tn TableName) (schema.Table, error) {
	tn = e.qualify(s, tn)
	if tn.DB == "" {
		return schema.Table{}, semanticf("no database selected for table %s: USE <db> first or write db.%s", tn.Name, tn.Name)
	}
	t, err := e.SDK.Table(tn.DB, tn.Name)
	if err != nil {
		return schema.Table{}, semanticf("table %s does not exist in database %s", tn.Name, tn.DB)
	}
	return t, nil
}

func (e *Engine) set(ctx context.Context, s *Session, x *Set, args []any) (*Result, error) {
	if _, ok := defaultVars[x.Name]; !ok {
		var names []string
		for k := range defaultVars {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, semanticf("unknown variable %s (known: %s)", x.Name, strings.Join(names, ", "))
	}
	v, err := eval(x.Value, &scope{args: args})
	if err != nil {
		return nil, err
	}
	val := formatValue(v)
	if x.Name == "execute_mode" {
		val = strings.ToLower(val)
		if val != "online" && val != "offline" {
			return nil, semanticf("execute_mode must be 'online' or 'offline', not %q", val)
		}

	}
	if x.Global {
		if _, err := e.SDK.Etcd().Put(ctx, e.Keys.GlobalVariable(x.Name), val); err != nil {
			return nil, fmt.Errorf("%w: storing global variable: %v", ErrExecution, err)
		}
		e.gmu.Lock()
		e.globals = nil
		e.gmu.Unlock()
	}
	s.Vars[x.Name] = val
	return &Result{}, nil
}

func constEval(e Expr, args []any) (any, error) {
	return eval(e, &scope{args: args})
}

func (e *Engine) createTable(ctx context.Context, s *Session, x *CreateTable) (*Result, error) {
	tn := e.qualify(s, x.Table)
	if tn.DB == "" {
		return nil, semanticf("no database selected: USE <db> first or write CREATE TABLE db.%s", tn.Name)
	}
	t := schema.Table{DB: tn.DB, Name: tn.Name}
	for _, c := range x.Columns {
		ty, err := schema.ParseType(c.Type)
		if err != nil {
			return nil, semanticf("column %s: %v", c.Name, stripInvalid(err))
		}
		col := schema.Column{Name: c.Name, Type: ty, NotNull: c.NotNull}
		if c.Default != nil {
			v, err := constEval(c.Default, nil)
			if err != nil {
				return nil, err
			}
			nv, err := toColumn(col, v)
			if err != nil {
				return nil, semanticf("DEFAULT of column %s: %v", c.Name, stripInvalid(err))
			}
			col.Default = jsonValue(nv)
		}
		t.Columns = append(t.Columns, col)
	}
	for _, def := range x.Indexes {
		ix, err := indexFromDef(def)
		if err != nil {
			return nil, err
		}
		t.Indexes = append(t.Indexes, ix)
	}
	if len(t.Indexes) == 0 {
		// As OpenMLDB: without INDEX, the first column that can be a key is one.
		for _, c := range t.Columns {
			if c.Type != schema.TypeFloat && c.Type != schema.TypeDouble {
				t.Indexes = append(t.Indexes, schema.Index{Keys: []string{c.Name}, TTLType: schema.TTLAbsolute})
				break
			}
		}
	}
	var opts client.CreateTableOptions
	opts.IfNotExists = x.IfNotExists
	for name, v := range x.Options {
		val, err := constEval(v, nil)
		if err != nil {
			return nil, err
		}
		switch name {
		case "PARTITIONNUM", "REPLICANUM":
			n, ok := val.(int64)
			if !ok || n < 1 {
				return nil, semanticf("OPTIONS %s needs a positive integer, not %s", name, formatValue(val))
			}
			if name == "PARTITIONNUM" {
				t.PartitionNum = int(n)
			} else {
				t.ReplicaNum = int(n)
				opts.ReplicaNumSet = true
			}
		case "STORAGE_MODE":
			if !strings.EqualFold(formatValue(val), "memory") {
				return nil, semanticf("STORAGE_MODE %s is not supported: this cluster stores tables in memory", formatValue(val))
			}
		default:
			return nil, semanticf("unknown table option %s (supported: PARTITIONNUM, REPLICANUM, STORAGE_MODE)", name)
		}
	}
	probe := t
	if probe.PartitionNum == 0 {
		probe.PartitionNum = 1
	}
	if probe.ReplicaNum == 0 {
		probe.ReplicaNum = 1
	}
	if err := probe.Validate(); err != nil {
		return nil, semanticf("%s", stripInvalid(err))
	}
	if err := e.SDK.CreateTable(ctx, t, opts); err != nil {
		return nil, wrapClient(err)
	}
	return &Result{Message: "Create table success"}, nil
}

func stripInvalid(err error) string {
	return strings.TrimPrefix(err.Error(), schema.ErrInvalid.Error()+": ")
}

// toColumn converts a runtime value to a column's stored form, accepting
// strings for dates and timestamps ("yyyy-mm-dd[ hh:mm:ss]", UTC).
func toColumn(c schema.Column, v any) (any, error) {
	if str, ok := v.(string); ok {
		switch c.Type {
		case schema.TypeTimestamp:
			ms, ok := parseTimestamp(str)
			if !ok {
				return nil, fmt.Errorf("column %s (timestamp): %q is not a timestamp (use milliseconds or 'yyyy-mm-dd hh:mm:ss')", c.Name, str)
			}
			v = ms
		}
	}
	if d, ok := v.(schema.Date); ok && c.Type == schema.TypeTimestamp {
		v, _ = castTo(d, schema.TypeTimestamp)
	}
	return schema.Normalize(c, v)
}

// jsonValue is the form a default takes in the table record.
func jsonValue(v any) any {
	if d, ok := v.(schema.Date); ok {
		return d.String()
	}
	return canon(v)
}

func (e *Engine) insert(ctx context.Context, s *Session, x *Insert, args []any) (*Result, error) {
	t, err := e.table(s, x.Table)
	if err != nil {
		return nil, err
	}
	pos := make([]int, 0, len(t.Columns)) // value i goes to column pos[i]
	if x.Columns == nil {
		for i := range t.Columns {
			pos = append(pos, i)
		}
	} else {
		seen := map[int]bool{}
		for _, name := range x.Columns {
			i := t.ColumnIndex(name)
			if i < 0 {
				return nil, semanticf("column %s not found in table %s", name, t.Name)
			}
			if seen[i] {
				return nil, semanticf("column %s listed twice", name)
			}
			seen[i] = true
			pos = append(pos, i)
		}
	}
	rows := make([][]any, 0, len(x.Rows))
	for ri, exprs := range x.Rows {
		if len(exprs) != len(pos) {
			return nil, semanticf("row %d has %d values, expected %d", ri+1, len(exprs), len(pos))
		}
		row := make([]any, len(t.Columns))
		given := make([]bool, len(t.Columns))
		for i, ex := range exprs {
			v, err := constEval(ex, args)
			if err != nil {
				return nil, err
			}
			c := t.Columns[pos[i]]
			nv, err := toColumn(c, v)
			if err != nil {
				return nil, semanticf("row %d: %s", ri+1, stripInvalid(err))
			}
			row[pos[i]], given[pos[i]] = nv, true
		}
		for i, c := range t.Columns {
			if given[i] {
				continue
			}
			nv, err := toColumn(c, c.Default)
			if err != nil {
				return nil, semanticf("row %d: column %s has no value and no DEFAULT", ri+1, c.Name)
			}
			row[i] = nv
		}
		rows = append(rows, row)
	}
	if len(rows) == 1 {
		err = e.SDK.Put(ctx, t.DB, t.Name, rows[0])
	} else {
		err = e.SDK.PutBatch(ctx, t.DB, t.Name, rows)
	}
	if err != nil {
		return nil, wrapClient(err)
	}
	return &Result{Affected: len(rows)}, nil
}

// conjuncts splits a WHERE into its AND terms.
func conjuncts(e Expr) []Expr {
	if b, ok := e.(*Binary); ok && b.Op == "AND" {
		return append(conjuncts(b.L), conjuncts(b.R)...)
	}
	if e == nil {
		return nil
	}
	return []Expr{e}
}

// isConst reports whether e has no column references.
func isConst(e Expr) bool {
	switch x := e.(type) {
	case *Literal, *Placeholder:
		return true
	case *ColumnRef:
		return false
	case *Unary:
		return isConst(x.X)
	case *Binary:
		return isConst(x.L) && isConst(x.R)
	case *Call:
		for _, a := range x.Args {
			if !isConst(a) {
				return false
			}
		}
		return !isAggregate(x.Name)
	case *Cast:
		return isConst(x.X)
	}
	return false
}

// colCmp matches "col op const" or "const op col" (op flipped).
func colCmp(e Expr) (col *ColumnRef, op string, val Expr, ok bool) {
	b, isBin := e.(*Binary)
	if !isBin {
		return nil, "", nil, false
	}
	flip := map[string]string{"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
	if _, cmp := flip[b.Op]; !cmp {
		return nil, "", nil, false
	}
	if c, isCol := b.L.(*ColumnRef); isCol && isConst(b.R) {
		return c, b.Op, b.R, true
	}
	if c, isCol := b.R.(*ColumnRef); isCol && isConst(b.L) {
		return c, flip[b.Op], b.L, true
	}
	return nil, "", nil, false
}

// indexPlan is how a query reads rows: by one key of an index, or by a
// full traversal.
type indexPlan struct {
	index    *schema.Index
	key      string
	opts     client.ScanOptions
	consumed int // WHERE terms fully answered by the index read
}

func planIndex(t *schema.Table, alias string, where Expr, args []any) (*indexPlan, error) {
	terms := conjuncts(where)
	eq := map[int]any{}
	eqTerm := map[int]bool{}
	for ti, term := range terms {
		c, op, v, ok := colCmp(term)
		if !ok || op != "=" {
			continue
		}
		sc := &scope{table: t, alias: alias, args: args}
		ci, err := sc.column(c)
		if err != nil {
			return nil, err
		}
		val, err := constEval(v, args)
		if err != nil {
			return nil, err
		}
		if _, dup := eq[ci]; !dup {
			eq[ci] = val
			eqTerm[ti] = true
		}
	}
	for i := range t.Indexes {
		ix := &t.Indexes[i]
		values := make([]any, len(t.Columns))
		full := true
		for _, k := range ix.Keys {
			ci := t.ColumnIndex(k)
			v, ok := eq[ci]
			if !ok || v == nil {
				full = false
				break
			}
			nv, err := toColumn(t.Columns[ci], v)
			if err != nil {
				return nil, semanticf("%s", stripInvalid(err))
			}
			values[ci] = nv
		}
		if !full {
			continue
		}
		key, err := client.KeyOf(*t, ix.Name, values)
		if err != nil {
			return nil, err
		}
		plan := &indexPlan{index: ix, key: key, opts: client.ScanOptions{Index: ix.Name}}
		keyCols := map[int]bool{}
		for _, k := range ix.Keys {
			keyCols[t.ColumnIndex(k)] = true
		}
		for ti, term := range terms {
			c, op, v, ok := colCmp(term)
			if !ok {
				continue
			}
			ci := t.ColumnIndex(c.Name)
			if op == "=" && eqTerm[ti] && keyCols[ci] {
				plan.consumed++
				continue
			}
			if ix.TS == "" || !strings.EqualFold(c.Name, ix.TS) {
				continue
			}
			val, err := constEval(v, args)
			if err != nil {
				return nil, err
			}
			nv, err := toColumn(t.Columns[ci], val)
			if err != nil || nv == nil {
				continue
			}
			ts := nv.(int64)
			// Scan reads ts in (To, From]; 0 means unbounded, so bounds that
			// would need 0 stay in the residual filter only.
			switch op {
			case "<=":
				if ts > 0 && (plan.opts.From == 0 || ts < plan.opts.From) {
					plan.opts.From = ts
				}
			case "<":
				if ts > 1 && (plan.opts.From == 0 || ts-1 < plan.opts.From) {
					plan.opts.From = ts - 1
				}
			case ">":
				if ts > 0 && ts > plan.opts.To {
					plan.opts.To = ts
				}
			case ">=":
				if ts > 1 && ts-1 > plan.opts.To {
					plan.opts.To = ts - 1
				}
			}
		}
		return plan, nil
	}
	return nil, nil
}

func (e *Engine) maxScan() int {
	if e.MaxScanRows > 0 {
		return e.MaxScanRows
	}
	return DefaultMaxScanRows
}

func (e *Engine) selectStmt(ctx context.Context, s *Session, x *Select, args []any) (*Result, error) {
	r := &Result{IsQuery: true}
	if x.From == nil {
		row := make([]any, 0, len(x.Items))
		for _, it := range x.Items {
			if it.Star {
				return nil, semanticf("SELECT * needs a FROM clause")
			}
			v, err := eval(it.Expr, &scope{args: args})
			if err != nil {
				return nil, err
			}
			r.Columns = append(r.Columns, Column{itemName(it), inferType(it.Expr, nil, v)})
			row = append(row, v)
		}
		if x.Limit != 0 {
			r.Rows = [][]any{row}
		}
		return r, nil
	}
	t, err := e.table(s, x.From.Table)
	if err != nil {
		return nil, err
	}
	alias := x.From.Alias
	// Output columns; * expands to the table's columns.
	type out struct {
		expr Expr
		col  int // >= 0: a plain column
	}
	var outs []out
	for _, it := range x.Items {
		if it.Star {
			for i, c := range t.Columns {
				outs = append(outs, out{col: i})
				r.Columns = append(r.Columns, Column{c.Name, c.Type})
			}
			continue
		}
		if c, ok := it.Expr.(*ColumnRef); ok {
			sc := &scope{table: &t, alias: alias}
			ci, err := sc.column(c)
			if err != nil {
				return nil, err
			}
			name := t.Columns[ci].Name
			if it.Alias != "" {
				name = it.Alias
			}
			outs = append(outs, out{col: ci})
			r.Columns = append(r.Columns, Column{name, t.Columns[ci].Type})
			continue
		}
		// Check references now so a bad column fails even on an empty table.
		if _, err := eval(it.Expr, &scope{table: &t, alias: alias, args: args}); err != nil {
			return nil, err
		}
		outs = append(outs, out{expr: it.Expr, col: -1})
		r.Columns = append(r.Columns, Column{itemName(it), inferType(it.Expr, &t, nil)})
	}
	if x.Where != nil {
		if _, err := eval(x.Where, &scope{table: &t, alias: alias, args: args}); err != nil {
			return nil, err
		}
	}
	if x.Limit == 0 {
		return r, nil
	}
	emit := func(row client.Row) (bool, error) {
		sc := &scope{table: &t, alias: alias, row: row, args: args}
		if x.Where != nil {
			v, err := eval(x.Where, sc)
			if err != nil {
				return false, err
			}
			if v == nil {
				return true, nil
			}
			ok, err := truth(v)
			if err != nil || !ok {
				return err == nil, err
			}
		}
		vals := make([]any, len(outs))
		for i, o := range outs {
			if o.col >= 0 {
				vals[i] = canon(row[o.col])
				continue
			}
			v, err := eval(o.expr, sc)
			if err != nil {
				return false, err
			}
			vals[i] = v
		}
		r.Rows = append(r.Rows, vals)
		return x.Limit < 0 || len(r.Rows) < x.Limit, nil
	}
	plan, err := planIndex(&t, alias, x.Where, args)
	if err != nil {
		return nil, err
	}
	if plan != nil {
		opts := plan.opts
		if plan.consumed == len(conjuncts(x.Where)) && x.Limit > 0 {
			opts.Limit = x.Limit
		}
		rows, err := e.SDK.Scan(ctx, t.DB, t.Name, plan.key, opts)
		if err != nil {
			return nil, wrapClient(err)
		}
		for _, row := range rows {
			more, err := emit(row)
			if err != nil {
				return nil, err
			}
			if !more {
				break
			}
		}
		return r, nil
	}
	// No index condition: a full traversal, bounded.
	scanned, limit := 0, e.maxScan()
	var emitErr error
	tooMany := false
	err = e.SDK.Traverse(ctx, t.DB, t.Name, func(row client.Row) bool {
		scanned++
		if x.Limit < 0 && scanned > limit {
			tooMany = true
			return false
		}
		more, err := emit(row)
		if err != nil {
			emitErr = err
			return false
		}
		return more
	})
	if err != nil {
		return nil, wrapClient(err)
	}
	if emitErr != nil {
		return nil, emitErr
	}
	if tooMany {
		var ixs []string
		for _, ix := range t.Indexes {
			ixs = append(ixs, strings.Join(ix.Keys, ","))
		}
		return nil, semanticf("query needs a full scan of table %s, which holds more than %d rows: add LIMIT n, or a WHERE condition col = value on the key of an index (%s)",
			t.Name, limit, strings.Join(ixs, "; "))
	}
	return r, nil
}

func itemName(it SelectItem) string {
	if it.Alias != "" {
		return it.Alias
	}
	if c, ok := it.Expr.(*ColumnRef); ok {
		return c.Name
	}
	return it.Text
}

// inferType guesses an expression's output type (for REST schemas and
// alignment); v, when known, settles literals.
func inferType(e Expr, t *schema.Table, v any) schema.Type {
	switch x := e.(type) {
	case *ColumnRef:
		if t != nil {
			if i := t.ColumnIndex(x.Name); i >= 0 {
				return t.Columns[i].Type
			}
		}
	case *Literal:
		v = x.Value
	case *Binary:
		switch x.Op {
		case "AND", "OR", "=", "!=", "<", "<=", ">", ">=", "LIKE":
			return schema.TypeBool
		case "/":
			return schema.TypeDouble
		}
		l, r := inferType(x.L, t, nil), inferType(x.R, t, nil)
		if l == schema.TypeDouble || r == schema.TypeDouble || l == schema.TypeFloat || r == schema.TypeFloat {
			return schema.TypeDouble
		}
		return schema.TypeInt64
	case *Unary:
		if x.Op == "NOT" {
			return schema.TypeBool
		}
		return inferType(x.X, t, nil)
	case *IsNull, *Between, *InList:
		return schema.TypeBool
	case *Cast:
		if ty, err := schema.ParseType(x.Type); err == nil {
			return ty
		}
	case *Call:
		if f, ok := scalarFuncs[x.Name]; ok {
			if f.ret != 0 {
				return f.ret
			}
			for _, a := range x.Args {
				if ty := inferType(a, t, nil); ty != 0 && ty != schema.TypeString || x.Name == "mod" {
					return ty
				}
			}
			if len(x.Args) > 0 {
				return inferType(x.Args[len(x.Args)-1], t, nil)
			}
		}
	case *Case:
		for _, w := range x.Whens {
			if _, isNull := w.Result.(*Literal); !isNull || w.Result.(*Literal).Value != nil {
				return inferType(w.Result, t, nil)
			}
		}
	}
	switch v.(type) {
	case bool:
		return schema.TypeBool
	case int64:
		return schema.TypeInt64
	case float64:
		return schema.TypeDouble
	case schema.Date:
		return schema.TypeDate
	}
	return schema.TypeString
}

func (e *Engine) delete(ctx context.Context, s *Session, x *Delete, args []any) (*Result, error) {
	t, err := e.table(s, x.Table)
	if err != nil {
		return nil, err
	}
	terms := conjuncts(x.Where)
	eq := map[int]any{}
	for _, term := range terms {
		c, op, v, ok := colCmp(term)
		if !ok || op != "=" {
			return nil, semanticf("DELETE supports only WHERE <index key column> = value [AND ...], not other conditions")
		}
		sc := &scope{table: &t}
		ci, err := sc.column(c)
		if err != nil {
			return nil, err
		}
		val, err := constEval(v, args)
		if err != nil {
			return nil, err
		}
		nv, err := toColumn(t.Columns[ci], val)
		if err != nil {
			return nil, semanticf("%s", stripInvalid(err))
		}
		eq[ci] = nv
	}
	for _, ix := range t.Indexes {
		if len(ix.Keys) != len(eq) {
			continue
		}
		values := make([]any, len(t.Columns))
		match := true
		for _, k := range ix.Keys {
			ci := t.ColumnIndex(k)
			v, ok := eq[ci]
			if !ok {
				match = false
				break
			}
			values[ci] = v
		}
		if !match {
			continue
		}
		key, err := client.KeyOf(t, ix.Name, values)
		if err != nil {
			return nil, err
		}
		n, err := e.SDK.Delete(ctx, t.DB, t.Name, key, ix.Name)
		if err != nil {
			return nil, wrapClient(err)
		}
		return &Result{Affected: n}, nil
	}
	var ixs []string
	for _, ix := range t.Indexes {
		ixs = append(ixs, "("+strings.Join(ix.Keys, ", ")+")")
	}
	return nil, semanticf("DELETE needs WHERE on exactly the key columns of an index of %s: %s", t.Name, strings.Join(ixs, " or "))
}

func (e *Engine) showComponents(ctx context.Context) (*Result, error) {
	r := &Result{IsQuery: true, Columns: []Column{{"Endpoint", schema.TypeString}, {"Role", schema.TypeString},
		{"Connect_time", schema.TypeInt64}, {"Status", schema.TypeString}, {"Ns_role", schema.TypeString}, {"Version", schema.TypeString}}}
	etcd := e.SDK.Etcd()
	ns, err := e.SDK.NameServer(ctx)
	if err != nil {
		return nil, wrapClient(err)
	}
	resp, err := ns.ShowTablet(ctx, connect.NewRequest(&openmldbv1.ShowTabletRequest{}))
	if err != nil {
		return nil, wrapClient(err)
	}
	for _, t := range resp.Msg.Tablets {
		status := "online"
		if t.State != coord.TabletHealthy {
			status = "offline"
		}
		r.Rows = append(r.Rows, []any{t.Endpoint, "tablet", t.StateSinceMs, status, "NULL", t.Version})
	}
	leaders, err := etcd.Get(ctx, e.Keys.LeaderPrefix()+"/", clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		return nil, fmt.Errorf("%w: reading nameservers: %v", ErrExecution, err)
	}
	for i, kv := range leaders.Kvs {
		ep := string(kv.Value)
		role := "standby"
		if i == 0 {
			role = "master"
		}
		info := e.nodeInfo(ctx, e.Keys.Nameserver(ep))
		r.Rows = append(r.Rows, []any{ep, "nameserver", info.StartTime.UnixMilli(), "online", role, info.Version})
	}
	apis, err := etcd.Get(ctx, e.Keys.APIServerPrefix(), clientv3.WithPrefix())
	if err == nil {
		for _, kv := range apis.Kvs {
			var info coord.NodeInfo
			if json.Unmarshal(kv.Value, &info) == nil {
				r.Rows = append(r.Rows, []any{info.Endpoint, "apiserver", info.StartTime.UnixMilli(), "online", "NULL", info.Version})
			}
		}
	}
	return r, nil
}

func (e *Engine) nodeInfo(ctx context.Context, key string) coord.NodeInfo {
	var info coord.NodeInfo
	info.Version = "-"
	if resp, err := e.SDK.Etcd().Get(ctx, key); err == nil && len(resp.Kvs) > 0 {
		_ = json.Unmarshal(resp.Kvs[0].Value, &info)
	}
	return info
}

// TypeName is a type as OpenMLDB's DESC prints it.
func TypeName(t schema.Type) string {
	switch t {
	case schema.TypeBool:
		return "Bool"
	case schema.TypeInt16:
		return "SmallInt"
	case schema.TypeInt32:
		return "Int"
	case schema.TypeInt64:
		return "BigInt"
	case schema.TypeFloat:
		return "Float"
	case schema.TypeDouble:
		return "Double"
	case schema.TypeTimestamp:
		return "Timestamp"
	case schema.TypeDate:
		return "Date"
	case schema.TypeString:
		return "Varchar"
	}
	return t.String()
}

// TTLTypeName is a TTL type as OpenMLDB's DESC prints it.
func TTLTypeName(t schema.TTLType) string {
	switch t {
	case schema.TTLLatest:
		return "kLatestTime"
	case schema.TTLAbsOrLat:
		return "kAbsOrLat"
	case schema.TTLAbsAndLat:
		return "kAbsAndLat"
	}
	return "kAbsoluteTime"
}

func describe(t schema.Table) *Result {
	cols := &Result{IsQuery: true, Columns: []Column{{"#", schema.TypeInt32}, {"Field", schema.TypeString},
		{"Type", schema.TypeString}, {"Null", schema.TypeString}, {"Default", schema.TypeString}}}
	for i, c := range t.Columns {
		null := "YES"
		if c.NotNull {
			null = "NO"
		}
		def := ""
		if c.Default != nil {
			def = formatValue(c.Default)
		}
		cols.Rows = append(cols.Rows, []any{int64(i + 1), c.Name, TypeName(c.Type), null, def})
	}
	idx := &Result{IsQuery: true, Columns: []Column{{"#", schema.TypeInt32}, {"name", schema.TypeString},
		{"keys", schema.TypeString}, {"ts", schema.TypeString}, {"ttl", schema.TypeString}, {"ttl_type", schema.TypeString}}}
	for i, ix := range t.Indexes {
		ts := ix.TS
		if ts == "" {
			ts = "-"
		}
		idx.Rows = append(idx.Rows, []any{int64(i + 1), ix.Name, strings.Join(ix.Keys, "|"), ts, ttlText(ix), TTLTypeName(ix.TTLType)})
	}
	mode := &Result{IsQuery: true, Columns: []Column{{"storage_mode", schema.TypeString}}, Rows: [][]any{{"Memory"}}}
	cols.More = []*Result{idx, mode}
	return cols
}

// ttlText renders a TTL as DESC prints it: 0min, 30min, 100, 30min&&100.
func ttlText(ix schema.Index) string {
	abs := strconv.FormatInt(int64(ix.AbsTTL/time.Minute), 10) + "min"
	switch ix.TTLType {
	case schema.TTLLatest:
		return strconv.FormatUint(ix.LatTTL, 10)
	case schema.TTLAbsOrLat, schema.TTLAbsAndLat:
		return abs + "&&" + strconv.FormatUint(ix.LatTTL, 10)
	}
	return abs
}

// CreateTableText renders a table as a CREATE TABLE statement that this
// parser reads back to the same table.
func CreateTableText(t schema.Table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE `%s` (\n", t.Name)
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "`%s` %s", c.Name, c.Type)
		if c.NotNull {
			b.WriteString(" NOT NULL")
		}
		if c.Default != nil {
			b.WriteString(" DEFAULT " + literalText(c.Default))
		}
		b.WriteString(",\n")
	}
	for i, ix := range t.Indexes {
		keys := make([]string, len(ix.Keys))
		for k, key := range ix.Keys {
			keys[k] = "`" + key + "`"
		}
		keyText := keys[0]
		if len(keys) > 1 {
			keyText = "(" + strings.Join(keys, ",") + ")"
		}
		fmt.Fprintf(&b, "INDEX (KEY=%s", keyText)
		if ix.TS != "" {
			fmt.Fprintf(&b, ", TS=`%s`", ix.TS)
		}
		abs := strconv.FormatInt(int64(ix.AbsTTL/time.Minute), 10) + "m"
		if ix.AbsTTL%time.Minute != 0 {
			abs = strconv.FormatInt(int64(ix.AbsTTL/time.Second), 10) + "s"
		}
		switch ix.TTLType {
		case schema.TTLLatest:
			fmt.Fprintf(&b, ", TTL_TYPE=LATEST, TTL=%d)", ix.LatTTL)
		case schema.TTLAbsOrLat:
			fmt.Fprintf(&b, ", TTL_TYPE=ABSORLAT, TTL=(%s, %d))", abs, ix.LatTTL)
		case schema.TTLAbsAndLat:
			fmt.Fprintf(&b, ", TTL_TYPE=ABSANDLAT, TTL=(%s, %d))", abs, ix.LatTTL)
		default:
			fmt.Fprintf(&b, ", TTL_TYPE=ABSOLUTE, TTL=%s)", abs)
		}
		if i < len(t.Indexes)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, ") OPTIONS (PARTITIONNUM=%d, REPLICANUM=%d, STORAGE_MODE='Memory');", t.PartitionNum, t.ReplicaNum)
	return b.String()
}

func literalText(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
	}
	return formatValue(v)
}

func hasWindowCall(sel *Select) bool {
	found := false
	walkCalls(sel, func(c *Call) { found = found || c.Over != "" || c.Window != nil })
	return found
}

// offlineSelect runs a SELECT over the stored rows of its table as a batch:
// one output row per stored row (that passes WHERE), windows and LAST
// JOINs computed as a deployment would for that row. It reads at most
// MaxScanRows rows of the main table.
func (e *Engine) offlineSelect(ctx context.Context, s *Session, x *Select, args []any) (*Result, error) {
	if x.From == nil {
		return e.selectStmt(ctx, s, x, args)
	}
	q, err := CompileFeature(SDKSource{e.SDK}, s.DB, x)
	if err != nil {
		return nil, err
	}
	var rows []client.Row
	tooMany := false
	err = e.SDK.Traverse(ctx, q.DB, q.Main.Name, func(r client.Row) bool {
		if len(rows) >= e.maxScan() {
			tooMany = true
			return false
		}
		rows = append(rows, r)
		return true
	})
	if err != nil {
		return nil, wrapClient(err)
	}
	if tooMany {
		return nil, semanticf("offline mode here reads at most %d rows of table %s; it holds more", e.maxScan(), q.Main.Name)
	}
	// A traversal returns each key's rows newest first; Batch wants
	// insertion order, which breaks timestamp ties the same way.
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	out, err := q.Batch(ctx, SDKSource{e.SDK}, rows, args)
	if err != nil {
		return nil, err
	}
	if x.Limit >= 0 && len(out) > x.Limit {
		out = out[:x.Limit]
	}
	return &Result{IsQuery: true, Columns: q.Columns, Rows: out}, nil
}

// EvalConst evaluates an expression without columns (for tools and tests).
func EvalConst(e Expr) (any, error) { return constEval(e, nil) }

func (e *Engine) createIndex(ctx context.Context, s *Session, x *CreateIndex) (*Result, error) {
	t, err := e.table(s, x.Table)
	if err != nil {
		return nil, err
	}
	ix, err := indexFromDef(x.Index)
	if err != nil {
		return nil, err
	}
	probe := t
	probe.Indexes = append(append([]schema.Index(nil), t.Indexes...), ix)
	if err := probe.Validate(); err != nil {
		return nil, semanticf("%s", stripInvalid(err))
	}
	if err := e.SDK.AddIndex(ctx, t.DB, t.Name, ix); err != nil {
		return nil, wrapClient(err)
	}
	return &Result{}, nil
}

// indexFromDef turns a parsed INDEX(...) into the table model.
func indexFromDef(d IndexDef) (schema.Index, error) {
	tt, abs, lat, err := schema.ParseTTL(d.TTLType, d.TTL)
	if err != nil {
		return schema.Index{}, semanticf("%s", stripInvalid(err))
	}
	return schema.Index{Name: d.Name, Keys: d.Keys, TS: d.TS, TTLType: tt, AbsTTL: abs, LatTTL: lat}, nil
}
