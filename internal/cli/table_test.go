package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPrintTable(t *testing.T) {
	var b bytes.Buffer
	PrintTable(&b, []string{"endpoint", "role"}, [][]string{{"127.0.0.1:7527", "leader"}, {"x", ""}})
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	want := []string{
		"  endpoint        role",
		"------------------------",
		"  127.0.0.1:7527  leader",
		"  x               -",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), strings.Join(want, "\n"))
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:     "0s",
		42 * time.Second: "42s",
		90 * time.Second: "1.500min",
		90 * time.Minute: "1.500h",
		36 * time.Hour:   "1.500d",
	} {
		if got := Age(d); got != want {
			t.Errorf("Age(%s) = %s, want %s", d, got, want)
		}
	}
}

func TestRunPrompt(t *testing.T) {
	var got []string
	var out bytes.Buffer
	RunPrompt(strings.NewReader("showns;\n\n  showtablet \nquit\nnever\n"), &out, "> ", func(l string) bool {
		got = append(got, l)
		return true
	})
	if strings.Join(got, "|") != "showns|showtablet" {
		t.Fatalf("commands %q", got)
	}
}
