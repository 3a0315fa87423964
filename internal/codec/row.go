package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/openmldb-go/openmldb/schema"
)

// RowFormatV1 is the first byte of every row written by this code.
const RowFormatV1 = 1

// ErrCorrupt marks bytes that are not a valid row for the schema.
var ErrCorrupt = errors.New("corrupt row")

// Encode writes values (already Normalize-d, one per column) as a row:
// version byte, null bitmap, then each non-null value (fixed width
// little-endian, strings as uvarint length + bytes).
func Encode(cols []schema.Column, values []any) ([]byte, error) {
	if len(values) != len(cols) {
		return nil, fmt.Errorf("%w: %d values for %d columns", schema.ErrInvalid, len(values), len(cols))
	}
	size := 1 + (len(cols)+7)/8
	for i, c := range cols {
		if values[i] == nil {
			continue
		}
		size += fixedWidth(c.Type)
		if c.Type == schema.TypeString {
			s, _ := values[i].(string)
			size += binary.MaxVarintLen32 + len(s)
		}
	}
	buf := make([]byte, 1+(len(cols)+7)/8, size)
	buf[0] = RowFormatV1
	for i, c := range cols {
		v := values[i]
		if v == nil {
			if c.NotNull {
				return nil, fmt.Errorf("%w: column %s is NOT NULL", schema.ErrInvalid, c.Name)
			}
			buf[1+i/8] |= 1 << (i % 8)
			continue
		}
		var ok bool
		switch c.Type {
		case schema.TypeBool:
			var b bool
			if b, ok = v.(bool); ok {
				if b {
					buf = append(buf, 1)
				} else {
					buf = append(buf, 0)
				}
			}
		case schema.TypeInt16:
			var n int16
			if n, ok = v.(int16); ok {
				buf = binary.LittleEndian.AppendUint16(buf, uint16(n))
			}
		case schema.TypeInt32:
			var n int32
			if n, ok = v.(int32); ok {
				buf = binary.LittleEndian.AppendUint32(buf, uint32(n))
			}
		case schema.TypeInt64, schema.TypeTimestamp:
			var n int64
			if n, ok = v.(int64); ok {
				buf = binary.LittleEndian.AppendUint64(buf, uint64(n))
			}
		case schema.TypeFloat:
			var f float32
			if f, ok = v.(float32); ok {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(f))
			}
		case schema.TypeDouble:
			var f float64
			if f, ok = v.(float64); ok {
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(f))
			}
		case schema.TypeDate:
			var d schema.Date
			if d, ok = v.(schema.Date); ok {
				buf = binary.LittleEndian.AppendUint32(buf, uint32(d.Year)<<16|uint32(d.Month)<<8|uint32(d.Day))
			}
		case schema.TypeString:
			var s string
			if s, ok = v.(string); ok {
				buf = binary.AppendUvarint(buf, uint64(len(s)))
				buf = append(buf, s...)
			}
		}
		if !ok {
			return nil, fmt.Errorf("%w: column %s (%s) got %T", schema.ErrInvalid, c.Name, c.Type, v)
		}
	}
	if len(buf) > schema.MaxRowBytes {
		return nil, fmt.Errorf("%w: row is %d bytes, the limit is %d", schema.ErrInvalid, len(buf), schema.MaxRowBytes)
	}
	return buf, nil
}

func fixedWidth(t schema.Type) int {
	switch t {
	case schema.TypeBool:
		return 1
	case schema.TypeInt16:
		return 2
	case schema.TypeInt32, schema.TypeFloat, schema.TypeDate:
		return 4
	case schema.TypeInt64, schema.TypeTimestamp, schema.TypeDouble:
		return 8
	}
	return 0
}

// Decode reads a row written by Encode.
func Decode(cols []schema.Column, row []byte) ([]any, error) {
	out := make([]any, len(cols))
	err := walk(cols, row, func(i int, c schema.Column, field []byte) {
		out[i] = decodeField(c.Type, field)
	})
	return out, err
}

// DecodeNeeded decodes into out (len(cols)) only the columns with need[i]
// set, leaving the others nil: window scans read a few columns of many rows.
func DecodeNeeded(cols []schema.Column, row []byte, need []bool, out []any) error {
	return walk(cols, row, func(i int, c schema.Column, field []byte) {
		if need[i] {
			out[i] = decodeField(c.Type, field)
		}
	})
}

// DecodeColumns decodes only the columns whose positions are listed.
func DecodeColumns(cols []schema.Column, row []byte, want []int) ([]any, error) {
	all, err := Decode(cols, row)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(want))
	for i, w := range want {
		out[i] = all[w]
	}
	return out, nil
}

// walk validates the row and calls fn with each non-null field's bytes.
func walk(cols []schema.Column, row []byte, fn func(int, schema.Column, []byte)) error {
	nb := (len(cols) + 7) / 8
	if len(row) < 1+nb {
		return fmt.Errorf("%w: %d bytes is shorter than the header", ErrCorrupt, len(row))
	}
	if row[0] != RowFormatV1 {
		return fmt.Errorf("%w: unknown row format %d", ErrCorrupt, row[0])
	}
	bitmap := row[1 : 1+nb]
	p := 1 + nb
	for i, c := range cols {
		if bitmap[i/8]&(1<<(i%8)) != 0 {
			continue
		}
		var n int
		if c.Type == schema.TypeString {
			l, w := binary.Uvarint(row[p:])
			if w <= 0 || l > uint64(len(row)-p-w) {
				return fmt.Errorf("%w: column %s: bad string length", ErrCorrupt, c.Name)
			}
			p += w
			n = int(l)
		} else {
			n = fixedWidth(c.Type)
			if n == 0 {
				return fmt.Errorf("%w: column %s has unknown type %d", ErrCorrupt, c.Name, c.Type)
			}
			if len(row)-p < n {
				return fmt.Errorf("%w: column %s: truncated", ErrCorrupt, c.Name)
			}
		}
		fn(i, c, row[p:p+n])
		p += n
	}
	if p != len(row) {
		return fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(row)-p)
	}
	return nil
}

func decodeField(t schema.Type, b []byte) any {
	switch t {
	case schema.TypeBool:
		return b[0] != 0
	case schema.TypeInt16:
		return int16(binary.LittleEndian.Uint16(b))
	case schema.TypeInt32:
		return int32(binary.LittleEndian.Uint32(b))
	case schema.TypeInt64, schema.TypeTimestamp:
		return int64(binary.LittleEndian.Uint64(b))
	case schema.TypeFloat:
		return math.Float32frombits(binary.LittleEndian.Uint32(b))
	case schema.TypeDouble:
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	case schema.TypeDate:
		v := binary.LittleEndian.Uint32(b)
		return schema.Date{Year: int(v >> 16), Month: int(v >> 8 & 0xff), Day: int(v & 0xff)}
	case schema.TypeString:
		return string(b)
	}
	return nil
}

// OpenMLDB's spellings of a NULL and an empty key part.
const (
	NullKey  = "!N@U#L!"
	EmptyKey = "!@#$%"
)

// KeyText is the text form of one value inside an index key.
func KeyText(v any) string {
	switch x := v.(type) {
	case nil:
		return NullKey
	case string:
		if x == "" {
			return EmptyKey
		}
		return x
	case bool:
		return strconv.FormatBool(x)
	case int16:
		return strconv.FormatInt(int64(x), 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case schema.Date:
		return x.String()
	}
	return fmt.Sprint(v)
}

// JoinKey combines the key parts of a multi-column index with "|", as OpenMLDB does.
func JoinKey(parts []string) string { return strings.Join(parts, "|") }
