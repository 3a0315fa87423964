package codec

import (
	"errors"
	"reflect"
	"testing"

	"github.com/openmldb-go/openmldb/schema"
)

var testCols = []schema.Column{
	{Name: "b", Type: schema.TypeBool}, {Name: "s16", Type: schema.TypeInt16}, {Name: "i", Type: schema.TypeInt32},
	{Name: "l", Type: schema.TypeInt64}, {Name: "f", Type: schema.TypeFloat}, {Name: "d", Type: schema.TypeDouble},
	{Name: "ts", Type: schema.TypeTimestamp}, {Name: "dt", Type: schema.TypeDate}, {Name: "s", Type: schema.TypeString},
}

func TestRoundTrip(t *testing.T) {
	rows := [][]any{
		{true, int16(-7), int32(1 << 30), int64(-1 << 60), float32(1.5), 2.25, int64(1700000000000), schema.Date{Year: 2024, Month: 2, Day: 29}, "héllo"},
		{nil, nil, nil, nil, nil, nil, nil, nil, nil},
		{false, int16(0), int32(0), int64(0), float32(0), 0.0, int64(0), schema.Date{Year: 1, Month: 1, Day: 1}, ""},
	}
	for _, r := range rows {
		b, err := Encode(testCols, r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(testCols, b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", got, r)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	if _, err := Encode(testCols[:1], []any{int32(1)}); !errors.Is(err, schema.ErrInvalid) {
		t.Fatalf("wrong type: %v", err)
	}
	if _, err := Encode(testCols[:2], []any{true}); !errors.Is(err, schema.ErrInvalid) {
		t.Fatalf("wrong count: %v", err)
	}
	nn := []schema.Column{{Name: "x", Type: schema.TypeInt32, NotNull: true}}
	if _, err := Encode(nn, []any{nil}); !errors.Is(err, schema.ErrInvalid) {
		t.Fatalf("null in not null: %v", err)
	}
	big := make([]byte, schema.MaxRowBytes+1)
	if _, err := Encode([]schema.Column{{Name: "s", Type: schema.TypeString}}, []any{string(big)}); !errors.Is(err, schema.ErrInvalid) {
		t.Fatalf("oversized row: %v", err)
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	good, _ := Encode(testCols, []any{true, int16(1), int32(2), int64(3), float32(4), 5.0, int64(6), schema.Date{Year: 2020, Month: 1, Day: 2}, "abc"})
	for _, b := range [][]byte{nil, {}, {9, 0, 0}, good[:len(good)-1], append(append([]byte{}, good...), 0)} {
		if _, err := Decode(testCols, b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Decode(%v) err = %v, want ErrCorrupt", b, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := Encode(testCols, []any{true, int16(1), int32(2), int64(3), float32(4), 5.0, int64(6), schema.Date{Year: 2020, Month: 1, Day: 2}, "abc"})
	f.Add(good)
	f.Add([]byte{1, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, err := Decode(testCols, b)
		if err != nil {
			return
		}
		// Whatever decodes must encode back to the same bytes.
		again, err := Encode(testCols, vals)
		if err != nil {
			t.Fatalf("decoded row does not re-encode: %v", err)
		}
		// Non-canonical input (a padded varint) may decode; its canonical
		// re-encoding must be a fixed point (byte comparison: NaN != NaN).
		v2, err := Decode(testCols, again)
		if err != nil {
			t.Fatalf("re-encoded row does not decode: %v", err)
		}
		third, err := Encode(testCols, v2)
		if err != nil || string(third) != string(again) {
			t.Fatalf("encoding is not stable: %x vs %x", again, third)
		}
	})
}
