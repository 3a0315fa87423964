package sql

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/schema"
)

// RowSource reads stored rows for windows and joins: the rows of one key
// of an index, newest first, with ts in (to, from] (0: unbounded), at most
// limit (0: all). The SDK is one; a tablet reading its own partitions is
// another; tests use an in-memory one.
type RowSource interface {
	Table(db, name string) (schema.Table, error)
	ScanIndex(ctx context.Context, db, table, index, key string, from, to int64, limit int) ([]client.Row, error)
}

// ColumnScanner is a RowSource that can decode only some columns of the
// rows it reads (window aggregates use a few columns of many rows).
type ColumnScanner interface {
	ScanIndexColumns(ctx context.Context, db, table, index, key string, from, to int64, limit int, need []bool) ([]client.Row, error)
}

// SDKSource reads through the Go SDK (partition leaders).
type SDKSource struct{ SDK *client.Client }

// Table returns a table's definition from the SDK's metadata.
func (s SDKSource) Table(db, name string) (schema.Table, error) { return s.SDK.Table(db, name) }

// Refresh re-reads the SDK's table definitions from etcd.
func (s SDKSource) Refresh(ctx context.Context) error { return s.SDK.Refresh(ctx) }

// MetadataRefresher is a RowSource whose table definitions, normally kept
// by a watch, can be re-read from etcd at once.
type MetadataRefresher interface {
	Refresh(ctx context.Context) error
}

// ScanIndex reads one key of an index through the SDK.
func (s SDKSource) ScanIndex(ctx context.Context, db, table, index, key string, from, to int64, limit int) ([]client.Row, error) {
	return s.SDK.Scan(ctx, db, table, key, client.ScanOptions{Index: index, From: from, To: to, Limit: limit})
}

// FeatureQuery is a SELECT with windows and LAST JOINs compiled against
// the tables it reads: which index serves each window and join.
type FeatureQuery struct {
	DB        string
	Main      schema.Table
	MainAlias string
	Columns   []Column
	items     []featureItem
	windows   map[string]*windowPlan
	joins     []*joinPlan
	where     Expr
	// windowCols marks the main-table columns windows read (aggregate
	// arguments and ORDER BY columns); nil means all.
	windowCols []bool
}

type featureItem struct {
	expr Expr
	col  int // >= 0: a plain main-table column
}

type windowSource struct {
	table schema.Table
	index string
	keys  []int // main-table column of each index key column, in index order
	main  bool
}

type windowPlan struct {
	def     *WindowDef
	tsCol   int // main-table column of ORDER BY
	sources []windowSource
	// rowsKey names the stored rows the window reads (tables, indexes, key
	// and ts columns): windows with equal keys can share one read.
	rowsKey string
}

type joinPlan struct {
	table schema.Table
	alias string
	index string
	// keyExprs computes each key column of the index from the left side.
	keyExprs []Expr
	on       Expr
	exact    bool // ON holds only the key equalities: the newest row matches
}

// MissingIndexError says a window or join needs an index its table lacks.
type MissingIndexError struct {
	DB, Table string
	Index     schema.Index
	msg       string
}

func (e *MissingIndexError) Error() string { return ErrSemantic.Error() + ": " + e.msg }

// Unwrap makes errors.Is(err, ErrSemantic) hold.
func (e *MissingIndexError) Unwrap() error { return ErrSemantic }

// neededIndex describes the index a window or join needs, for errors.
func neededIndex(keys []string, ts string) string {
	k := strings.Join(keys, ", ")
	if len(keys) > 1 {
		k = "(" + k + ")"
	}
	if ts == "" {
		return fmt.Sprintf("INDEX(KEY=%s)", k)
	}
	return fmt.Sprintf("INDEX(KEY=%s, TS=%s)", k, ts)
}

// findIndex returns the index of t keyed exactly by keys (any order) with
// TS ts ("" matches any).
func findIndex(t schema.Table, keys []string, ts string) (schema.Index, bool) {
	for _, ix := range t.Indexes {
		if len(ix.Keys) != len(keys) || ts != "" && !strings.EqualFold(ix.TS, ts) {
			continue
		}
		all := true
		for _, k := range ix.Keys {
			found := false
			for _, want := range keys {
				found = found || strings.EqualFold(k, want)
			}
			all = all && found
		}
		if all {
			return ix, true
		}
	}
	return schema.Index{}, false
}

// CompileFeature checks a feature query against the tables' indexes and
// returns its plan. Every window must be served by an index of each of its
// tables keyed by the PARTITION BY columns with the ORDER BY column as TS;
// every LAST JOIN by an index whose keys the ON clause equates.
func CompileFeature(src RowSource, db string, sel *Select) (*FeatureQuery, error) {
	if sel.From == nil {
		return nil, semanticf("a feature query needs FROM <table>")
	}
	tn := sel.From.Table
	if tn.DB == "" {
		tn.DB = db
	}
	main, err := src.Table(tn.DB, tn.Name)
	if err != nil {
		return nil, semanticf("table %s does not exist in database %s", tn.Name, tn.DB)
	}
	q := &FeatureQuery{DB: tn.DB, Main: main, MainAlias: sel.From.Alias, windows: map[string]*windowPlan{}, where: sel.Where}
	// Named windows, then inline ones (given hidden names).
	defs := map[string]*WindowDef{}
	for _, w := range sel.Windows {
		defs[strings.ToLower(w.Name)] = w
	}
	inline := 0
	var walkErr error
	walkCalls(sel, func(c *Call) {
		if c.Window != nil {
			inline++
			c.Window.Name = fmt.Sprintf("__inline_%d", inline)
			defs[c.Window.Name] = c.Window
			c.Over, c.Window = c.Window.Name, nil
		}
		if c.Over != "" {
			if _, ok := defs[strings.ToLower(c.Over)]; !ok && walkErr == nil {
				walkErr = semanticf("window %s is not defined (WINDOW %s AS (...))", c.Over, c.Over)
			}
			if !isAggregate(c.Name) && walkErr == nil {
				walkErr = semanticf("%s is not a window aggregate (known: %s)", c.Name, strings.Join(AggregateNames(), ", "))
			}
		} else if isAggregate(c.Name) && walkErr == nil {
			if _, scalar := scalarFuncs[c.Name]; !scalar {
				walkErr = semanticf("aggregate %s() needs OVER <window>", c.Name)
			}
		}
	})
	if walkErr != nil {
		return nil, walkErr
	}
	for name, w := range defs {
		wp, err := planWindow(src, q, w)
		if err != nil {
			return nil, err
		}
		q.windows[name] = wp
	}
	q.windowCols = make([]bool, len(main.Columns))
	for _, wp := range q.windows {
		q.windowCols[wp.tsCol] = true
	}
	walkCalls(sel, func(c *Call) {
		if c.Over == "" {
			return
		}
		for _, a := range c.Args {
			if !markColumns(a, q.windowCols, &main) {
				q.windowCols = nil // something we cannot see through: read all
			}
			if q.windowCols == nil {
				return
			}
		}
	})
	for _, j := range sel.Joins {
		jp, err := planJoin(src, q, j)
		if err != nil {
			return nil, err
		}
		q.joins = append(q.joins, jp)
	}
	// Output columns; * is the main table's columns.
	probe := q.scope(nil, nil)
	for _, it := range sel.Items {
		if it.Star {
			for i, c := range main.Columns {
				q.items = append(q.items, featureItem{col: i})
				q.Columns = append(q.Columns, Column{c.Name, c.Type})
			}
			continue
		}
		if c, ok := it.Expr.(*ColumnRef); ok && (c.Table == "" || strings.EqualFold(c.Table, main.Name) || strings.EqualFold(c.Table, q.MainAlias)) {
			if i := main.ColumnIndex(c.Name); i >= 0 {
				name := main.Columns[i].Name
				if it.Alias != "" {
					name = it.Alias
				}
				q.items = append(q.items, featureItem{col: i})
				q.Columns = append(q.Columns, Column{name, main.Columns[i].Type})
				continue
			}
		}
		if err := checkRefs(it.Expr, probe); err != nil {
			return nil, err
		}
		q.items = append(q.items, featureItem{expr: it.Expr, col: -1})
		q.Columns = append(q.Columns, Column{itemName(it), q.inferType(it.Expr)})
	}
	if sel.Where != nil {
		if err := checkRefs(sel.Where, probe); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// markColumns marks the main-table columns e reads; false when it cannot
// tell (a reference to another table).
func markColumns(e Expr, need []bool, t *schema.Table) bool {
	ok := true
	walkExpr(e, func(e Expr) {
		if x, isCol := e.(*ColumnRef); isCol {
			if i := t.ColumnIndex(x.Name); i >= 0 && need != nil {
				need[i] = true
			} else {
				ok = false
			}
		}
	})
	return ok
}

// walkCalls visits every function call of a SELECT's items and WHERE.
func walkCalls(sel *Select, fn func(*Call)) {
	visit := func(e Expr) {
		if c, ok := e.(*Call); ok {
			fn(c)
		}
	}
	for _, it := range sel.Items {
		if !it.Star {
			walkExpr(it.Expr, visit)
		}
	}
	walkExpr(sel.Where, visit)
}

// checkRefs evaluates e on an all-NULL row to surface unknown columns and
// functions at compile time (NULL propagation keeps it side-effect free).
func checkRefs(e Expr, s *scope) error {
	_, err := eval(e, s)
	return err
}

func planWindow(src RowSource, q *FeatureQuery, w *WindowDef) (*windowPlan, error) {
	wp := &windowPlan{def: w}
	var keys []string
	for _, c := range w.PartitionBy {
		i := q.Main.ColumnIndex(c.Name)
		if i < 0 {
			return nil, semanticf("window %s: PARTITION BY column %s not found in table %s", w.Name, c.Name, q.Main.Name)
		}
		keys = append(keys, q.Main.Columns[i].Name)
	}
	wp.tsCol = q.Main.ColumnIndex(w.OrderBy.Name)
	if wp.tsCol < 0 {
		return nil, semanticf("window %s: ORDER BY column %s not found in table %s", w.Name, w.OrderBy.Name, q.Main.Name)
	}
	if ty := q.Main.Columns[wp.tsCol].Type; ty != schema.TypeTimestamp && ty != schema.TypeInt64 {
		return nil, semanticf("window %s: ORDER BY column %s must be timestamp or bigint, not %s", w.Name, w.OrderBy.Name, ty)
	}
	ts := q.Main.Columns[wp.tsCol].Name
	tables := []schema.Table{q.Main}
	for _, u := range w.Union {
		if u.DB == "" {
			u.DB = q.DB
		}
		t, err := src.Table(u.DB, u.Name)
		if err != nil {
			return nil, semanticf("window %s: UNION table %s does not exist in database %s", w.Name, u.Name, u.DB)
		}
		if !sameColumns(t, q.Main) {
			return nil, semanticf("window %s: UNION table %s must have the columns of %s (same names and types, same order)", w.Name, t.Name, q.Main.Name)
		}
		tables = append(tables, t)
	}
	for i, t := range tables {
		if i == 0 && w.InstanceNotInWindow {
			continue // the main table's rows are not in this window
		}
		ix, ok := findIndex(t, keys, ts)
		if !ok {
			return nil, &MissingIndexError{DB: t.DB, Table: t.Name, Index: schema.Index{Keys: keys, TS: ts, TTLType: schema.TTLAbsolute},
				msg: fmt.Sprintf("window %s needs an index of table %s keyed by its PARTITION BY columns with its ORDER BY column as TS: %s", w.Name, t.Name, neededIndex(keys, ts))}
		}
		s := windowSource{table: t, index: ix.Name, main: i == 0}
		for _, k := range ix.Keys {
			s.keys = append(s.keys, q.Main.ColumnIndex(k))
		}
		wp.sources = append(wp.sources, s)
	}
	wp.rowsKey = rowsKeyOf(wp)
	return wp, nil
}

func sameColumns(a, b schema.Table) bool {
	if len(a.Columns) != len(b.Columns) {
		return false
	}
	for i := range a.Columns {
		if !strings.EqualFold(a.Columns[i].Name, b.Columns[i].Name) || a.Columns[i].Type != b.Columns[i].Type {
			return false
		}
	}
	return true
}

func planJoin(src RowSource, q *FeatureQuery, j *LastJoin) (*joinPlan, error) {
	tn := j.Table.Table
	if tn.DB == "" {
		tn.DB = q.DB
	}
	t, err := src.Table(tn.DB, tn.Name)
	if err != nil {
		return nil, semanticf("LAST JOIN table %s does not exist in database %s", tn.Name, tn.DB)
	}
	jp := &joinPlan{table: t, alias: j.Table.Alias, on: j.On}
	isRight := func(c *ColumnRef) bool {
		if c.Table != "" {
			return strings.EqualFold(c.Table, t.Name) || strings.EqualFold(c.Table, jp.alias)
		}
		return t.ColumnIndex(c.Name) >= 0 && q.Main.ColumnIndex(c.Name) < 0
	}
	refsRight := func(e Expr) bool {
		found := false
		walkExpr(e, func(e Expr) {
			if c, ok := e.(*ColumnRef); ok {
				found = found || isRight(c)
			}
		})
		return found
	}
	eq := map[string]Expr{} // right column (lower) -> left expression
	terms := conjuncts(j.On)
	eqTerms := 0
	for _, term := range terms {
		b, ok := term.(*Binary)
		if !ok || b.Op != "=" {
			continue
		}
		if c, ok := b.L.(*ColumnRef); ok && isRight(c) && !refsRight(b.R) {
			eq[strings.ToLower(c.Name)] = b.R
			eqTerms++
		} else if c, ok := b.R.(*ColumnRef); ok && isRight(c) && !refsRight(b.L) {
			eq[strings.ToLower(c.Name)] = b.L
			eqTerms++
		}
	}
	orderTS := ""
	if j.OrderBy != nil {
		if t.ColumnIndex(j.OrderBy.Name) < 0 {
			return nil, semanticf("LAST JOIN %s: ORDER BY column %s not found", t.Name, j.OrderBy.Name)
		}
		orderTS = j.OrderBy.Name
	}
	var best *schema.Index
	for i := range t.Indexes {
		ix := &t.Indexes[i]
		covered := true
		for _, k := range ix.Keys {
			_, ok := eq[strings.ToLower(k)]
			covered = covered && ok
		}
		if !covered || orderTS != "" && !strings.EqualFold(ix.TS, orderTS) {
			continue
		}
		if best == nil || len(ix.Keys) > len(best.Keys) {
			best = ix
		}
	}
	if best == nil {
		var cols []string
		for c := range eq {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		if len(cols) == 0 {
			return nil, semanticf("LAST JOIN %s: ON needs equality conditions %s.col = <left expression> on the keys of an index of %s", t.Name, t.Name, t.Name)
		}
		keys := make([]string, len(cols))
		for i, c := range cols {
			keys[i] = t.Columns[t.ColumnIndex(c)].Name
		}
		return nil, &MissingIndexError{DB: t.DB, Table: t.Name, Index: schema.Index{Keys: keys, TS: orderTS, TTLType: schema.TTLAbsolute},
			msg: fmt.Sprintf("LAST JOIN %s needs an index keyed by columns the ON clause equates (%s)%s: e.g. %s",
				t.Name, strings.Join(cols, ", "), map[bool]string{true: " with TS=" + orderTS, false: ""}[orderTS != ""], neededIndex(keys, orderTS))}
	}
	jp.index = best.Name
	for _, k := range best.Keys {
		jp.keyExprs = append(jp.keyExprs, eq[strings.ToLower(k)])
	}
	jp.exact = eqTerms == len(terms) && len(best.Keys) == eqTerms
	return jp, nil
}

// scope binds a main row (and later joins and windows) for evaluation.
func (q *FeatureQuery) scope(row client.Row, args []any) *scope {
	s := &scope{table: &q.Main, alias: q.MainAlias, row: row, args: args, windows: map[string][]client.Row{}}
	for _, j := range q.joins {
		s.joins = append(s.joins, boundTable{table: &j.table, alias: j.alias})
	}
	for name := range q.windows {
		s.windows[name] = nil
	}
	return s
}

func (q *FeatureQuery) inferType(e Expr) schema.Type {
	if c, ok := e.(*Call); ok && c.Over != "" {
		f := aggFuncs[c.Name]
		if c.Star {
			return schema.TypeInt64
		}
		var args []schema.Type
		for _, a := range c.Args {
			args = append(args, inferType(a, &q.Main, nil))
		}
		return f.ret(args)
	}
	if c, ok := e.(*ColumnRef); ok {
		for _, j := range q.joins {
			if (c.Table == "" || strings.EqualFold(c.Table, j.table.Name) || strings.EqualFold(c.Table, j.alias)) && j.table.ColumnIndex(c.Name) >= 0 && (c.Table != "" || q.Main.ColumnIndex(c.Name) < 0) {
				return j.table.Columns[j.table.ColumnIndex(c.Name)].Type
			}
		}
	}
	return inferType(e, &q.Main, nil)
}

// windowCand is a stored row that may fall in a window.
type windowCand struct {
	row  client.Row
	ts   int64
	main bool
	req  bool // the request row itself
}

// frame picks the window of a request row (ts reqTS) from stored
// candidates with ts <= reqTS, newest first: the request row is taken as
// appended at its timestamp, after every stored row with that timestamp.
// The sequence is [request row, eligible candidates...]; ROWS frames count
// positions in it, ROWS_RANGE frames compare timestamps.
func frame(w *WindowDef, req client.Row, reqTS int64, cands []windowCand) []client.Row {
	eligible := func(c *windowCand) bool {
		return c.ts <= reqTS && !(w.ExcludeCurrentTime && c.ts == reqTS) && !(w.InstanceNotInWindow && c.main)
	}
	max := len(cands) + 1
	if w.MaxSize > 0 && int(w.MaxSize) < max {
		max = int(w.MaxSize)
	}
	out := make([]client.Row, 0, min(max, 64))
	full := func() bool { return len(out) >= max }
	switch w.Unit {
	case FrameRows:
		lo, hi := int(w.End.Offset), len(cands)
		if w.Start.Current {
			hi = 0
		} else if !w.Start.Unbounded && int(w.Start.Offset) < hi {
			hi = int(w.Start.Offset)
		}
		if lo == 0 && !w.ExcludeCurrentRow {
			out = append(out, req)
		}
		pos := 1
		for i := range cands {
			if pos > hi || full() {
				break
			}
			if !eligible(&cands[i]) {
				continue
			}
			if pos >= lo {
				out = append(out, cands[i].row)
			}
			pos++
		}
	case FrameRowsRange:
		upper := reqTS - w.End.Offset
		lower := reqTS - w.Start.Offset
		if w.Start.Current {
			lower = reqTS
		}
		if reqTS <= upper && !w.ExcludeCurrentRow {
			out = append(out, req)
		}
		for i := range cands {
			c := &cands[i]
			if full() || !w.Start.Unbounded && c.ts < lower {
				break
			}
			if c.ts > upper || !eligible(c) {
				continue
			}
			out = append(out, c.row)
		}
	}
	return out
}

func tsOf(row client.Row, col int) (int64, error) {
	switch v := canon(row[col]).(type) {
	case int64:
		return v, nil
	case nil:
		return 0, semanticf("the ORDER BY column of a window is NULL in the request row")
	}
	return 0, semanticf("the ORDER BY column of a window must be a timestamp")
}

// windowKey is the key of the source index for a row of the main table.
func windowKey(s windowSource, q *FeatureQuery, row client.Row) (string, bool, error) {
	vals := make([]any, len(s.table.Columns))
	ix, _ := findIndexByName(s.table, s.index)
	for i, k := range ix.Keys {
		v := row[s.keys[i]]
		if v == nil {
			return "", false, nil
		}
		vals[s.table.ColumnIndex(k)] = v
	}
	key, err := client.KeyOf(s.table, s.index, vals)
	return key, true, err
}

func findIndexByName(t schema.Table, name string) (schema.Index, bool) {
	for _, ix := range t.Indexes {
		if ix.Name == name {
			return ix, true
		}
	}
	return schema.Index{}, false
}

// mergeNewest merges candidate lists (each newest first) into one.
func mergeNewest(lists [][]windowCand) []windowCand {
	if len(lists) == 1 {
		return lists[0]
	}
	var out []windowCand
	for _, l := range lists {
		out = append(out, l...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ts > out[j].ts })
	return out
}

// scanBounds are the (to, from] bounds and limit that read every stored
// candidate a window needs for a request at reqTS.
func scanBounds(w *WindowDef, reqTS int64) (from, to int64, limit int) {
	// Scans read ts in (to, from], newest first, where 0 means unbounded;
	// the bounds only narrow the read, frame() decides exactly.
	from = reqTS
	if w.ExcludeCurrentTime {
		from = reqTS - 1
	}
	if w.Unit == FrameRowsRange {
		from = min(from, reqTS-w.End.Offset)
	}
	if w.Unit == FrameRows && !w.Start.Unbounded {
		limit = int(w.Start.Offset)
	}
	if w.MaxSize > 0 && (limit == 0 || int(w.MaxSize) < limit) {
		limit = int(w.MaxSize)
	}
	if limit > 0 && w.ExcludeCurrentRow {
		limit++
	}
	if from <= 0 {
		from, limit = 0, 0 // cannot bound above 0: read all, frame() filters
	}
	if w.Unit == FrameRowsRange && !w.Start.Unbounded {
		to = max(reqTS-w.Start.Offset-1, 0)
	}
	return from, to, limit
}

// rowsKeyOf identifies the stored rows a window reads, so windows over the
// same rows share one read.
func rowsKeyOf(wp *windowPlan) string {
	var b strings.Builder
	for _, s := range wp.sources {
		fmt.Fprintf(&b, "%s/%s/%v;", s.table.Name, s.index, s.keys)
	}
	fmt.Fprintf(&b, "@%d", wp.tsCol)
	return b.String()
}

// requestCands reads a window's stored candidates for a request row.
func (q *FeatureQuery) requestCands(ctx context.Context, src RowSource, wp *windowPlan, req client.Row, reqTS int64) ([]windowCand, error) {
	from, to, limit := scanBounds(wp.def, reqTS)
	return q.readCands(ctx, src, wp, req, from, to, limit)
}

func (q *FeatureQuery) readCands(ctx context.Context, src RowSource, wp *windowPlan, req client.Row, from, to int64, limit int) ([]windowCand, error) {
	var lists [][]windowCand
	for _, s := range wp.sources {
		key, ok, err := windowKey(s, q, req)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // NULL partition key: only the request row
		}
		var rows []client.Row
		if cs, ok := src.(ColumnScanner); ok && q.windowCols != nil {
			rows, err = cs.ScanIndexColumns(ctx, q.DB, s.table.Name, s.index, key, from, to, limit, q.windowCols)
		} else {
			rows, err = src.ScanIndex(ctx, q.DB, s.table.Name, s.index, key, from, to, limit)
		}
		if err != nil {
			return nil, err
		}
		l := make([]windowCand, 0, len(rows))
		for _, r := range rows {
			ts, err := tsOf(r, wp.tsCol)
			if err != nil {
				continue
			}
			l = append(l, windowCand{row: r, ts: ts, main: s.main})
		}
		lists = append(lists, l)
	}
	return mergeNewest(lists), nil
}

// bindJoins finds each LAST JOIN's row for the scope's main row.
func (q *FeatureQuery) bindJoins(ctx context.Context, src RowSource, s *scope) error {
	for i, j := range q.joins {
		vals := make([]any, len(j.table.Columns))
		ix, _ := findIndexByName(j.table, j.index)
		null := false
		for k, e := range j.keyExprs {
			v, err := eval(e, s)
			if err != nil {
				return err
			}
			if v == nil {
				null = true
				break
			}
			c := j.table.Columns[j.table.ColumnIndex(ix.Keys[k])]
			nv, err := toColumn(c, v)
			if err != nil {
				return semanticf("LAST JOIN %s: %s", j.table.Name, stripInvalid(err))
			}
			vals[j.table.ColumnIndex(ix.Keys[k])] = nv
		}
		s.joins[i].row = nil
		if null {
			continue
		}
		key, err := client.KeyOf(j.table, j.index, vals)
		if err != nil {
			return err
		}
		limit := 0
		if j.exact {
			limit = 1
		}
		rows, err := src.ScanIndex(ctx, q.DB, j.table.Name, j.index, key, 0, 0, limit)
		if err != nil {
			return err
		}
		for _, r := range rows {
			s.joins[i].row = r
			ok, err := eval(j.on, s)
			if err != nil {
				return err
			}
			if ok != nil {
				if b, err := truth(ok); err == nil && b {
					break
				}
			}
			s.joins[i].row = nil
		}
	}
	return nil
}

func (q *FeatureQuery) output(s *scope) ([]any, error) {
	out := make([]any, len(q.items))
	for i, it := range q.items {
		if it.col >= 0 {
			out[i] = canon(s.row[it.col])
			continue
		}
		v, err := eval(it.expr, s)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// NormalizeRequest converts a request row's values to the main table's types.
func (q *FeatureQuery) NormalizeRequest(values []any) (client.Row, error) {
	if len(values) != len(q.Main.Columns) {
		return nil, semanticf("a request row of %s has %d values, got %d", q.Main.Name, len(q.Main.Columns), len(values))
	}
	row := make(client.Row, len(values))
	for i, c := range q.Main.Columns {
		v, err := toColumn(c, canon(values[i]))
		if err != nil {
			return nil, semanticf("%s", stripInvalid(err))
		}
		row[i] = v
	}
	return row, nil
}

// Request computes the query for one request row as if it were appended
// to the main table at its timestamp (it is not stored).
func (q *FeatureQuery) Request(ctx context.Context, src RowSource, req client.Row, args []any) ([]any, error) {
	s := q.scope(req, args)
	if err := q.bindJoins(ctx, src, s); err != nil {
		return nil, err
	}
	// Windows reading the same rows with the same upper bound share one
	// read, widened to what the widest of them needs.
	type read struct {
		wp       *windowPlan
		from, to int64
		limit    int
		names    []string
	}
	type readKey struct {
		rows string
		from int64
	}
	reads := map[readKey]*read{}
	var order []readKey
	for name, wp := range q.windows {
		reqTS, err := tsOf(req, wp.tsCol)
		if err != nil {
			return nil, err
		}
		from, to, limit := scanBounds(wp.def, reqTS)
		k := readKey{wp.rowsKey, from}
		r := reads[k]
		if r == nil {
			r = &read{wp: wp, from: from, to: to, limit: limit}
			reads[k] = r
			order = append(order, k)
		} else {
			r.to = min(r.to, to)
			if r.limit == 0 || limit == 0 {
				r.limit = 0
			} else {
				r.limit = max(r.limit, limit)
			}
		}
		r.names = append(r.names, name)
	}
	for _, k := range order {
		r := reads[k]
		cands, err := q.readCands(ctx, src, r.wp, req, r.from, r.to, r.limit)
		if err != nil {
			return nil, err
		}
		for _, name := range r.names {
			wp := q.windows[name]
			reqTS, _ := tsOf(req, wp.tsCol)
			s.windows[name] = frame(wp.def, req, reqTS, cands)
		}
	}
	return q.output(s)
}

// Batch computes the query offline over stored rows of the main table
// (in insertion order, oldest first, which breaks timestamp ties):
// one output row per stored row, whose windows hold the other stored rows
// at or before its timestamp — what Request gives for that row against
// the table without it. UNION and LAST JOIN tables are read through src.
func (q *FeatureQuery) Batch(ctx context.Context, src RowSource, rows []client.Row, args []any) ([][]any, error) {
	// Per window, group the main rows by partition key, newest first.
	type group struct{ members []int }
	groupsOf := map[string]map[string]*group{}
	keyOf := func(wp *windowPlan, r client.Row) string {
		var b strings.Builder
		for _, c := range wp.def.PartitionBy {
			v := r[q.Main.ColumnIndex(c.Name)]
			if v == nil {
				return "\x00null"
			}
			b.WriteString(typeName(canon(v)) + ":" + formatValue(v) + "\x01")
		}
		return b.String()
	}
	tsCache := map[string][]int64{}
	for name, wp := range q.windows {
		g := map[string]*group{}
		ts := make([]int64, len(rows))
		for i, r := range rows {
			t, err := tsOf(r, wp.tsCol)
			if err != nil {
				return nil, err
			}
			ts[i] = t
			k := keyOf(wp, r)
			if g[k] == nil {
				g[k] = &group{}
			}
			g[k].members = append(g[k].members, i)
		}
		for _, gr := range g {
			// Newest first; among equal timestamps the later-inserted row
			// (later in rows) first, as a tablet's scan returns them.
			sort.Slice(gr.members, func(a, b int) bool {
				ma, mb := gr.members[a], gr.members[b]
				if ts[ma] != ts[mb] {
					return ts[ma] > ts[mb]
				}
				return ma > mb
			})
		}
		groupsOf[name] = g
		tsCache[name] = ts
	}
	out := make([][]any, 0, len(rows))
	for i, r := range rows {
		s := q.scope(r, args)
		if err := q.bindJoins(ctx, src, s); err != nil {
			return nil, err
		}
		for name, wp := range q.windows {
			ts := tsCache[name]
			var lists [][]windowCand
			if !wp.def.InstanceNotInWindow && keyOf(wp, r) != "\x00null" {
				var l []windowCand
				for _, m := range groupsOf[name][keyOf(wp, r)].members {
					if m != i && ts[m] <= ts[i] {
						l = append(l, windowCand{row: rows[m], ts: ts[m], main: true})
					}
				}
				lists = append(lists, l)
			}
			// Union tables are read like in request mode.
			unionOnly := &windowPlan{def: wp.def, tsCol: wp.tsCol}
			for _, ws := range wp.sources {
				if !ws.main {
					unionOnly.sources = append(unionOnly.sources, ws)
				}
			}
			if len(unionOnly.sources) > 0 {
				u, err := q.requestCands(ctx, src, unionOnly, r, ts[i])
				if err != nil {
					return nil, err
				}
				lists = append(lists, u)
			}
			s.windows[name] = frame(wp.def, r, ts[i], mergeNewest(lists))
		}
		if q.where != nil {
			v, err := eval(q.where, s)
			if err != nil {
				return nil, err
			}
			if v == nil {
				continue
			}
			if ok, err := truth(v); err != nil || !ok {
				if err != nil {
					return nil, err
				}
				continue
			}
		}
		o, err := q.output(s)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}
