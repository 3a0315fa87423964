package nsclient

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/internal/cli"
	"github.com/openmldb-go/openmldb/internal/codec"
	"github.com/openmldb-go/openmldb/schema"
)

func (c *Client) sdk(ctx context.Context) (*client.Client, error) {
	if c.data != nil {
		return c.data, nil
	}
	s, err := client.Connect(ctx, client.Options{ZkCluster: c.cfg.ZkCluster, ZkRootPath: c.cfg.ZkRootPath})
	if err != nil {
		return nil, err
	}
	c.data = s
	return s, nil
}

func (c *Client) needDB() error {
	if c.db == "" {
		return fmt.Errorf("no database selected: `use <db>` first (or --database=<db>)")
	}
	return nil
}

// splitTable accepts "t" (current database) or "db.t".
func (c *Client) splitTable(name string) (string, string, error) {
	if db, t, ok := strings.Cut(name, "."); ok {
		return db, t, nil
	}
	return c.db, name, c.needDB()
}

func (c *Client) execData(ctx context.Context, name string, args []string) error {
	sdk, err := c.sdk(ctx)
	if err != nil {
		return err
	}
	need := func(n int, usage string) error {
		if len(args) < n {
			return fmt.Errorf("usage: %s", usage)
		}
		return nil
	}
	switch name {
	case "use":
		if err := need(1, "use <db>"); err != nil {
			return err
		}
		dbs, err := sdk.Databases(ctx)
		if err != nil {
			return err
		}
		if sort.SearchStrings(dbs, args[0]) == len(dbs) || dbs[sort.SearchStrings(dbs, args[0])] != args[0] {
			return fmt.Errorf("database %s does not exist", args[0])
		}
		c.db = args[0]
		fmt.Fprintf(c.out, "Database changed\n")
	case "showdb":
		dbs, err := sdk.Databases(ctx)
		if err != nil {
			return err
		}
		rows := make([][]string, len(dbs))
		for i, d := range dbs {
			rows[i] = []string{d}
		}
		cli.PrintTable(c.out, []string{"name"}, rows)
	case "createdb":
		if err := need(1, "createdb <db>"); err != nil {
			return err
		}
		if err := sdk.CreateDatabase(ctx, args[0], false); err != nil {
			return err
		}
		fmt.Fprintln(c.out, "Create database ok")
	case "dropdb":
		if err := need(1, "dropdb <db>"); err != nil {
			return err
		}
		if err := sdk.DropDatabase(ctx, args[0]); err != nil {
			return err
		}
		fmt.Fprintln(c.out, "Drop database ok")
	case "showtable":
		return c.showTable(sdk, args)
	case "showtablestatus":
		pattern := "%"
		if len(args) > 0 {
			pattern = args[0]
		}
		cli.PrintTable(c.out, cli.TableStatusHeader, cli.TableStatusRows(sdk.TableStatuses(pattern)))
	case "showschema":
		if err := need(1, "showschema <table>"); err != nil {
			return err
		}
		db, tn, err := c.splitTable(args[0])
		if err != nil {
			return err
		}
		t, err := sdk.Table(db, tn)
		if err != nil {
			return err
		}
		var rows [][]string
		for i, col := range t.Columns {
			rows = append(rows, []string{strconv.Itoa(i), col.Name, col.Type.String()})
		}
		cli.PrintTable(c.out, []string{"#", "name", "type"}, rows)
		fmt.Fprintln(c.out)
		rows = nil
		for i, ix := range t.Indexes {
			rows = append(rows, []string{strconv.Itoa(i), ix.Name, strings.Join(ix.Keys, "|"), ix.TS, ix.TTLString(), string(ix.TTLType)})
		}
		cli.PrintTable(c.out, []string{"#", "index_name", "keys", "ts", "ttl", "ttl_type"}, rows)
	case "create":
		return c.create(ctx, sdk, args)
	case "drop":
		if err := need(1, "drop <table>"); err != nil {
			return err
		}
		db, tn, err := c.splitTable(args[0])
		if err != nil {
			return err
		}
		if err := sdk.DropTable(ctx, db, tn); err != nil {
			return err
		}
		fmt.Fprintln(c.out, "drop ok")
	case "put":
		if err := need(2, "put <table> <value> ..."); err != nil {
			return err
		}
		db, tn, err := c.splitTable(args[0])
		if err != nil {
			return err
		}
		t, err := sdk.Table(db, tn)
		if err != nil {
			return err
		}
		vals, err := parseValues(t, args[1:])
		if err != nil {
			return err
		}
		if err := sdk.Put(ctx, db, tn, vals); err != nil {
			return err
		}
		fmt.Fprintln(c.out, "Put ok")
	case "get", "scan", "count":
		return c.read(ctx, sdk, name, args)
	}
	return nil
}

func (c *Client) showTable(sdk *client.Client, args []string) error {
	var rows [][]string
	tables := sdk.Tables(c.db)
	sort.Slice(tables, func(i, j int) bool { return tables[i].TID < tables[j].TID })
	for _, tm := range tables {
		if len(args) > 0 && tm.Table.Name != args[0] {
			continue
		}
		for _, p := range tm.Partitions {
			st := sdk.ReplicaStatuses(tm.TID, p.PID)
			for _, r := range p.Replicas {
				rs, alive := st[r.Endpoint]
				role, aliveS := "follower", "no"
				if alive && !r.Offline {
					aliveS = "yes"
				}
				if alive && rs.IsLeader {
					role = "leader"
				}
				rows = append(rows, []string{tm.Table.Name, strconv.Itoa(int(tm.TID)), strconv.Itoa(int(p.PID)), r.Endpoint, role, aliveS,
					strconv.FormatUint(rs.Offset, 10), strconv.FormatInt(rs.Rows, 10), strconv.FormatInt(rs.MemoryBytes, 10), "-"})
			}
		}
	}
	if len(args) > 0 && len(rows) == 0 {
		return fmt.Errorf("table %s does not exist in database %s", args[0], c.db)
	}
	cli.PrintTable(c.out, []string{"name", "tid", "pid", "endpoint", "role", "is_alive", "offset", "record_cnt", "memused", "diskused"}, rows)
	return nil
}

// create <table> <ttl> <partitionnum> <replicanum> <col>:<type>[:index|:ts] ...
// ttl: 0 (keep all), <n>m|h|d (absolute), latest:<n>, absorlat:<abs>,<n>, absandlat:<abs>,<n>.
func (c *Client) create(ctx context.Context, sdk *client.Client, args []string) error {
	const usage = "create <table> <ttl> <partitionnum> <replicanum> <col>:<type>[:index|:ts] ... (ttl: 0, 30d, latest:10, absorlat:30d,10, absandlat:30d,10)"
	if len(args) < 5 {
		return fmt.Errorf("usage: %s", usage)
	}
	db, tn, err := c.splitTable(args[0])
	if err != nil {
		return err
	}
	t := schema.Table{DB: db, Name: tn}
	ttlType, ttlText := "absolute", args[1]
	if ty, rest, ok := strings.Cut(args[1], ":"); ok {
		ttlType, ttlText = ty, rest
		if ty == "absorlat" || ty == "absandlat" {
			ttlText = "(" + rest + ")"
		}
	}
	tt, abs, lat, err := schema.ParseTTL(ttlType, ttlText)
	if err != nil {
		return err
	}
	if t.PartitionNum, err = strconv.Atoi(args[2]); err != nil {
		return fmt.Errorf("partitionnum %q is not a number; usage: %s", args[2], usage)
	}
	if t.ReplicaNum, err = strconv.Atoi(args[3]); err != nil {
		return fmt.Errorf("replicanum %q is not a number; usage: %s", args[3], usage)
	}
	ts := ""
	var keys []string
	for _, spec := range args[4:] {
		parts := strings.Split(spec, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return fmt.Errorf("column %q: want <name>:<type>[:index|:ts]", spec)
		}
		ty, err := schema.ParseType(parts[1])
		if err != nil {
			return err
		}
		t.Columns = append(t.Columns, schema.Column{Name: parts[0], Type: ty})
		if len(parts) == 3 {
			switch parts[2] {
			case "index":
				keys = append(keys, parts[0])
			case "ts":
				ts = parts[0]
			default:
				return fmt.Errorf("column %q: the third part must be index or ts", spec)
			}
		}
	}
	for _, k := range keys {
		t.Indexes = append(t.Indexes, schema.Index{Keys: []string{k}, TS: ts, TTLType: tt, AbsTTL: abs, LatTTL: lat})
	}
	if err := sdk.CreateTable(ctx, t, client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		return err
	}
	fmt.Fprintln(c.out, "Create table ok")
	return nil
}

// parseValues converts command-line words to column values; "null" is NULL.
func parseValues(t schema.Table, words []string) ([]any, error) {
	if len(words) != len(t.Columns) {
		return nil, fmt.Errorf("table %s has %d columns, got %d values", t.Name, len(t.Columns), len(words))
	}
	out := make([]any, len(words))
	for i, w := range words {
		col := t.Columns[i]
		if strings.EqualFold(w, "null") && col.Type != schema.TypeString {
			continue
		}
		var v any
		var err error
		switch col.Type {
		case schema.TypeBool:
			v, err = strconv.ParseBool(w)
		case schema.TypeInt16, schema.TypeInt32, schema.TypeInt64, schema.TypeTimestamp:
			v, err = strconv.ParseInt(w, 10, 64)
		case schema.TypeFloat, schema.TypeDouble:
			v, err = strconv.ParseFloat(w, 64)
		default:
			v = w
		}
		if err != nil {
			return nil, fmt.Errorf("column %s (%s): %q is not a valid value", col.Name, col.Type, w)
		}
		out[i] = v
	}
	return out, nil
}

// get <t> <key> [ts]; scan <t> <key> [from to [limit]]; count <t> <key>
func (c *Client) read(ctx context.Context, sdk *client.Client, name string, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: %s <table> <key> ...", name)
	}
	db, tn, err := c.splitTable(args[0])
	if err != nil {
		return err
	}
	t, err := sdk.Table(db, tn)
	if err != nil {
		return err
	}
	nums := make([]int64, 0, 3)
	for _, a := range args[2:] {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", a)
		}
		nums = append(nums, n)
	}
	o := client.ScanOptions{}
	switch name {
	case "count":
		n, err := sdk.Count(ctx, db, tn, args[1], "")
		if err != nil {
			return err
		}
		fmt.Fprintf(c.out, "count: %d\n", n)
		return nil
	case "get":
		o.Limit = 1
		if len(nums) > 0 {
			o.AtTS = nums[0]
		}
	case "scan":
		if len(nums) > 0 {
			o.From = nums[0]
		}
		if len(nums) > 1 {
			o.To = nums[1]
		}
		if len(nums) > 2 {
			o.Limit = int(nums[2])
		}
	}
	rows, err := sdk.Scan(ctx, db, tn, args[1], o)
	if err != nil {
		return err
	}
	header := []string{"#"}
	for _, col := range t.Columns {
		header = append(header, col.Name)
	}
	var out [][]string
	for i, r := range rows {
		line := []string{strconv.Itoa(i + 1)}
		for _, v := range r {
			if v == nil {
				line = append(line, "NULL")
			} else {
				line = append(line, codec.KeyText(v))
			}
		}
		out = append(out, line)
	}
	cli.PrintTable(c.out, header, out)
	return nil
}
