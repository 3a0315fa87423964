package sqlclient

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// historyLimit bounds the lines kept in memory and loaded from the file.
const historyLimit = 1000

// fileHistory is the shell's line history, kept across sessions in a file
// (~/.openmldb_sql_history): lines are appended as they are entered.
type fileHistory struct {
	lines []string // oldest first
	f     *os.File
}

func openHistory() *fileHistory {
	h := &fileHistory{}
	home, err := os.UserHomeDir()
	if err != nil {
		return h
	}
	path := filepath.Join(home, ".openmldb_sql_history")
	if data, err := os.ReadFile(path); err == nil {
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			if l := sc.Text(); l != "" {
				h.lines = append(h.lines, l)
			}
		}
		if len(h.lines) > historyLimit {
			h.lines = h.lines[len(h.lines)-historyLimit:]
		}
	}
	// History is a convenience: a file we cannot write just is not kept.
	h.f, _ = os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	return h
}

func (h *fileHistory) Add(entry string) {
	if strings.TrimSpace(entry) == "" || len(h.lines) > 0 && h.lines[len(h.lines)-1] == entry {
		return
	}
	h.lines = append(h.lines, entry)
	if len(h.lines) > historyLimit {
		h.lines = h.lines[1:]
	}
	if h.f != nil {
		_, _ = h.f.WriteString(entry + "\n")
	}
}

func (h *fileHistory) Len() int { return len(h.lines) }

// At returns the idx-th most recent entry (0 is the newest).
func (h *fileHistory) At(idx int) string { return h.lines[len(h.lines)-1-idx] }

func (h *fileHistory) Close() {
	if h.f != nil {
		_ = h.f.Close()
	}
}
