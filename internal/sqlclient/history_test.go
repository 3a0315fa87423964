package sqlclient

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHistoryPersists(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	h := openHistory()
	h.Add("SELECT 1;")
	h.Add("SELECT 1;") // repeated: kept once
	h.Add("SHOW TABLES;")
	h.Close()
	h2 := openHistory()
	defer h2.Close()
	if h2.Len() != 2 || h2.At(0) != "SHOW TABLES;" || h2.At(1) != "SELECT 1;" {
		t.Fatalf("history after reopening: %v", h2.lines)
	}
	data, _ := os.ReadFile(filepath.Join(os.Getenv("HOME"), ".openmldb_sql_history"))
	if string(data) != "SELECT 1;\nSHOW TABLES;\n" {
		t.Fatalf("history file: %q", data)
	}
}
