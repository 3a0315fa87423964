package sql

// Statement is any parsed statement.
type Statement interface{ stmt() }

// TableName is [db.]name; DB is empty when not given.
type TableName struct{ DB, Name string }

func (t TableName) String() string {
	if t.DB == "" {
		return t.Name
	}
	return t.DB + "." + t.Name
}

type (
	CreateDatabase struct {
		Name        string
		IfNotExists bool
	}
	DropDatabase struct {
		Name     string
		IfExists bool
	}
	Use           struct{ Name string }
	ShowDatabases struct{}
	ShowTables    struct{ DB string }
	// ShowComponents lists every running server with its version.
	ShowComponents  struct{}
	ShowTableStatus struct{ Like *string }
	ShowVariables   struct {
		Global bool
		Like   *string
	}
	ShowCreateTable struct{ Table TableName }
	Desc            struct{ Table TableName }
	CreateTable     struct {
		Table       TableName
		IfNotExists bool
		Columns     []ColumnDef
		Indexes     []IndexDef
		// Options holds OPTIONS(...) by upper-case name.
		Options map[string]Expr
	}
	DropTable struct {
		Table    TableName
		IfExists bool
	}
	Insert struct {
		Table   TableName
		Columns []string // nil: all, in table order
		Rows    [][]Expr
	}
	Delete struct {
		Table TableName
		Where Expr
	}
	// Set assigns a system variable: SET @@[global.|session.]name = value.
	Set struct {
		Global bool
		Name   string
		Value  Expr
	}
	Select struct {
		Items []SelectItem
		From  *TableRef
		Joins []*LastJoin
		Where Expr
		// Windows are the named windows of the WINDOW clause, in order.
		Windows []*WindowDef
		Limit   int // -1: none
	}
)

// ColumnDef is one column of CREATE TABLE.
type ColumnDef struct {
	Name    string
	Type    string
	NotNull bool
	Default Expr // nil: none
}

// IndexDef is INDEX(KEY=..., TS=..., TTL_TYPE=..., TTL=...).
type IndexDef struct {
	Name    string
	Keys    []string
	TS      string
	TTLType string
	TTL     string // as written: 30d, 100, (30d,100)
}

// SelectItem is one output expression; Star selects every column.
type SelectItem struct {
	Expr  Expr
	Alias string
	Star  bool
	// Text is the expression as written, used as the column name when
	// there is no alias.
	Text string
}

// TableRef is a table in FROM with an optional alias.
type TableRef struct {
	Table TableName
	Alias string
}

func (*CreateDatabase) stmt()  {}
func (*DropDatabase) stmt()    {}
func (*Use) stmt()             {}
func (*ShowDatabases) stmt()   {}
func (*ShowTables) stmt()      {}
func (*ShowComponents) stmt()  {}
func (*ShowTableStatus) stmt() {}
func (*ShowVariables) stmt()   {}
func (*ShowCreateTable) stmt() {}
func (*Desc) stmt()            {}
func (*CreateTable) stmt()     {}
func (*DropTable) stmt()       {}
func (*Insert) stmt()          {}
func (*Delete) stmt()          {}
func (*Set) stmt()             {}
func (*Select) stmt()          {}

// Expr is an expression.
type Expr interface{ expr() }

type (
	// Literal is a constant: nil, bool, int64, float64 or string.
	Literal struct{ Value any }
	// ColumnRef names a column, optionally qualified by table or alias.
	ColumnRef struct{ Table, Name string }
	// Placeholder is the n-th ? of the statement (0-based).
	Placeholder struct{ N int }
	Unary       struct {
		Op string // "-", "NOT"
		X  Expr
	}
	Binary struct {
		Op   string // + - * / % = != < <= > >= AND OR LIKE
		L, R Expr
	}
	IsNull struct {
		X   Expr
		Not bool
	}
	Between struct {
		X, Lo, Hi Expr
		Not       bool
	}
	InList struct {
		X    Expr
		List []Expr
		Not  bool
	}
	// Call is a function call; Star marks count(*).
	Call struct {
		Name string // lower case
		Args []Expr
		Star bool
		// Over names the window of an aggregate (OVER w); Window is an
		// inline OVER (...) definition.
		Over   string
		Window *WindowDef
	}
	Case struct {
		Operand Expr // nil for searched CASE
		Whens   []When
		Else    Expr
	}
	Cast struct {
		X    Expr
		Type string
	}
)

// When is one WHEN ... THEN ... of a CASE.
type When struct{ Cond, Result Expr }

func (*Literal) expr()     {}
func (*ColumnRef) expr()   {}
func (*Placeholder) expr() {}
func (*Unary) expr()       {}
func (*Binary) expr()      {}
func (*IsNull) expr()      {}
func (*Between) expr()     {}
func (*InList) expr()      {}
func (*Call) expr()        {}
func (*Case) expr()        {}
func (*Cast) expr()        {}

// walkExpr calls fn for e and every expression inside it, parents first.
func walkExpr(e Expr, fn func(Expr)) {
	if e == nil {
		return
	}
	fn(e)
	switch x := e.(type) {
	case *Unary:
		walkExpr(x.X, fn)
	case *Binary:
		walkExpr(x.L, fn)
		walkExpr(x.R, fn)
	case *IsNull:
		walkExpr(x.X, fn)
	case *Between:
		walkExpr(x.X, fn)
		walkExpr(x.Lo, fn)
		walkExpr(x.Hi, fn)
	case *InList:
		walkExpr(x.X, fn)
		for _, a := range x.List {
			walkExpr(a, fn)
		}
	case *Call:
		for _, a := range x.Args {
			walkExpr(a, fn)
		}
	case *Case:
		walkExpr(x.Operand, fn)
		for _, w := range x.Whens {
			walkExpr(w.Cond, fn)
			walkExpr(w.Result, fn)
		}
		walkExpr(x.Else, fn)
	case *Cast:
		walkExpr(x.X, fn)
	}
}
