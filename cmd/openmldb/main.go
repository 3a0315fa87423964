// Command openmldb is the single binary of openmldb-go; --role picks the
// component. main only dispatches: each role lives in its own package.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/openmldb-go/openmldb/internal/apiserver"
	"github.com/openmldb-go/openmldb/internal/buildinfo"
	"github.com/openmldb-go/openmldb/internal/config"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/internal/mon"
	"github.com/openmldb-go/openmldb/internal/nameserver"
	"github.com/openmldb-go/openmldb/internal/nsclient"
	"github.com/openmldb-go/openmldb/internal/ops"
	"github.com/openmldb-go/openmldb/internal/server"
	"github.com/openmldb-go/openmldb/internal/sqlclient"
	"github.com/openmldb-go/openmldb/internal/tablet"
	"github.com/openmldb-go/openmldb/internal/tabletclient"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := config.Parse(args)
	if errors.Is(err, config.ErrHelp) {
		fmt.Print(config.Help())
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "openmldb:", err)
		return 2
	}
	if cfg.Version {
		fmt.Println(buildinfo.String())
		return 0
	}
	log, closeLog, err := server.NewLogger(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "openmldb:", err)
		return 1
	}
	defer closeLog()
	ctx, cancel := server.SignalContext(context.Background(), log)
	defer cancel()

	switch cfg.Role {
	case "coord":
		err = coord.RunServer(ctx, cfg, log)
	case "nameserver":
		err = nameserver.Run(ctx, cfg, log)
	case "tablet":
		err = tablet.Run(ctx, cfg, log)
	case "mon":
		err = mon.Run(ctx, cfg, log)
	case "ns_client":
		err = nsclient.Run(ctx, cfg, os.Stdin, os.Stdout)
		if errors.Is(err, nsclient.ErrCommandFailed) {
			return 1
		}
	case "client":
		err = tabletclient.Run(ctx, cfg, os.Stdin, os.Stdout)
		if errors.Is(err, tabletclient.ErrCommandFailed) {
			return 1
		}
	case "ops":
		err = ops.Run(ctx, cfg, os.Stdout)
	case "sql_client":
		err = sqlclient.Run(ctx, cfg, os.Stdin, os.Stdout)
		if errors.Is(err, sqlclient.ErrStatementFailed) {
			return 1
		}
	case "apiserver":
		err = apiserver.Run(ctx, cfg, log)
	}
	if err != nil {
		if cfg.LogDir != "" {
			log.Error("exiting", "err", err)
		}
		fmt.Fprintln(os.Stderr, "openmldb:", err)
		if errors.Is(err, config.ErrUsage) {
			return 2
		}
		return 1
	}
	return 0
}
