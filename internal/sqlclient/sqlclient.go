package sqlclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/internal/config"
	"github.com/openmldb-go/openmldb/internal/sql"
)

// ErrStatementFailed makes main exit 1 after the shell printed why.
var ErrStatementFailed = errors.New("statement failed")

// Run is the sql_client role.
func Run(ctx context.Context, cfg *config.Config, in io.Reader, out io.Writer) error {
	oneShot := cfg.Cmd != "" || !cfg.Interactive
	if oneShot && strings.TrimSpace(cfg.Cmd) == "" {
		return config.Usagef("--interactive=false needs --cmd=\"<statements>;\"")
	}
	sdk, err := client.Connect(ctx, client.Options{ZkCluster: cfg.ZkCluster, ZkRootPath: cfg.ZkRootPath})
	if err != nil {
		return fmt.Errorf("connecting to %s%s: %w", strings.Join(cfg.ZkCluster, ","), cfg.ZkRootPath, err)
	}
	defer sdk.Close()
	sh := &Shell{Engine: sql.NewEngine(sdk, cfg.ZkRootPath), Out: out}
	sh.Session = sh.Engine.NewSession(ctx, cfg.Database)
	if cfg.Database != "" {
		if _, err := sh.Engine.Exec(ctx, sh.Session, &sql.Use{Name: cfg.Database}, nil); err != nil {
			return fmt.Errorf("--database=%s: %w", cfg.Database, err)
		}
	}
	if oneShot {
		if !sh.RunScript(ctx, cfg.Cmd) {
			return ErrStatementFailed
		}
		return nil
	}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return sh.interactive(ctx, f, out)
	}
	return sh.readLoop(ctx, bufio.NewReader(in), false)
}

// Shell runs statements and prints their results.
type Shell struct {
	Engine  *sql.Engine
	Session *sql.Session
	Out     io.Writer
	// Timing prints how long each statement took.
	Timing bool
}

// RunScript runs every statement of src; it stops at and reports the first failure.
func (sh *Shell) RunScript(ctx context.Context, src string) bool {
	stmts, _ := sql.SplitStatements(src)
	if len(stmts) == 0 {
		fmt.Fprintln(sh.Out, "Error: empty statement")
		return false
	}
	for _, s := range stmts {
		if !sh.runOne(ctx, s) {
			return false
		}
	}
	return true
}

func (sh *Shell) runOne(ctx context.Context, text string) bool {
	start := time.Now()
	st, err := sql.Parse(text)
	if err == nil {
		var r *sql.Result
		r, err = sh.Engine.Exec(ctx, sh.Session, st, nil)
		if err == nil {
			sql.WriteResult(sh.Out, r)
		}
	}
	if err != nil {
		fmt.Fprintf(sh.Out, "Error: %v\n", err)
		return false
	}
	if sh.Timing {
		fmt.Fprintf(sh.Out, "\nTime: %.3f s\n", time.Since(start).Seconds())
	}
	return true
}

func (sh *Shell) prompt(continued bool) string {
	if continued {
		return "    -> "
	}
	if sh.Session.DB != "" {
		return sh.Session.DB + "> "
	}
	return "> "
}

// readLoop reads statements from piped input; it keeps going after errors,
// as a shell does, and reports at the end whether any failed.
func (sh *Shell) readLoop(ctx context.Context, r *bufio.Reader, echo bool) error {
	var buf strings.Builder
	failed := false
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			if t := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line), ";")); buf.Len() == 0 && (strings.EqualFold(t, "quit") || strings.EqualFold(t, "exit")) {
				break
			}
			buf.WriteString(line)
			stmts, complete := sql.SplitStatements(buf.String())
			if complete {
				for _, s := range stmts {
					if !sh.runOne(ctx, s) {
						failed = true
					}
				}
				buf.Reset()
			}
		}
		if err != nil {
			break
		}
	}
	if rest := strings.TrimSpace(buf.String()); rest != "" {
		fmt.Fprintf(sh.Out, "Error: statement not terminated with ';': %s\n", rest)
		failed = true
	}
	if failed {
		return ErrStatementFailed
	}
	return nil
}

func (sh *Shell) interactive(ctx context.Context, f *os.File, out io.Writer) error {
	old, err := term.MakeRaw(int(f.Fd()))
	if err != nil {
		return sh.readLoop(ctx, bufio.NewReader(f), false)
	}
	defer term.Restore(int(f.Fd()), old)
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{f, out}, sh.prompt(false))
	hist := openHistory()
	defer hist.Close()
	t.History = hist
	sh.Out = t
	sh.Timing = true
	fmt.Fprintln(t, "Welcome to openmldb-go. Statements end with ';'. Type quit; to leave.")
	var buf strings.Builder
	for {
		t.SetPrompt(sh.prompt(buf.Len() > 0))
		line, err := t.ReadLine()
		if err != nil { // io.EOF on Ctrl-D
			fmt.Fprintln(t)
			return nil
		}
		if trimmed := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line), ";")); buf.Len() == 0 && (strings.EqualFold(trimmed, "quit") || strings.EqualFold(trimmed, "exit")) {
			return nil
		}
		buf.WriteString(line)
		buf.WriteString("\n")
		stmts, complete := sql.SplitStatements(buf.String())
		if !complete {
			continue
		}
		for _, s := range stmts {
			sh.runOne(ctx, s)
		}
		buf.Reset()
	}
}
