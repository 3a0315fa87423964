package nsclient

import (
	"fmt"
	"testing"
)

func TestParsePidGroup(t *testing.T) {
	for in, want := range map[string]string{"3": "[3]", "1,3,5": "[1 3 5]", "1-5": "[1 2 3 4 5]", "1-3,7,2": "[1 2 3 7]"} {
		got, err := ParsePidGroup(in)
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("%q: %v %v, want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a", "5-1", "1-", "-1", "1,,2"} {
		if _, err := ParsePidGroup(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
