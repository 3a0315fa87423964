package sql

// Feature SQL: windows, LAST JOIN and deployments.

// FrameUnit is ROWS (a row count) or ROWS_RANGE (a time span on the ORDER BY column).
type FrameUnit int

const (
	FrameRows FrameUnit = iota
	FrameRowsRange
)

// FrameBound is one end of a frame: UNBOUNDED PRECEDING, CURRENT ROW or
// N PRECEDING (N rows for ROWS; N milliseconds, or an interval like 10s,
// for ROWS_RANGE).
type FrameBound struct {
	Unbounded bool
	Current   bool
	Offset    int64
}

// WindowDef is WINDOW w AS (...).
type WindowDef struct {
	Name        string
	Union       []TableName
	PartitionBy []*ColumnRef
	OrderBy     *ColumnRef
	Unit        FrameUnit
	Start, End  FrameBound
	MaxSize     int64
	// ExcludeCurrentRow leaves the request row out of its own window.
	ExcludeCurrentRow bool
	// ExcludeCurrentTime leaves out stored rows with the request's timestamp.
	ExcludeCurrentTime bool
	// InstanceNotInWindow: with UNION, rows of the main table are not in
	// the window (only the union tables' rows and the request row).
	InstanceNotInWindow bool
}

// LastJoin is LAST JOIN t [ORDER BY t.col] ON cond: for each left row, the
// newest matching row of t, or NULLs.
type LastJoin struct {
	Table   TableRef
	OrderBy *ColumnRef
	On      Expr
}

type (
	// Deploy stores a query as a deployment answering request rows.
	Deploy struct {
		Name        string
		IfNotExists bool
		Options     map[string]Expr
		Query       *Select
		Text        string // the SELECT as written
	}
	ShowDeployments struct{}
	ShowDeployment  struct{ Name string }
	DropDeployment  struct {
		Name     string
		IfExists bool
	}
)

func (*Deploy) stmt()          {}
func (*ShowDeployments) stmt() {}
func (*ShowDeployment) stmt()  {}
func (*DropDeployment) stmt()  {}

// CreateIndex is CREATE INDEX name ON t (c1, ...) OPTIONS (TS=c, TTL_TYPE=..., TTL=...).
type CreateIndex struct {
	Table TableName
	Index IndexDef
}

func (*CreateIndex) stmt() {}
