package cli

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// PrintTable writes rows as OpenMLDB's ns_client does: a header line, a
// dashed line, one line per row, cells left-aligned and separated by
// spaces, "-" for an empty cell.
func PrintTable(w io.Writer, header []string, rows [][]string) {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for i := range header {
			if i < len(r) {
				if n := utf8.RuneCountInString(cell(r[i])); n > widths[i] {
					widths[i] = n
				}
			}
		}
	}
	line := func(cells []string) string {
		var b strings.Builder
		for i := range header {
			c := "-"
			if i < len(cells) {
				c = cell(cells[i])
			}
			b.WriteString("  ")
			b.WriteString(c)
			if i < len(header)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)))
			}
		}
		return b.String()
	}
	head := line(header)
	fmt.Fprintln(w, head)
	total := 0
	for _, wd := range widths {
		total += wd + 2
	}
	fmt.Fprintln(w, strings.Repeat("-", total))
	for _, r := range rows {
		fmt.Fprintln(w, line(r))
	}
}

func cell(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// Age formats a duration as OpenMLDB prints ages: 42s, 3.500min, 1.250h, 2.000d.
func Age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%.3fmin", d.Minutes())
	case d < 24*time.Hour:
		return fmt.Sprintf("%.3fh", d.Hours())
	default:
		return fmt.Sprintf("%.3fd", d.Hours()/24)
	}
}

// Exec runs one command and reports whether it succeeded.
type Exec func(line string) bool

// RunPrompt reads commands line by line from in, runs each and returns when
// in ends or the user types quit or exit.
func RunPrompt(in io.Reader, out io.Writer, prompt string, exec Exec) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for {
		fmt.Fprint(out, prompt)
		if !sc.Scan() {
			fmt.Fprintln(out)
			return
		}
		line := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(sc.Text()), ";"))
		switch line {
		case "":
			continue
		case "quit", "exit":
			return
		}
		exec(line)
	}
}
