package sql

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/schema"
)

// ErrSemantic marks statements that parse but cannot run as written
// (unknown column, wrong argument types, ...).
var ErrSemantic = errors.New("semantic error")

func semanticf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSemantic, fmt.Sprintf(format, args...))
}

// Runtime values are nil, bool, int64, float64, string and schema.Date;
// timestamps are int64 milliseconds. canon turns stored values into them.
func canon(v any) any {
	switch x := v.(type) {
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}

// scope resolves column references for one row.
type scope struct {
	table *schema.Table
	alias string
	row   client.Row
	args  []any
	// joins are the LAST JOIN tables bound to this row (row nil: no match).
	joins []boundTable
	// windows holds each window's rows (newest first, main table layout).
	windows map[string][]client.Row
}

// boundTable is a joined table and its matched row.
type boundTable struct {
	table *schema.Table
	alias string
	row   client.Row
}

// lookup returns a column's value from the main row or a joined row.
func (s *scope) lookup(ref *ColumnRef) (any, error) {
	if s.table == nil {
		return nil, semanticf("column %s needs a FROM clause", ref.Name)
	}
	matches := func(t *schema.Table, alias string) bool {
		return ref.Table == "" || strings.EqualFold(ref.Table, t.Name) || strings.EqualFold(ref.Table, alias)
	}
	if matches(s.table, s.alias) {
		if i := s.table.ColumnIndex(ref.Name); i >= 0 {
			if s.row == nil {
				return nil, nil
			}
			return canon(s.row[i]), nil
		}
	}
	for _, j := range s.joins {
		if matches(j.table, j.alias) {
			if i := j.table.ColumnIndex(ref.Name); i >= 0 {
				if j.row == nil {
					return nil, nil
				}
				return canon(j.row[i]), nil
			}
		}
	}
	if ref.Table != "" {
		known := ref.Table == "" || matches(s.table, s.alias)
		for _, j := range s.joins {
			known = known || matches(j.table, j.alias)
		}
		if !known {
			return nil, semanticf("unknown table or alias %s in %s.%s", ref.Table, ref.Table, ref.Name)
		}
		return nil, semanticf("column %s not found in table %s", ref.Name, ref.Table)
	}
	return nil, semanticf("column %s not found in table %s", ref.Name, s.table.Name)
}

func (s *scope) column(ref *ColumnRef) (int, error) {
	if s.table == nil {
		return -1, semanticf("column %s needs a FROM clause", ref.Name)
	}
	if ref.Table != "" && !strings.EqualFold(ref.Table, s.table.Name) && !strings.EqualFold(ref.Table, s.alias) {
		return -1, semanticf("unknown table or alias %s in %s.%s", ref.Table, ref.Table, ref.Name)
	}
	i := s.table.ColumnIndex(ref.Name)
	if i < 0 {
		return -1, semanticf("column %s not found in table %s", ref.Name, s.table.Name)
	}
	return i, nil
}

// eval computes e; s may be nil for constant expressions.
func eval(e Expr, s *scope) (any, error) {
	switch x := e.(type) {
	case *Literal:
		return x.Value, nil
	case *Placeholder:
		if s == nil || x.N >= len(s.args) {
			return nil, semanticf("placeholder %d has no value (the request's input has %d)", x.N+1, argCount(s))
		}
		return canon(s.args[x.N]), nil
	case *ColumnRef:
		if s == nil {
			return nil, semanticf("column %s cannot be used here (a constant is needed)", x.Name)
		}
		return s.lookup(x)
	case *Unary:
		v, err := eval(x.X, s)
		if err != nil || v == nil {
			return nil, err
		}
		switch x.Op {
		case "NOT":
			b, err := truth(v)
			if err != nil {
				return nil, err
			}
			return !b, nil
		case "-":
			switch n := v.(type) {
			case int64:
				return -n, nil
			case float64:
				return -n, nil
			}
			return nil, semanticf("cannot negate %s", typeName(v))
		}
	case *Binary:
		return evalBinary(x, s)
	case *IsNull:
		v, err := eval(x.X, s)
		if err != nil {
			return nil, err
		}
		return (v == nil) != x.Not, nil
	case *Between:
		v, err := eval(x.X, s)
		if err != nil {
			return nil, err
		}
		lo, err := eval(x.Lo, s)
		if err != nil {
			return nil, err
		}
		hi, err := eval(x.Hi, s)
		if err != nil {
			return nil, err
		}
		if v == nil || lo == nil || hi == nil {
			return nil, nil
		}
		a, err := compare(v, lo)
		if err != nil {
			return nil, err
		}
		b, err := compare(v, hi)
		if err != nil {
			return nil, err
		}
		return (a >= 0 && b <= 0) != x.Not, nil
	case *InList:
		v, err := eval(x.X, s)
		if err != nil || v == nil {
			return nil, err
		}
		sawNull := false
		for _, item := range x.List {
			w, err := eval(item, s)
			if err != nil {
				return nil, err
			}
			if w == nil {
				sawNull = true
				continue
			}
			c, err := compare(v, w)
			if err != nil {
				return nil, err
			}
			if c == 0 {
				return !x.Not, nil
			}
		}
		if sawNull {
			return nil, nil
		}
		return x.Not, nil
	case *Case:
		var op any
		if x.Operand != nil {
			var err error
			if op, err = eval(x.Operand, s); err != nil {
				return nil, err
			}
		}
		for _, w := range x.Whens {
			c, err := eval(w.Cond, s)
			if err != nil {
				return nil, err
			}
			hit := false
			if x.Operand != nil {
				if op != nil && c != nil {
					r, err := compare(op, c)
					if err != nil {
						return nil, err
					}
					hit = r == 0
				}
			} else if c != nil {
				if hit, err = truth(c); err != nil {
					return nil, err
				}
			}
			if hit {
				return eval(w.Result, s)
			}
		}
		if x.Else != nil {
			return eval(x.Else, s)
		}
		return nil, nil
	case *Cast:
		v, err := eval(x.X, s)
		if err != nil {
			return nil, err
		}
		t, err := schema.ParseType(x.Type)
		if err != nil {
			return nil, semanticf("CAST: %v", err)
		}
		return castTo(v, t)
	case *Call:
		return evalCall(x, s)
	}
	return nil, semanticf("cannot evaluate %T", e)
}

func argCount(s *scope) int {
	if s == nil {
		return 0
	}
	return len(s.args)
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case int64:
		return "bigint"
	case float64:
		return "double"
	case string:
		return "string"
	case schema.Date:
		return "date"
	}
	return fmt.Sprintf("%T", v)
}

// truth is a boolean condition's value; numbers count as true when non-zero.
func truth(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int64:
		return x != 0, nil
	case float64:
		return x != 0, nil
	}
	return false, semanticf("%s value used as a condition", typeName(v))
}

func evalBinary(x *Binary, s *scope) (any, error) {
	l, err := eval(x.L, s)
	if err != nil {
		return nil, err
	}
	switch x.Op {
	case "AND", "OR":
		// Three-valued logic: false AND null = false, true OR null = true.
		var lb, rb *bool
		if l != nil {
			b, err := truth(l)
			if err != nil {
				return nil, err
			}
			lb = &b
			if x.Op == "AND" && !b || x.Op == "OR" && b {
				return b, nil
			}
		}
		r, err := eval(x.R, s)
		if err != nil {
			return nil, err
		}
		if r != nil {
			b, err := truth(r)
			if err != nil {
				return nil, err
			}
			rb = &b
			if x.Op == "AND" && !b || x.Op == "OR" && b {
				return b, nil
			}
		}
		if lb == nil || rb == nil {
			return nil, nil
		}
		return *lb, nil
	}
	r, err := eval(x.R, s)
	if err != nil {
		return nil, err
	}
	if l == nil || r == nil {
		return nil, nil
	}
	switch x.Op {
	case "=", "!=", "<", "<=", ">", ">=":
		c, err := compare(l, r)
		if err != nil {
			return nil, err
		}
		switch x.Op {
		case "=":
			return c == 0, nil
		case "!=":
			return c != 0, nil
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		}
		return c >= 0, nil
	case "LIKE":
		ls, ok1 := l.(string)
		rs, ok2 := r.(string)
		if !ok1 || !ok2 {
			return nil, semanticf("LIKE needs strings, got %s and %s", typeName(l), typeName(r))
		}
		return likeMatch(ls, rs), nil
	}
	return arith(x.Op, l, r)
}

// likeCache keeps compiled LIKE patterns; a query applies one pattern to many rows.
var likeCache sync.Map // string -> *regexp.Regexp

func likeMatch(s, pattern string) bool {
	re, ok := likeCache.Load(pattern)
	if !ok {
		re, _ = likeCache.LoadOrStore(pattern, client.LikeToRegexp(pattern))
	}
	return re.(*regexp.Regexp).MatchString(s)
}

func arith(op string, l, r any) (any, error) {
	li, lInt := l.(int64)
	ri, rInt := r.(int64)
	if lInt && rInt {
		switch op {
		case "+":
			return li + ri, nil
		case "-":
			return li - ri, nil
		case "*":
			return li * ri, nil
		case "/":
			if ri == 0 {
				return nil, nil
			}
			return float64(li) / float64(ri), nil
		case "DIV":
			if ri == 0 {
				return nil, nil
			}
			return li / ri, nil
		case "%":
			if ri == 0 {
				return nil, nil
			}
			return li % ri, nil
		}
	}
	lf, ok1 := toFloat(l)
	rf, ok2 := toFloat(r)
	if !ok1 || !ok2 {
		return nil, semanticf("operator %s needs numbers, got %s and %s", op, typeName(l), typeName(r))
	}
	switch op {
	case "+":
		return lf + rf, nil
	case "-":
		return lf - rf, nil
	case "*":
		return lf * rf, nil
	case "/":
		if rf == 0 {
			return nil, nil
		}
		return lf / rf, nil
	case "DIV":
		if rf == 0 {
			return nil, nil
		}
		return math.Trunc(lf / rf), nil
	case "%":
		if rf == 0 {
			return nil, nil
		}
		return math.Mod(lf, rf), nil
	}
	return nil, semanticf("unknown operator %s", op)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// compare orders two non-null values of compatible types.
func compare(a, b any) (int, error) {
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmp3(x < y, x > y), nil
		}
	case string:
		switch y := b.(type) {
		case string:
			return strings.Compare(x, y), nil
		case schema.Date:
			d, err := schema.ParseDate(x)
			if err != nil {
				return 0, semanticf("cannot compare string %q with a date", x)
			}
			return compare(d, y)
		}
	case schema.Date:
		switch y := b.(type) {
		case schema.Date:
			return cmp3(dateLess(x, y), dateLess(y, x)), nil
		case string:
			d, err := schema.ParseDate(y)
			if err != nil {
				return 0, semanticf("cannot compare a date with string %q", y)
			}
			return compare(x, d)
		}
	case bool:
		if y, ok := b.(bool); ok {
			return cmp3(!x && y, x && !y), nil
		}
	}
	xf, ok1 := toFloat(a)
	yf, ok2 := toFloat(b)
	if ok1 && ok2 {
		return cmp3(xf < yf, xf > yf), nil
	}
	return 0, semanticf("cannot compare %s with %s", typeName(a), typeName(b))
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

func dateLess(a, b schema.Date) bool {
	if a.Year != b.Year {
		return a.Year < b.Year
	}
	if a.Month != b.Month {
		return a.Month < b.Month
	}
	return a.Day < b.Day
}

// castTo converts a runtime value to a column type's runtime form.
func castTo(v any, t schema.Type) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case schema.TypeString:
		return formatValue(v), nil
	case schema.TypeBool:
		switch x := v.(type) {
		case string:
			b, err := strconv.ParseBool(strings.ToLower(x))
			if err != nil {
				return nil, nil
			}
			return b, nil
		}
		return truth(v)
	case schema.TypeInt16, schema.TypeInt32, schema.TypeInt64, schema.TypeTimestamp:
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			return int64(x), nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case string:
			if t == schema.TypeTimestamp {
				if ms, ok := parseTimestamp(x); ok {
					return ms, nil
				}
			}
			n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return nil, nil
			}
			return n, nil
		case schema.Date:
			if t == schema.TypeTimestamp {
				return time.Date(x.Year, time.Month(x.Month), x.Day, 0, 0, 0, 0, time.UTC).UnixMilli(), nil
			}
		}
	case schema.TypeFloat, schema.TypeDouble:
		if s, ok := v.(string); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil, nil
			}
			return f, nil
		}
		if f, ok := toFloat(v); ok {
			return f, nil
		}
	case schema.TypeDate:
		switch x := v.(type) {
		case schema.Date:
			return x, nil
		case string:
			d, err := schema.ParseDate(strings.TrimSpace(x))
			if err != nil {
				return nil, nil
			}
			return d, nil
		case int64:
			tm := time.UnixMilli(x).UTC()
			return schema.Date{Year: tm.Year(), Month: int(tm.Month()), Day: tm.Day()}, nil
		}
	}
	return nil, semanticf("cannot cast %s to %s", typeName(v), t)
}

// parseTimestamp accepts "yyyy-mm-dd hh:mm:ss[.fff]" and "yyyy-mm-dd" (UTC).
func parseTimestamp(s string) (int64, bool) {
	for _, layout := range []string{"2006-01-02 15:04:05.999", "2006-01-02 15:04:05", "2006-01-02T15:04:05Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UnixMilli(), true
		}
	}
	return 0, false
}

// formatValue renders a runtime value as sql_client prints it.
func formatValue(v any) string {
	switch x := canon(v).(type) {
	case nil:
		return "NULL"
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	case schema.Date:
		return x.String()
	}
	return fmt.Sprint(v)
}
