package cli

import (
	"strconv"
	"strings"

	"github.com/openmldb-go/openmldb/client"
)

// TableStatusHeader is OpenMLDB's SHOW TABLE STATUS columns.
var TableStatusHeader = []string{"Table_id", "Table_name", "Database_name", "Storage_type", "Rows", "Memory_data_size",
	"Disk_data_size", "Partition", "Partition_unalive", "Replica", "Offline_path", "Offline_format", "Offline_symbolic_paths", "Warnings"}

// TableStatusRows formats statuses; warnings are joined with "; " and, as
// cells must not contain spaces for aligned output, spaces become "_".
func TableStatusRows(list []client.TableStatus) [][]string {
	var rows [][]string
	for _, ts := range list {
		warn := "-"
		if len(ts.Warnings) > 0 {
			warn = strings.ReplaceAll(strings.Join(ts.Warnings, ";"), " ", "_")
		}
		rows = append(rows, []string{strconv.Itoa(int(ts.TID)), ts.Name, ts.DB, "memory", strconv.FormatInt(ts.Rows, 10),
			strconv.FormatInt(ts.MemoryBytes, 10), "0", strconv.Itoa(ts.Partitions), strconv.Itoa(ts.PartitionUnalive),
			strconv.Itoa(ts.Replicas), "NULL", "NULL", "NULL", warn})
	}
	return rows
}
