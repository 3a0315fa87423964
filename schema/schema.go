package schema

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid marks an invalid definition or value; messages say what was wrong.
var ErrInvalid = errors.New("invalid")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Type is a column type. Values are stable: they are stored in etcd and on disk.
type Type uint8

const (
	TypeBool      Type = 1
	TypeInt16     Type = 2
	TypeInt32     Type = 3
	TypeInt64     Type = 4
	TypeFloat     Type = 5
	TypeDouble    Type = 6
	TypeTimestamp Type = 7
	TypeDate      Type = 8
	TypeString    Type = 9
)

var typeNames = map[Type]string{
	TypeBool: "bool", TypeInt16: "smallint", TypeInt32: "int", TypeInt64: "bigint", TypeFloat: "float",
	TypeDouble: "double", TypeTimestamp: "timestamp", TypeDate: "date", TypeString: "string",
}

var typeAliases = map[string]Type{
	"bool": TypeBool, "boolean": TypeBool,
	"int16": TypeInt16, "smallint": TypeInt16,
	"int32": TypeInt32, "int": TypeInt32, "integer": TypeInt32,
	"int64": TypeInt64, "bigint": TypeInt64,
	"float": TypeFloat, "float32": TypeFloat,
	"double": TypeDouble, "float64": TypeDouble,
	"timestamp": TypeTimestamp, "date": TypeDate,
	"string": TypeString, "varchar": TypeString,
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Valid reports whether t is a known type.
func (t Type) Valid() bool { _, ok := typeNames[t]; return ok }

// ParseType accepts OpenMLDB's type names and their aliases, any case.
func ParseType(s string) (Type, error) {
	if t, ok := typeAliases[strings.ToLower(strings.TrimSpace(s))]; ok {
		return t, nil
	}
	return 0, invalidf("unknown column type %q (want bool, smallint, int, bigint, float, double, timestamp, date, string)", s)
}

// Column is one column of a table.
type Column struct {
	Name    string `json:"name"`
	Type    Type   `json:"type"`
	NotNull bool   `json:"not_null,omitempty"`
	// Default is used by INSERTs that omit the column: nil (none), bool,
	// a number, or a string (dates as yyyy-mm-dd); see Normalize.
	Default any `json:"default,omitempty"`
}

// TTLType names as OpenMLDB's.
type TTLType string

const (
	TTLAbsolute  TTLType = "absolute"
	TTLLatest    TTLType = "latest"
	TTLAbsOrLat  TTLType = "absorlat"
	TTLAbsAndLat TTLType = "absandlat"
)

// Index is one index: rows are grouped by the key columns and ordered by
// the TS column, newest first.
type Index struct {
	Name    string   `json:"name"`
	Keys    []string `json:"keys"`
	TS      string   `json:"ts,omitempty"` // empty: insertion time order
	TTLType TTLType  `json:"ttl_type"`
	// AbsTTL: rows older than now-AbsTTL expire (0: never).
	AbsTTL time.Duration `json:"abs_ttl,omitempty"`
	// LatTTL: keep only the newest LatTTL rows per key (0: all).
	LatTTL uint64 `json:"lat_ttl,omitempty"`
}

// ParseTTL parses OpenMLDB's TTL text for a TTL type: absolute "30d",
// "12h", "10m", "0"; latest "100"; absorlat/absandlat "(30d,100)".
func ParseTTL(typ string, text string) (TTLType, time.Duration, uint64, error) {
	tt := TTLType(strings.ToLower(strings.TrimSpace(typ)))
	if tt == "" {
		tt = TTLAbsolute
	}
	text = strings.TrimSpace(text)
	switch tt {
	case TTLAbsolute:
		if text == "" {
			return tt, 0, 0, nil
		}
		d, err := parseAbsTTL(text)
		return tt, d, 0, err
	case TTLLatest:
		if text == "" {
			return tt, 0, 0, nil
		}
		n, err := strconv.ParseUint(text, 10, 64)
		if err != nil {
			return tt, 0, 0, invalidf("latest TTL %q: want a row count like 100", text)
		}
		return tt, 0, n, nil
	case TTLAbsOrLat, TTLAbsAndLat:
		inner := strings.TrimSuffix(strings.TrimPrefix(text, "("), ")")
		a, l, ok := strings.Cut(inner, ",")
		if !ok || !strings.HasPrefix(text, "(") || !strings.HasSuffix(text, ")") {
			return tt, 0, 0, invalidf("%s TTL %q: want (absolute,latest) like (30d,100)", tt, text)
		}
		d, err := parseAbsTTL(strings.TrimSpace(a))
		if err != nil {
			return tt, 0, 0, err
		}
		n, err := strconv.ParseUint(strings.TrimSpace(l), 10, 64)
		if err != nil {
			return tt, 0, 0, invalidf("%s TTL %q: latest part must be a row count", tt, text)
		}
		return tt, d, n, nil
	}
	return "", 0, 0, invalidf("unknown TTL_TYPE %q (want absolute, latest, absorlat or absandlat)", typ)
}

func parseAbsTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, invalidf("empty absolute TTL")
	}
	unit := time.Minute // OpenMLDB: a bare number of an absolute TTL is minutes
	num := s
	switch s[len(s)-1] {
	case 'd', 'D':
		unit, num = 24*time.Hour, s[:len(s)-1]
	case 'h', 'H':
		unit, num = time.Hour, s[:len(s)-1]
	case 'm', 'M':
		unit, num = time.Minute, s[:len(s)-1]
	case 's', 'S':
		unit, num = time.Second, s[:len(s)-1]
	}
	n, err := strconv.ParseUint(num, 10, 32)
	if err != nil {
		return 0, invalidf("absolute TTL %q: want a number with d, h, m or s, like 30d", s)
	}
	return time.Duration(n) * unit, nil
}

// TTLString renders the TTL as OpenMLDB prints it.
func (ix Index) TTLString() string {
	abs := "0m"
	if ix.AbsTTL > 0 {
		abs = fmt.Sprintf("%dm", int64(ix.AbsTTL/time.Minute))
		if ix.AbsTTL%time.Minute != 0 {
			abs = fmt.Sprintf("%ds", int64(ix.AbsTTL/time.Second))
		}
	}
	switch ix.TTLType {
	case TTLLatest:
		return strconv.FormatUint(ix.LatTTL, 10)
	case TTLAbsOrLat, TTLAbsAndLat:
		return fmt.Sprintf("%s&&%d", abs, ix.LatTTL)
	}
	return abs
}

// Table is a table definition.
type Table struct {
	DB           string   `json:"db"`
	Name         string   `json:"name"`
	Columns      []Column `json:"columns"`
	Indexes      []Index  `json:"indexes"`
	PartitionNum int      `json:"partition_num"`
	ReplicaNum   int      `json:"replica_num"`
}

// Limits.
const (
	MaxColumns    = 1024
	MaxPartitions = 1024
	MaxReplicas   = 9
	// MaxRowBytes bounds one encoded row.
	MaxRowBytes = 1 << 20
)

// ValidName checks database, table, column and index names.
func ValidName(kind, s string) error {
	if s == "" {
		return invalidf("empty %s name", kind)
	}
	if len(s) > 128 {
		return invalidf("%s name %q longer than 128 bytes", kind, s)
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || (i > 0 && r >= '0' && r <= '9')) {
			return invalidf("%s name %q: use letters, digits and _, not starting with a digit", kind, s)
		}
	}
	return nil
}

// ColumnIndex returns the position of a column, or -1.
func (t *Table) ColumnIndex(name string) int {
	for i, c := range t.Columns {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// Validate checks the definition and fills defaults (index names, TTL type).
func (t *Table) Validate() error {
	if err := ValidName("database", t.DB); err != nil {
		return err
	}
	if err := ValidName("table", t.Name); err != nil {
		return err
	}
	if len(t.Columns) == 0 {
		return invalidf("table %s has no columns", t.Name)
	}
	if len(t.Columns) > MaxColumns {
		return invalidf("table %s has %d columns, at most %d", t.Name, len(t.Columns), MaxColumns)
	}
	seen := map[string]bool{}
	for _, c := range t.Columns {
		if err := ValidName("column", c.Name); err != nil {
			return err
		}
		if !c.Type.Valid() {
			return invalidf("column %s: unknown type %d", c.Name, c.Type)
		}
		if seen[strings.ToLower(c.Name)] {
			return invalidf("column %s appears twice", c.Name)
		}
		seen[strings.ToLower(c.Name)] = true
	}
	if len(t.Indexes) == 0 {
		return invalidf("table %s needs at least one index (INDEX(KEY=col, ...))", t.Name)
	}
	names := map[string]bool{}
	for i := range t.Indexes {
		ix := &t.Indexes[i]
		if len(ix.Keys) == 0 {
			return invalidf("index %d has no KEY column", i+1)
		}
		for _, k := range ix.Keys {
			ci := t.ColumnIndex(k)
			if ci < 0 {
				return invalidf("index KEY column %s is not a column of %s", k, t.Name)
			}
			switch t.Columns[ci].Type {
			case TypeFloat, TypeDouble:
				return invalidf("index KEY column %s: float/double columns cannot be keys", k)
			}
		}
		if ix.TS != "" {
			ci := t.ColumnIndex(ix.TS)
			if ci < 0 {
				return invalidf("index TS column %s is not a column of %s", ix.TS, t.Name)
			}
			if ty := t.Columns[ci].Type; ty != TypeTimestamp && ty != TypeInt64 {
				return invalidf("index TS column %s must be timestamp or bigint, not %s", ix.TS, ty)
			}
		}
		if ix.TTLType == "" {
			ix.TTLType = TTLAbsolute
		}
		switch ix.TTLType {
		case TTLAbsolute, TTLLatest, TTLAbsOrLat, TTLAbsAndLat:
		default:
			return invalidf("unknown TTL_TYPE %q", ix.TTLType)
		}
		if ix.Name == "" {
			ix.Name = fmt.Sprintf("INDEX_%d", i)
		}
		if names[ix.Name] {
			return invalidf("index name %s appears twice", ix.Name)
		}
		names[ix.Name] = true
	}
	if t.PartitionNum < 1 || t.PartitionNum > MaxPartitions {
		return invalidf("partitionnum %d: want 1..%d", t.PartitionNum, MaxPartitions)
	}
	if t.ReplicaNum < 1 || t.ReplicaNum > MaxReplicas {
		return invalidf("replicanum %d: want 1..%d", t.ReplicaNum, MaxReplicas)
	}
	return nil
}

// Date is a calendar date without time zone.
type Date struct{ Year, Month, Day int }

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// ParseDate parses yyyy-mm-dd.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return Date{}, invalidf("date %q: want yyyy-mm-dd", s)
	}
	return Date{t.Year(), int(t.Month()), t.Day()}, nil
}

// Normalize converts a Go value to the canonical type of a column: bool,
// int16, int32, int64 (bigint and timestamp in ms), float32, float64,
// Date, string; nil for NULL. It accepts the loose types JSON and users
// produce (any integer or float kind where no precision is lost, strings
// for dates, time.Time for timestamps).
func Normalize(c Column, v any) (any, error) {
	if v == nil {
		if c.NotNull {
			return nil, invalidf("column %s is NOT NULL", c.Name)
		}
		return nil, nil
	}
	bad := func() error { return invalidf("column %s (%s): cannot take %T value %v", c.Name, c.Type, v, v) }
	switch c.Type {
	case TypeBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, bad()
	case TypeInt16, TypeInt32, TypeInt64, TypeTimestamp:
		var n int64
		switch x := v.(type) {
		case time.Time:
			if c.Type != TypeTimestamp {
				return nil, bad()
			}
			n = x.UnixMilli()
		default:
			var ok bool
			if n, ok = toInt64(v); !ok {
				return nil, bad()
			}
		}
		switch c.Type {
		case TypeInt16:
			if n < math.MinInt16 || n > math.MaxInt16 {
				return nil, invalidf("column %s (smallint): %d out of range", c.Name, n)
			}
			return int16(n), nil
		case TypeInt32:
			if n < math.MinInt32 || n > math.MaxInt32 {
				return nil, invalidf("column %s (int): %d out of range", c.Name, n)
			}
			return int32(n), nil
		}
		return n, nil
	case TypeFloat, TypeDouble:
		var f float64
		switch x := v.(type) {
		case float32:
			f = float64(x)
		case float64:
			f = x
		default:
			n, ok := toInt64(v)
			if !ok {
				return nil, bad()
			}
			f = float64(n)
		}
		if c.Type == TypeFloat {
			return float32(f), nil
		}
		return f, nil
	case TypeDate:
		switch x := v.(type) {
		case Date:
			return x, nil
		case string:
			return ParseDate(x)
		case time.Time:
			return Date{x.Year(), int(x.Month()), x.Day()}, nil
		}
		return nil, bad()
	case TypeString:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, bad()
	}
	return nil, bad()
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case float64: // JSON numbers
		if x != math.Trunc(x) || x > math.MaxInt64 || x < math.MinInt64 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}
