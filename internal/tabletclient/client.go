// Package tabletclient owns --role=client: commands sent to one tablet
// (--endpoint), as OpenMLDB's tablet client does. Now: gettablestatus.
package tabletclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/api/gen/openmldb/v1/openmldbv1connect"
	"github.com/openmldb-go/openmldb/internal/cli"
	"github.com/openmldb-go/openmldb/internal/config"
)

// ErrCommandFailed makes main exit 1 after the reason was printed.
var ErrCommandFailed = errors.New("command failed")

// Run executes --cmd against the tablet at --endpoint.
func Run(ctx context.Context, cfg *config.Config, in io.Reader, out io.Writer) error {
	if !cfg.IsSet("endpoint") {
		return config.Usagef("--role=client needs --endpoint=<tablet host:port>")
	}
	tc := openmldbv1connect.NewTabletClient(&http.Client{Timeout: 10 * time.Second}, "http://"+cfg.Endpoint)
	exec := func(line string) bool {
		if err := execOne(ctx, tc, line, out); err != nil {
			name := strings.Fields(line + " x")[0]
			fmt.Fprintf(out, "Fail to %s. error msg: %v\n", name, err)
			return false
		}
		return true
	}
	if cfg.Cmd != "" || !cfg.Interactive {
		if strings.TrimSpace(cfg.Cmd) == "" {
			return config.Usagef("--interactive=false needs --cmd=\"<command>\"")
		}
		if !exec(cfg.Cmd) {
			return ErrCommandFailed
		}
		return nil
	}
	cli.RunPrompt(in, out, cfg.Endpoint+"> ", exec)
	return nil
}

func execOne(ctx context.Context, tc openmldbv1connect.TabletClient, line string, out io.Writer) error {
	f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), ";"))
	if len(f) == 0 {
		return nil
	}
	switch f[0] {
	case "gettablestatus":
		req := &openmldbv1.GetTableStatusRequest{}
		if len(f) == 3 {
			tid, err1 := strconv.ParseUint(f[1], 10, 32)
			pid, err2 := strconv.ParseUint(f[2], 10, 32)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("usage: gettablestatus [tid pid]")
			}
			req.Tid, req.Pid = uint32(tid), uint32(pid)
		} else if len(f) != 1 {
			return fmt.Errorf("usage: gettablestatus [tid pid]")
		}
		resp, err := tc.GetTableStatus(ctx, connect.NewRequest(req))
		if err != nil {
			var ce *connect.Error
			if errors.As(err, &ce) {
				return errors.New(ce.Message())
			}
			return err
		}
		ps := resp.Msg.Partitions
		sort.Slice(ps, func(i, j int) bool { return ps[i].Tid < ps[j].Tid || ps[i].Tid == ps[j].Tid && ps[i].Pid < ps[j].Pid })
		if req.Tid != 0 && len(ps) == 0 {
			return fmt.Errorf("tid %d pid %d is not on this tablet", req.Tid, req.Pid)
		}
		var rows [][]string
		for _, p := range ps {
			rows = append(rows, []string{strconv.Itoa(int(p.Tid)), strconv.Itoa(int(p.Pid)), strconv.FormatUint(p.Offset, 10), p.Mode, p.State,
				strconv.FormatBool(p.EnableExpire), p.Ttl, "0", strconv.FormatUint(p.Memused, 10), "kNoCompress", "-", strconv.FormatUint(p.RecordCnt, 10)})
		}
		cli.PrintTable(out, []string{"tid", "pid", "offset", "mode", "state", "enable_expire", "ttl", "ttl_offset", "memused", "compress_type", "skiplist_height", "record_cnt"}, rows)
		return nil
	}
	return fmt.Errorf("unsupported command %q; commands: gettablestatus [tid pid]", f[0])
}
