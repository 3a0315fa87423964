package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/api/gen/openmldb/v1/openmldbv1connect"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/schema"
)

// Deployment is a stored DEPLOY: request rows have the columns of Table;
// each answer row has Columns.
type Deployment struct {
	DB, Name, SQL, Table string
	Columns              []schema.Column
}

type deploymentCache struct {
	mu sync.Mutex
	m  map[string]cachedDeployment
}

type cachedDeployment struct {
	d  Deployment
	at time.Time
}

// GetDeployment reads a deployment (cached for a second).
func (c *Client) GetDeployment(ctx context.Context, db, name string) (Deployment, error) {
	key := db + "/" + name
	c.deployments.mu.Lock()
	cd, ok := c.deployments.m[key]
	c.deployments.mu.Unlock()
	if ok && time.Since(cd.at) < time.Second {
		return cd.d, nil
	}
	resp, err := c.etcd.Get(ctx, c.keys.Deployment(db, name))
	if err != nil {
		return Deployment{}, fmt.Errorf("%w: reading deployment: %w", ErrUnavailable, err)
	}
	if len(resp.Kvs) == 0 {
		return Deployment{}, fmt.Errorf("%w: deployment %s does not exist in database %s", ErrNotFound, name, db)
	}
	var rec coord.DeploymentRecord
	if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
		return Deployment{}, fmt.Errorf("deployment %s: %w", name, err)
	}
	d := Deployment{DB: rec.DB, Name: rec.Name, SQL: rec.SQL, Table: rec.Table}
	for _, col := range rec.Columns {
		d.Columns = append(d.Columns, schema.Column{Name: col.Name, Type: schema.Type(col.Type)})
	}
	c.deployments.mu.Lock()
	if c.deployments.m == nil {
		c.deployments.m = map[string]cachedDeployment{}
	}
	c.deployments.m[key] = cachedDeployment{d: d, at: time.Now()}
	c.deployments.mu.Unlock()
	return d, nil
}

// CallDeployment computes a deployment for request rows (values in the
// column order of the deployment's table). Each row is sent to the tablet
// leading its partition, which computes windows from its own memory; the
// rows are not stored. Answers come back in request order.
func (c *Client) CallDeployment(ctx context.Context, db, name string, rows [][]any) ([]Row, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	d, err := c.GetDeployment(ctx, db, name)
	if err != nil {
		return nil, err
	}
	tm, err := c.tableMeta(db, d.Table)
	if err != nil {
		return nil, err
	}
	type batch struct {
		rows [][]byte
		pos  []int
	}
	byPart := map[uint32]*batch{}
	for i, values := range rows {
		enc, key, err := encodeRow(tm.Table, values)
		if err != nil {
			return nil, fmt.Errorf("request row %d: %w", i+1, err)
		}
		pid := PartitionOf(tm.Table, key)
		if byPart[pid] == nil {
			byPart[pid] = &batch{}
		}
		byPart[pid].rows = append(byPart[pid].rows, enc)
		byPart[pid].pos = append(byPart[pid].pos, i)
	}
	out := make([]Row, len(rows))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for pid, b := range byPart {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var resp *connect.Response[openmldbv1.CallDeploymentResponse]
			err := c.callLeader(ctx, tm, pid, func(ctx context.Context, t openmldbv1connect.TabletClient) error {
				var err error
				resp, err = t.CallDeployment(ctx, connect.NewRequest(&openmldbv1.CallDeploymentRequest{Db: db, Name: name, Rows: b.rows}))
				return err
			})
			if err == nil && len(resp.Msg.RowsJson) != len(b.rows) {
				err = fmt.Errorf("tablet answered %d rows for %d requests", len(resp.Msg.RowsJson), len(b.rows))
			}
			for k := 0; err == nil && k < len(b.rows); k++ {
				var r Row
				r, err = decodeJSONRow(d.Columns, resp.Msg.RowsJson[k])
				out[b.pos[k]] = r
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out, firstErr
}

// decodeJSONRow reads a tablet's JSON answer row with the column types.
func decodeJSONRow(cols []schema.Column, js string) (Row, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(js)))
	dec.UseNumber()
	var raw []any
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	if len(raw) != len(cols) {
		return nil, fmt.Errorf("answer row has %d values, deployment has %d columns", len(raw), len(cols))
	}
	row := make(Row, len(raw))
	for i, v := range raw {
		if n, ok := v.(json.Number); ok {
			if iv, err := n.Int64(); err == nil && cols[i].Type != schema.TypeFloat && cols[i].Type != schema.TypeDouble {
				v = iv
			} else if f, err := n.Float64(); err == nil {
				v = f
			}
		}
		if v == nil {
			continue
		}
		nv, err := schema.Normalize(cols[i], v)
		if err != nil {
			// Keep the value as computed rather than fail the whole answer.
			row[i] = v
			continue
		}
		row[i] = nv
	}
	return row, nil
}
