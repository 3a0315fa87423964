package sql

import (
	"sort"

	"github.com/openmldb-go/openmldb/client"
	"strings"

	"github.com/openmldb-go/openmldb/schema"
)

// aggFunc is a window aggregate over the values of its arguments in each
// window row (newest first); consts holds the arguments evaluated without a
// row (for constant parameters such as lag's offset).
type aggFunc struct {
	minArgs, maxArgs int
	ret              func(args []schema.Type) schema.Type
	fn               func(w *windowArgs, consts []any) (any, error)
}

// windowArgs gives the value of argument j in window row i without
// materializing a table of values: plain columns are read from the rows.
type windowArgs struct {
	rows   []client.Row
	cols   []int   // per argument: the column it reads, or -1
	consts []any   // per argument: its value when constant
	vals   [][]any // per argument: evaluated values when an expression
}

func (w *windowArgs) n() int { return len(w.rows) }

func (w *windowArgs) at(i, j int) any {
	switch {
	case w.cols[j] >= 0:
		return canon(w.rows[i][w.cols[j]])
	case w.vals[j] != nil:
		return w.vals[j][i]
	}
	return w.consts[j]
}

func sameAsFirst(args []schema.Type) schema.Type {
	if len(args) > 0 && args[0] != 0 {
		return args[0]
	}
	return schema.TypeDouble
}

func fixed(t schema.Type) func([]schema.Type) schema.Type {
	return func([]schema.Type) schema.Type { return t }
}

func sumType(args []schema.Type) schema.Type {
	if len(args) > 0 {
		switch args[0] {
		case schema.TypeFloat, schema.TypeDouble:
			return schema.TypeDouble
		}
	}
	return schema.TypeInt64
}

var aggFuncs map[string]aggFunc

// valueAgg reduces the non-null values of one column.
type valueAgg func(vals []any) (any, error)

func aggCount(vals []any) (any, error) { return int64(len(vals)), nil }

func aggSum(vals []any) (any, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	var si int64
	var sf float64
	isFloat := false
	for _, v := range vals {
		switch x := v.(type) {
		case int64:
			si += x
			sf += float64(x)
		case float64:
			isFloat = true
			sf += x
		default:
			return nil, semanticf("sum needs numbers, got %s", typeName(v))
		}
	}
	if isFloat {
		return sf, nil
	}
	return si, nil
}

func aggAvg(vals []any) (any, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	var sum float64
	for _, v := range vals {
		f, ok := toFloat(v)
		if !ok {
			return nil, semanticf("avg needs numbers, got %s", typeName(v))
		}
		sum += f
	}
	return sum / float64(len(vals)), nil
}

func aggExtreme(sign int) valueAgg {
	return func(vals []any) (any, error) {
		var best any
		for _, v := range vals {
			if best == nil {
				best = v
				continue
			}
			c, err := compare(v, best)
			if err != nil {
				return nil, err
			}
			if c*sign > 0 {
				best = v
			}
		}
		return best, nil
	}
}

var valueAggs = map[string]valueAgg{
	"count": aggCount, "sum": aggSum, "avg": aggAvg, "min": aggExtreme(-1), "max": aggExtreme(1),
}

func valueAggType(name string, args []schema.Type) schema.Type {
	switch name {
	case "count":
		return schema.TypeInt64
	case "sum":
		return sumType(args)
	case "avg":
		return schema.TypeDouble
	}
	return sameAsFirst(args)
}

// nonNull returns argument j of the window rows, skipping NULLs; keep
// filters rows.
func nonNull(w *windowArgs, j int, keep func(*windowArgs, int) (bool, error)) ([]any, error) {
	out := make([]any, 0, w.n())
	for i := 0; i < w.n(); i++ {
		if keep != nil {
			ok, err := keep(w, i)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		if v := w.at(i, j); v != nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// whereArg keeps rows whose condition argument (at j) is true.
func whereArg(j int) func(*windowArgs, int) (bool, error) {
	return func(w *windowArgs, i int) (bool, error) {
		v := w.at(i, j)
		if v == nil {
			return false, nil
		}
		return truth(v)
	}
}

// cateAgg groups rows by the category argument and reduces each group,
// rendering "key:value,..." ordered by key (descending and cut to n for
// the top_n_key_ variants).
func cateAgg(agg valueAgg, cond, cate, topN int) func(w *windowArgs, consts []any) (any, error) {
	return func(w *windowArgs, consts []any) (any, error) {
		groups := map[string][]any{}
		keys := map[string]any{}
		for i := 0; i < w.n(); i++ {
			if cond >= 0 {
				ok, err := whereArg(cond)(w, i)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
			}
			c := w.at(i, cate)
			if c == nil {
				continue
			}
			k := formatValue(c)
			keys[k] = c
			if v := w.at(i, 0); v != nil {
				groups[k] = append(groups[k], v)
			} else if _, seen := groups[k]; !seen {
				groups[k] = nil
			}
		}
		order := make([]string, 0, len(keys))
		for k := range keys {
			order = append(order, k)
		}
		var sortErr error
		sort.Slice(order, func(i, j int) bool {
			c, err := compare(keys[order[i]], keys[order[j]])
			if err != nil {
				sortErr = err
			}
			return c < 0
		})
		if sortErr != nil {
			return nil, sortErr
		}
		if topN >= 0 {
			n, ok := consts[topN].(int64)
			if !ok || n < 0 {
				return nil, semanticf("top_n_key_* needs a constant row count as its last argument")
			}
			for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
				order[i], order[j] = order[j], order[i]
			}
			if int64(len(order)) > n {
				order = order[:n]
			}
		}
		parts := make([]string, 0, len(order))
		for _, k := range order {
			v, err := agg(groups[k])
			if err != nil {
				return nil, err
			}
			parts = append(parts, k+":"+formatValue(v))
		}
		return strings.Join(parts, ","), nil
	}
}

func init() {
	aggFuncs = map[string]aggFunc{}
	for name, agg := range valueAggs {
		agg, name := agg, name
		aggFuncs[name] = aggFunc{1, 1, func(a []schema.Type) schema.Type { return valueAggType(name, a) },
			func(w *windowArgs, _ []any) (any, error) {
				vals, err := nonNull(w, 0, nil)
				if err != nil {
					return nil, err
				}
				return agg(vals)
			}}
		aggFuncs[name+"_where"] = aggFunc{2, 2, func(a []schema.Type) schema.Type { return valueAggType(name, a) },
			func(w *windowArgs, _ []any) (any, error) {
				vals, err := nonNull(w, 0, whereArg(1))
				if err != nil {
					return nil, err
				}
				return agg(vals)
			}}
		aggFuncs[name+"_cate"] = aggFunc{2, 2, fixed(schema.TypeString), cateAgg(agg, -1, 1, -1)}
		aggFuncs[name+"_cate_where"] = aggFunc{3, 3, fixed(schema.TypeString), cateAgg(agg, 1, 2, -1)}
		aggFuncs["top_n_key_"+name+"_cate_where"] = aggFunc{4, 4, fixed(schema.TypeString), cateAgg(agg, 1, 2, 3)}
	}
	aggFuncs["distinct_count"] = aggFunc{1, 1, fixed(schema.TypeInt64), func(w *windowArgs, _ []any) (any, error) {
		seen := make(map[any]struct{}, 16)
		for i := 0; i < w.n(); i++ {
			if v := w.at(i, 0); v != nil {
				seen[v] = struct{}{} // runtime values are comparable
			}
		}
		return int64(len(seen)), nil
	}}
	aggFuncs["lag"] = aggFunc{2, 2, sameAsFirst, func(w *windowArgs, consts []any) (any, error) {
		n, ok := consts[1].(int64)
		if !ok || n < 0 {
			return nil, semanticf("lag needs a constant non-negative offset as its second argument")
		}
		if n >= int64(w.n()) {
			return nil, nil
		}
		return w.at(int(n), 0), nil
	}}
	aggFuncs["first_value"] = aggFunc{1, 1, sameAsFirst, func(w *windowArgs, _ []any) (any, error) {
		if w.n() == 0 {
			return nil, nil
		}
		return w.at(0, 0), nil
	}}
	aggFuncs["ew_avg"] = aggFunc{2, 2, fixed(schema.TypeDouble), func(w *windowArgs, consts []any) (any, error) {
		alpha, ok := toFloat(consts[1])
		if !ok || alpha <= 0 || alpha > 1 {
			return nil, semanticf("ew_avg needs a constant alpha in (0, 1] as its second argument")
		}
		// pandas ewm(alpha, adjust=True, ignore_na=True): the newest value
		// weighs 1, the one before (1-alpha), and so on over non-null values.
		var num, den float64
		weight := 1.0
		for i := 0; i < w.n(); i++ {
			v := w.at(i, 0)
			if v == nil {
				continue
			}
			f, ok := toFloat(v)
			if !ok {
				return nil, semanticf("ew_avg needs numbers, got %s", typeName(v))
			}
			num += weight * f
			den += weight
			weight *= 1 - alpha
		}
		if den == 0 {
			return nil, nil
		}
		return num / den, nil
	}}
}

// AggregateNames lists the window aggregates, sorted.
func AggregateNames() []string {
	var out []string
	for n := range aggFuncs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
