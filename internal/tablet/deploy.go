package tablet

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/internal/codec"
	"github.com/openmldb-go/openmldb/internal/sql"
	"github.com/openmldb-go/openmldb/internal/storage"
	"github.com/openmldb-go/openmldb/schema"
)

// deployState runs deployments on this tablet: request rows arrive at the
// leader of their partition, whose windows are read from local memory;
// reads of other partitions and tables go through an SDK client made on
// first use.
type deployState struct {
	mu     sync.Mutex
	sdk    *client.Client
	runner *sql.DeploymentRunner
}

func (d *data) deploymentRunner(ctx context.Context) (*sql.DeploymentRunner, error) {
	st := &d.deploy
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.runner != nil {
		return st.runner, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sdk, err := client.Connect(cctx, client.Options{ZkCluster: d.s.cfg.ZkCluster, ZkRootPath: d.s.cfg.ZkRootPath})
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("connecting for deployments: %w", err))
	}
	st.sdk = sdk
	st.runner = &sql.DeploymentRunner{Etcd: sdk.Etcd(), Keys: d.s.keys, Src: localSource{d: d, sdk: sdk}}
	return st.runner, nil
}

func (d *data) closeDeployments() {
	d.deploy.mu.Lock()
	defer d.deploy.mu.Unlock()
	if d.deploy.sdk != nil {
		d.deploy.sdk.Close()
		d.deploy.sdk, d.deploy.runner = nil, nil
	}
}

// localSource reads a key from this tablet's own replica when it leads the
// key's partition, else through the SDK.
type localSource struct {
	d   *data
	sdk *client.Client
}

func (s localSource) Table(db, name string) (schema.Table, error) { return s.sdk.Table(db, name) }

// Refresh re-reads the SDK's table definitions from etcd (sql.MetadataRefresher).
func (s localSource) Refresh(ctx context.Context) error { return s.sdk.Refresh(ctx) }

// leading returns this tablet's replica of the partition holding key when
// the key is of the first index (rows are placed by it) and this tablet
// leads that partition; otherwise the read goes through the SDK.
func (s localSource) leading(db, table, index, key string) (*hosted, []schema.Column, bool) {
	tm, err := s.sdk.TableMeta(db, table)
	if err != nil || index != "" && index != tm.Table.Indexes[0].Name {
		return nil, nil, false
	}
	h, err := s.d.get(tm.TID, client.PartitionOf(tm.Table, key))
	if err != nil || s.d.checkLeader(h) != nil {
		return nil, nil, false
	}
	return h, tm.Table.Columns, true
}

func (s localSource) ScanIndex(ctx context.Context, db, table, index, key string, from, to int64, limit int) ([]client.Row, error) {
	return s.ScanIndexColumns(ctx, db, table, index, key, from, to, limit, nil)
}

// ScanIndexColumns reads like ScanIndex but decodes only the needed
// columns (need nil: all), straight from the stored bytes when this tablet
// leads the key's partition; rows share backing arrays.
func (s localSource) ScanIndexColumns(ctx context.Context, db, table, index, key string, from, to int64, limit int, need []bool) ([]client.Row, error) {
	h, cols, ok := s.leading(db, table, index, key)
	if !ok {
		return s.sdk.Scan(ctx, db, table, key, client.ScanOptions{Index: index, From: from, To: to, Limit: limit})
	}
	if need == nil {
		need = make([]bool, len(cols))
		for i := range need {
			need[i] = true
		}
	}
	var out []client.Row
	var flat []any
	var decErr error
	err := h.rep.part.ScanFunc(key, storage.ScanOptions{Index: index, From: from, To: to, Limit: limit}, time.Now(), func(_ int64, data []byte) bool {
		if len(flat) < len(cols) {
			flat = make([]any, 64*len(cols))
		}
		row := flat[:len(cols):len(cols)]
		flat = flat[len(cols):]
		if decErr = codec.DecodeNeeded(cols, data, need, row); decErr != nil {
			return false
		}
		out = append(out, row)
		return true
	})
	if err == nil {
		err = decErr
	}
	return out, err
}

// CallDeployment computes a deployment for request rows.
func (d *data) CallDeployment(ctx context.Context, req *connect.Request[openmldbv1.CallDeploymentRequest]) (*connect.Response[openmldbv1.CallDeploymentResponse], error) {
	m := req.Msg
	runner, err := d.deploymentRunner(ctx)
	if err != nil {
		return nil, err
	}
	_, q, err := runner.Deployment(ctx, m.Db, m.Name)
	if err != nil {
		if sql.IsNotFound(err) {
			return nil, connect.NewError(connect.CodeNotFound, err)
		}
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	resp := &openmldbv1.CallDeploymentResponse{}
	for i, b := range m.Rows {
		vals, err := codec.Decode(q.Main.Columns, b)
		if err != nil {
			return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("request row %d: %w", i+1, err))
		}
		out, err := q.Request(ctx, runner.Src, vals, nil)
		if err != nil {
			return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("request row %d: %w", i+1, err))
		}
		for j := range out {
			out[j] = sql.JSONValue(out[j])
		}
		js, err := json.Marshal(out)
		if err != nil {
			return nil, connect.NewError(connect.CodeInternal, err)
		}
		resp.RowsJson = append(resp.RowsJson, string(js))
	}
	return connect.NewResponse(resp), nil
}
