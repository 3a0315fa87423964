package sql

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// WriteResult prints a result as OpenMLDB's sql_client does: a bordered,
// aligned table and "N rows in set" for queries, "SUCCEED" otherwise.
func WriteResult(w io.Writer, r *Result) {
	if !r.IsQuery {
		fmt.Fprintln(w, "SUCCEED")
		return
	}
	writeTable(w, r)
	for _, m := range r.More {
		writeTable(w, m)
	}
	if len(r.More) > 0 {
		return
	}
	if len(r.Rows) == 0 {
		fmt.Fprintln(w, "\nEmpty set")
		return
	}
	fmt.Fprintf(w, "\n%d rows in set\n", len(r.Rows))
}

func writeTable(w io.Writer, r *Result) {
	cells := make([][][]string, len(r.Rows)) // row -> column -> lines
	widths := make([]int, len(r.Columns))
	for i, c := range r.Columns {
		widths[i] = utf8.RuneCountInString(c.Name)
	}
	for ri, row := range r.Rows {
		cells[ri] = make([][]string, len(r.Columns))
		for ci := range r.Columns {
			var v any
			if ci < len(row) {
				v = row[ci]
			}
			lines := strings.Split(formatValue(v), "\n")
			cells[ri][ci] = lines
			for _, l := range lines {
				if n := utf8.RuneCountInString(l); n > widths[ci] {
					widths[ci] = n
				}
			}
		}
	}
	border := func() {
		var b strings.Builder
		for _, wd := range widths {
			b.WriteByte(' ')
			b.WriteString(strings.Repeat("-", wd+2))
		}
		fmt.Fprintln(w, b.String())
	}
	line := func(vals []string) {
		var b strings.Builder
		for i, wd := range widths {
			b.WriteString("  ")
			b.WriteString(vals[i])
			b.WriteString(strings.Repeat(" ", wd-utf8.RuneCountInString(vals[i])+1))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	border()
	head := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		head[i] = c.Name
	}
	line(head)
	border()
	for _, row := range cells {
		height := 1
		for _, c := range row {
			if len(c) > height {
				height = len(c)
			}
		}
		for h := 0; h < height; h++ {
			vals := make([]string, len(row))
			for ci, c := range row {
				if h < len(c) {
					vals[ci] = c[h]
				}
			}
			line(vals)
		}
	}
	border()
}
