package sql

import (
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openmldb-go/openmldb/schema"
)

// scalarFunc computes a function of evaluated arguments. Unless nullSafe,
// a NULL argument makes the result NULL without calling it.
type scalarFunc struct {
	minArgs, maxArgs int // maxArgs -1: any
	nullSafe         bool
	ret              schema.Type // 0: same as the first argument / computed
	fn               func(args []any) (any, error)
}

var scalarFuncs map[string]scalarFunc

func init() {
	num := func(f func(float64) float64) func([]any) (any, error) {
		return func(a []any) (any, error) {
			x, ok := toFloat(a[0])
			if !ok {
				return nil, semanticf("needs a number, got %s", typeName(a[0]))
			}
			r := f(x)
			if math.IsNaN(r) {
				return nil, nil
			}
			return r, nil
		}
	}
	str := func(f func(string) any) func([]any) (any, error) {
		return func(a []any) (any, error) { return f(formatValue(a[0])), nil }
	}
	intArg := func(v any) (int64, error) {
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			return int64(x), nil
		}
		return 0, semanticf("needs an integer, got %s", typeName(v))
	}
	timeOf := func(v any) (time.Time, error) {
		switch x := v.(type) {
		case int64:
			return time.UnixMilli(x).UTC(), nil
		case schema.Date:
			return time.Date(x.Year, time.Month(x.Month), x.Day, 0, 0, 0, 0, time.UTC), nil
		case string:
			if ms, ok := parseTimestamp(x); ok {
				return time.UnixMilli(ms).UTC(), nil
			}
		}
		return time.Time{}, semanticf("needs a timestamp or date, got %s", typeName(v))
	}
	part := func(f func(time.Time) int) func([]any) (any, error) {
		return func(a []any) (any, error) {
			t, err := timeOf(a[0])
			if err != nil {
				return nil, err
			}
			return int64(f(t)), nil
		}
	}
	scalarFuncs = map[string]scalarFunc{
		"abs": {1, 1, false, 0, func(a []any) (any, error) {
			if n, ok := a[0].(int64); ok {
				if n < 0 {
					return -n, nil
				}
				return n, nil
			}
			return num(math.Abs)(a)
		}},
		"ceil":    {1, 1, false, schema.TypeInt64, func(a []any) (any, error) { return floatToInt(num(math.Ceil)(a)) }},
		"ceiling": {1, 1, false, schema.TypeInt64, func(a []any) (any, error) { return floatToInt(num(math.Ceil)(a)) }},
		"floor":   {1, 1, false, schema.TypeInt64, func(a []any) (any, error) { return floatToInt(num(math.Floor)(a)) }},
		"round": {1, 2, false, schema.TypeDouble, func(a []any) (any, error) {
			x, ok := toFloat(a[0])
			if !ok {
				return nil, semanticf("round needs a number")
			}
			d := int64(0)
			if len(a) == 2 {
				var err error
				if d, err = intArg(a[1]); err != nil {
					return nil, err
				}
			}
			p := math.Pow(10, float64(d))
			r := math.Round(x*p) / p
			if _, isInt := a[0].(int64); isInt && d <= 0 {
				return int64(r), nil
			}
			return r, nil
		}},
		"sqrt":  {1, 1, false, schema.TypeDouble, num(math.Sqrt)},
		"exp":   {1, 1, false, schema.TypeDouble, num(math.Exp)},
		"ln":    {1, 1, false, schema.TypeDouble, num(logOrNaN(math.Log))},
		"log":   {1, 1, false, schema.TypeDouble, num(logOrNaN(math.Log))},
		"log2":  {1, 1, false, schema.TypeDouble, num(logOrNaN(math.Log2))},
		"log10": {1, 1, false, schema.TypeDouble, num(logOrNaN(math.Log10))},
		"sin":   {1, 1, false, schema.TypeDouble, num(math.Sin)},
		"cos":   {1, 1, false, schema.TypeDouble, num(math.Cos)},
		"pow": {2, 2, false, schema.TypeDouble, func(a []any) (any, error) {
			x, ok1 := toFloat(a[0])
			y, ok2 := toFloat(a[1])
			if !ok1 || !ok2 {
				return nil, semanticf("pow needs numbers")
			}
			return math.Pow(x, y), nil
		}},
		"mod":   {2, 2, false, 0, func(a []any) (any, error) { return arith("%", a[0], a[1]) }},
		"upper": {1, 1, false, schema.TypeString, str(func(s string) any { return strings.ToUpper(s) })},
		"ucase": {1, 1, false, schema.TypeString, str(func(s string) any { return strings.ToUpper(s) })},
		"lower": {1, 1, false, schema.TypeString, str(func(s string) any { return strings.ToLower(s) })},
		"lcase": {1, 1, false, schema.TypeString, str(func(s string) any { return strings.ToLower(s) })},
		"trim":  {1, 1, false, schema.TypeString, str(func(s string) any { return strings.TrimSpace(s) })},
		"ltrim": {1, 1, false, schema.TypeString, str(func(s string) any { return strings.TrimLeft(s, " \t\r\n") })},
		"rtrim": {1, 1, false, schema.TypeString, str(func(s string) any { return strings.TrimRight(s, " \t\r\n") })},
		"reverse": {1, 1, false, schema.TypeString, str(func(s string) any {
			r := []rune(s)
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			return string(r)
		})},
		"length":      {1, 1, false, schema.TypeInt32, str(func(s string) any { return int64(len(s)) })},
		"char_length": {1, 1, false, schema.TypeInt32, str(func(s string) any { return int64(utf8.RuneCountInString(s)) })},
		"concat": {0, -1, false, schema.TypeString, func(a []any) (any, error) {
			var b strings.Builder
			for _, v := range a {
				b.WriteString(formatValue(v))
			}
			return b.String(), nil
		}},
		"concat_ws": {1, -1, true, schema.TypeString, func(a []any) (any, error) {
			if a[0] == nil {
				return nil, nil
			}
			var parts []string
			for _, v := range a[1:] {
				if v != nil {
					parts = append(parts, formatValue(v))
				}
			}
			return strings.Join(parts, formatValue(a[0])), nil
		}},
		"substr":    {2, 3, false, schema.TypeString, substr(intArg)},
		"substring": {2, 3, false, schema.TypeString, substr(intArg)},
		"replace": {3, 3, false, schema.TypeString, func(a []any) (any, error) {
			return strings.ReplaceAll(formatValue(a[0]), formatValue(a[1]), formatValue(a[2])), nil
		}},
		"strcmp": {2, 2, false, schema.TypeInt32, func(a []any) (any, error) {
			return int64(strings.Compare(formatValue(a[0]), formatValue(a[1]))), nil
		}},
		"ifnull": {2, 2, true, 0, func(a []any) (any, error) {
			if a[0] != nil {
				return a[0], nil
			}
			return a[1], nil
		}},
		"coalesce": {1, -1, true, 0, func(a []any) (any, error) {
			for _, v := range a {
				if v != nil {
					return v, nil
				}
			}
			return nil, nil
		}},
		"nvl": {2, 2, true, 0, func(a []any) (any, error) {
			if a[0] != nil {
				return a[0], nil
			}
			return a[1], nil
		}},
		"nullif": {2, 2, true, 0, func(a []any) (any, error) {
			if a[0] != nil && a[1] != nil {
				if c, err := compare(a[0], a[1]); err == nil && c == 0 {
					return nil, nil
				}
			}
			return a[0], nil
		}},
		"if": {3, 3, true, 0, func(a []any) (any, error) {
			if a[0] != nil {
				b, err := truth(a[0])
				if err != nil {
					return nil, err
				}
				if b {
					return a[1], nil
				}
			}
			return a[2], nil
		}},
		"is_null":    {1, 1, true, schema.TypeBool, func(a []any) (any, error) { return a[0] == nil, nil }},
		"isnull":     {1, 1, true, schema.TypeBool, func(a []any) (any, error) { return a[0] == nil, nil }},
		"greatest":   {1, -1, false, 0, func(a []any) (any, error) { return extreme(a, 1) }},
		"least":      {1, -1, false, 0, func(a []any) (any, error) { return extreme(a, -1) }},
		"year":       {1, 1, false, schema.TypeInt32, part(func(t time.Time) int { return t.Year() })},
		"month":      {1, 1, false, schema.TypeInt32, part(func(t time.Time) int { return int(t.Month()) })},
		"day":        {1, 1, false, schema.TypeInt32, part(func(t time.Time) int { return t.Day() })},
		"dayofmonth": {1, 1, false, schema.TypeInt32, part(func(t time.Time) int { return t.Day() })},
		// dayofweek: 1 = Sunday ... 7 = Saturday, as MySQL and OpenMLDB.
		"dayofweek":  {1, 1, false, schema.TypeInt32, part(func(t time.Time) int { return int(t.Weekday()) + 1 })},
		"dayofyear":  {1, 1, false, schema.TypeInt32, part(func(t time.Time) int { return t.YearDay() })},
		"weekofyear": {1, 1, false, schema.TypeInt32, part(func(t time.Time) int { _, w := t.ISOWeek(); return w })},
		"hour":       {1, 1, false, schema.TypeInt32, part(func(t time.Time) int { return t.Hour() })},
		"minute":     {1, 1, false, schema.TypeInt32, part(func(t time.Time) int { return t.Minute() })},
		"second":     {1, 1, false, schema.TypeInt32, part(func(t time.Time) int { return t.Second() })},
		"timestamp":  {1, 1, false, schema.TypeTimestamp, func(a []any) (any, error) { return castTo(a[0], schema.TypeTimestamp) }},
		"date":       {1, 1, false, schema.TypeDate, func(a []any) (any, error) { return castTo(a[0], schema.TypeDate) }},
		"unix_timestamp": {1, 1, false, schema.TypeInt64, func(a []any) (any, error) {
			t, err := timeOf(a[0])
			if err != nil {
				return nil, err
			}
			return t.Unix(), nil
		}},
		"date_format": {2, 2, false, schema.TypeString, func(a []any) (any, error) {
			t, err := timeOf(a[0])
			if err != nil {
				return nil, err
			}
			return strftime(t, formatValue(a[1])), nil
		}},
		"string": {1, 1, false, schema.TypeString, func(a []any) (any, error) { return formatValue(a[0]), nil }},
		"int":    {1, 1, false, schema.TypeInt32, func(a []any) (any, error) { return castTo(a[0], schema.TypeInt32) }},
		"bigint": {1, 1, false, schema.TypeInt64, func(a []any) (any, error) { return castTo(a[0], schema.TypeInt64) }},
		"double": {1, 1, false, schema.TypeDouble, func(a []any) (any, error) { return castTo(a[0], schema.TypeDouble) }},
		"float":  {1, 1, false, schema.TypeFloat, func(a []any) (any, error) { return castTo(a[0], schema.TypeFloat) }},
		"bool":   {1, 1, false, schema.TypeBool, func(a []any) (any, error) { return castTo(a[0], schema.TypeBool) }},
	}
}

// FunctionNames lists the scalar functions, sorted (for docs and help).
func FunctionNames() []string {
	var out []string
	for n := range scalarFuncs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func logOrNaN(f func(float64) float64) func(float64) float64 {
	return func(x float64) float64 {
		if x <= 0 {
			return math.NaN()
		}
		return f(x)
	}
}

func floatToInt(v any, err error) (any, error) {
	if f, ok := v.(float64); ok && err == nil {
		return int64(f), nil
	}
	return v, err
}

func substr(intArg func(any) (int64, error)) func([]any) (any, error) {
	return func(a []any) (any, error) {
		r := []rune(formatValue(a[0]))
		pos, err := intArg(a[1])
		if err != nil {
			return nil, err
		}
		// 1-based; negative counts from the end, as MySQL.
		start := int(pos) - 1
		if pos < 0 {
			start = len(r) + int(pos)
		}
		if pos == 0 || start < 0 || start >= len(r) {
			return "", nil
		}
		end := len(r)
		if len(a) == 3 {
			n, err := intArg(a[2])
			if err != nil {
				return nil, err
			}
			if n <= 0 {
				return "", nil
			}
			if start+int(n) < end {
				end = start + int(n)
			}
		}
		return string(r[start:end]), nil
	}
}

func extreme(a []any, sign int) (any, error) {
	best := a[0]
	for _, v := range a[1:] {
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

// strftime supports the MySQL/OpenMLDB specifiers %Y %m %d %H %M %S %F %T %%.
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			b.WriteString(t.Format("2006"))
		case 'm':
			b.WriteString(t.Format("01"))
		case 'd':
			b.WriteString(t.Format("02"))
		case 'H':
			b.WriteString(t.Format("15"))
		case 'M', 'i':
			b.WriteString(t.Format("04"))
		case 'S', 's':
			b.WriteString(t.Format("05"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

func evalCall(c *Call, s *scope) (any, error) {
	if c.Over != "" {
		return evalAggregate(c, s)
	}
	f, ok := scalarFuncs[c.Name]
	if !ok {
		if isAggregate(c.Name) {
			return nil, semanticf("aggregate %s() needs a window (OVER w), which online preview queries do not support yet", c.Name)
		}
		return nil, semanticf("unknown function %s (known: %s)", c.Name, strings.Join(FunctionNames(), ", "))
	}
	if c.Star {
		return nil, semanticf("%s(*) is not valid", c.Name)
	}
	if len(c.Args) < f.minArgs || f.maxArgs >= 0 && len(c.Args) > f.maxArgs {
		return nil, semanticf("function %s takes %s arguments, got %d", c.Name, argRange(f), len(c.Args))
	}
	args := make([]any, len(c.Args))
	for i, a := range c.Args {
		v, err := eval(a, s)
		if err != nil {
			return nil, err
		}
		if v == nil && !f.nullSafe {
			return nil, nil
		}
		args[i] = v
	}
	v, err := f.fn(args)
	if err != nil {
		return nil, semanticf("%s: %v", c.Name, strings.TrimPrefix(err.Error(), ErrSemantic.Error()+": "))
	}
	return v, nil
}

func argRange(f scalarFunc) string {
	switch {
	case f.maxArgs < 0:
		return "at least " + itoa(f.minArgs)
	case f.minArgs == f.maxArgs:
		return itoa(f.minArgs)
	}
	return itoa(f.minArgs) + " to " + itoa(f.maxArgs)
}

func itoa(n int) string { return formatValue(int64(n)) }

func isAggregate(name string) bool {
	_, ok := aggFuncs[name]
	return ok
}

// evalAggregate computes agg(args) OVER w from the scope's window rows.
func evalAggregate(c *Call, s *scope) (any, error) {
	f, ok := aggFuncs[c.Name]
	if !ok {
		return nil, semanticf("%s is not a window aggregate (known: %s)", c.Name, strings.Join(AggregateNames(), ", "))
	}
	if s == nil || s.windows == nil {
		return nil, semanticf("%s() OVER %s is computed for deployments (DEPLOY ... SELECT) and in offline mode, not in online preview queries", c.Name, c.Over)
	}
	rows, ok := s.windows[strings.ToLower(c.Over)]
	if !ok {
		return nil, semanticf("window %s is not defined", c.Over)
	}
	if c.Star {
		if c.Name != "count" {
			return nil, semanticf("%s(*) is not valid; only count(*)", c.Name)
		}
		return int64(len(rows)), nil
	}
	if len(c.Args) < f.minArgs || len(c.Args) > f.maxArgs {
		return nil, semanticf("aggregate %s takes %d to %d arguments, got %d", c.Name, f.minArgs, f.maxArgs, len(c.Args))
	}
	consts := make([]any, len(c.Args))
	// Arguments that are plain columns of the main table are read straight
	// from each window row; others are evaluated with one reused scope.
	colOf := make([]int, len(c.Args))
	for j, a := range c.Args {
		colOf[j] = -1
		if isConst(a) {
			v, err := eval(a, &scope{args: s.args})
			if err != nil {
				return nil, err
			}
			consts[j] = v
			continue
		}
		if ref, ok := a.(*ColumnRef); ok && (ref.Table == "" || strings.EqualFold(ref.Table, s.table.Name) || strings.EqualFold(ref.Table, s.alias)) {
			colOf[j] = s.table.ColumnIndex(ref.Name)
		}
	}
	w := &windowArgs{rows: rows, cols: colOf, consts: consts, vals: make([][]any, len(c.Args))}
	rs := &scope{table: s.table, alias: s.alias, args: s.args}
	for j, a := range c.Args {
		if colOf[j] >= 0 || isConst(a) {
			continue
		}
		vals := make([]any, len(rows))
		for i, r := range rows {
			rs.row = r
			v, err := eval(a, rs)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		w.vals[j] = vals
	}
	v, err := f.fn(w, consts)
	if err != nil {
		return nil, semanticf("%s: %v", c.Name, strings.TrimPrefix(err.Error(), ErrSemantic.Error()+": "))
	}
	return v, nil
}
