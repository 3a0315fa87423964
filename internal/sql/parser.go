package sql

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse parses exactly one statement (a trailing ; is allowed).
func Parse(src string) (Statement, error) {
	list, err := ParseScript(src)
	if err != nil {
		return nil, err
	}
	if len(list) != 1 {
		return nil, &SyntaxError{1, 1, fmt.Sprintf("expected one statement, found %d", len(list))}
	}
	return list[0], nil
}

// ParseScript parses statements separated by ;.
func ParseScript(src string) ([]Statement, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, src: src}
	var out []Statement
	for {
		for p.acceptSym(";") {
		}
		if p.peek().kind == tokEOF {
			break
		}
		st, err := p.statement()
		if err != nil {
			return nil, err
		}
		out = append(out, st)
		if p.peek().kind != tokEOF && !p.isSym(";") {
			return nil, p.errExpected("';' or end of statement")
		}
	}
	if len(out) == 0 {
		return nil, &SyntaxError{1, 1, "empty statement"}
	}
	return out, nil
}

// SplitStatements splits a script at top-level semicolons (outside strings
// and comments) and reports whether the last statement is complete. Shells
// use it to know when to stop reading lines.
func SplitStatements(src string) (stmts []string, complete bool) {
	start := 0
	var q byte
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case q != 0:
			if c == '\\' && q != '`' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '\'' || c == '"' || c == '`':
			q = c
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == ';':
			if s := strings.TrimSpace(src[start:i]); s != "" {
				stmts = append(stmts, s)
			}
			start = i + 1
		}
	}
	rest := strings.TrimSpace(src[start:])
	if rest != "" {
		stmts = append(stmts, rest)
		return stmts, false
	}
	return stmts, true
}

type parser struct {
	toks  []token
	pos   int
	src   string
	nargs int // placeholders seen
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) peekN(n int) token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return &SyntaxError{t.line, t.col, fmt.Sprintf(format, args...)}
}

func (p *parser) errExpected(what string) error {
	t := p.peek()
	return p.errAt(t, "expected %s, found %s", what, t.describe())
}

// isKw reports whether the next token is the keyword kw (case-insensitive).
func (p *parser) isKw(kw string) bool {
	t := p.peek()
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) isKwAt(n int, kw string) bool {
	t := p.peekN(n)
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) acceptKw(kws ...string) bool {
	for i, kw := range kws {
		if !p.isKwAt(i, kw) {
			return false
		}
	}
	p.pos += len(kws)
	return true
}

func (p *parser) expectKw(kws ...string) error {
	for _, kw := range kws {
		if !p.isKw(kw) {
			return p.errExpected(strings.ToUpper(kw))
		}
		p.next()
	}
	return nil
}

func (p *parser) isSym(s string) bool {
	t := p.peek()
	return t.kind == tokSymbol && t.text == s
}

func (p *parser) acceptSym(s string) bool {
	if p.isSym(s) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectSym(s string) error {
	if !p.acceptSym(s) {
		return p.errExpected("'" + s + "'")
	}
	return nil
}

// itemsUntilClose reads items separated by commas up to and including the
// closing ')'; what names the list in errors.
func (p *parser) itemsUntilClose(what string, item func() error) error {
	for {
		if err := item(); err != nil {
			return err
		}
		if p.acceptSym(",") {
			continue
		}
		if !p.acceptSym(")") {
			return p.errExpected("',' or ')' in " + what)
		}
		return nil
	}
}

// identList reads name, ... ) (the '(' already read).
func (p *parser) identList(what string) ([]string, error) {
	var out []string
	err := p.itemsUntilClose(what+" list", func() error {
		n, err := p.ident(what)
		out = append(out, n)
		return err
	})
	return out, err
}

// options reads (NAME = value, ...) after OPTIONS; names are upper-cased.
func (p *parser) options() (map[string]Expr, error) {
	out := map[string]Expr{}
	if err := p.expectSym("("); err != nil {
		return nil, err
	}
	err := p.itemsUntilClose("OPTIONS", func() error {
		name, err := p.ident("option name")
		if err != nil {
			return err
		}
		if err := p.expectSym("="); err != nil {
			return err
		}
		v, err := p.optionValue()
		out[strings.ToUpper(name)] = v
		return err
	})
	return out, err
}

// reserved words cannot be bare identifiers (names); quote them with “.
var reserved = map[string]bool{
	"select": true, "from": true, "where": true, "and": true, "or": true, "not": true, "limit": true,
	"insert": true, "into": true, "values": true, "create": true, "table": true, "drop": true, "delete": true,
	"index": true, "options": true, "null": true, "true": true, "false": true, "as": true, "is": true,
	"in": true, "like": true, "between": true, "case": true, "when": true, "then": true, "else": true, "end": true,
	"show": true, "use": true, "set": true, "window": true, "over": true, "join": true, "on": true, "order": true,
	"by": true, "union": true, "partition": true, "last": true, "default": true, "database": true,
	"group": true, "having": true, "deploy": true,
}

// ident reads a name; what is used in the error message.
func (p *parser) ident(what string) (string, error) {
	t := p.peek()
	switch {
	case t.kind == tokQuotedIdent:
		p.next()
		return t.text, nil
	case t.kind == tokIdent && !reserved[strings.ToLower(t.text)] && !(t.text[0] >= '0' && t.text[0] <= '9'):
		p.next()
		return t.text, nil
	}
	return "", p.errExpected(what)
}

func (p *parser) tableName() (TableName, error) {
	a, err := p.ident("table name")
	if err != nil {
		return TableName{}, err
	}
	if p.acceptSym(".") {
		b, err := p.ident("table name after '.'")
		if err != nil {
			return TableName{}, err
		}
		return TableName{DB: a, Name: b}, nil
	}
	return TableName{Name: a}, nil
}

func (p *parser) statement() (Statement, error) {
	t := p.peek()
	switch {
	case p.isKw("select"):
		return p.selectStmt()
	case p.isKw("insert"):
		return p.insert()
	case p.isKw("create"):
		return p.create()
	case p.isKw("drop"):
		return p.drop()
	case p.isKw("delete"):
		return p.deleteStmt()
	case p.isKw("use"):
		p.next()
		name, err := p.ident("database name")
		return &Use{Name: name}, err
	case p.isKw("show"):
		return p.show()
	case p.isKw("desc"), p.isKw("describe"):
		p.next()
		tn, err := p.tableName()
		return &Desc{Table: tn}, err
	case p.isKw("set"):
		return p.set()
	case p.isKw("deploy"):
		return p.deploy()
	}
	return nil, p.errAt(t, "expected a statement (SELECT, INSERT, DELETE, CREATE, DROP, USE, SHOW, DESC, SET, DEPLOY), found %s", t.describe())
}

func (p *parser) create() (Statement, error) {
	p.next()
	switch {
	case p.acceptKw("database"):
		st := &CreateDatabase{}
		st.IfNotExists = p.acceptKw("if", "not", "exists")
		var err error
		st.Name, err = p.ident("database name")
		return st, err
	case p.acceptKw("table"):
		return p.createTable()
	case p.acceptKw("index"):
		return p.createIndex()
	}
	return nil, p.errExpected("DATABASE, TABLE or INDEX after CREATE")
}

func (p *parser) drop() (Statement, error) {
	p.next()
	switch {
	case p.acceptKw("database"):
		st := &DropDatabase{IfExists: p.acceptKw("if", "exists")}
		var err error
		st.Name, err = p.ident("database name")
		return st, err
	case p.acceptKw("table"):
		st := &DropTable{IfExists: p.acceptKw("if", "exists")}
		var err error
		st.Table, err = p.tableName()
		return st, err
	case p.acceptKw("deployment"):
		st := &DropDeployment{IfExists: p.acceptKw("if", "exists")}
		var err error
		st.Name, err = p.ident("deployment name")
		return st, err
	}
	return nil, p.errExpected("DATABASE, TABLE or DEPLOYMENT after DROP")
}

func (p *parser) createTable() (Statement, error) {
	st := &CreateTable{Options: map[string]Expr{}}
	st.IfNotExists = p.acceptKw("if", "not", "exists")
	var err error
	if st.Table, err = p.tableName(); err != nil {
		return nil, err
	}
	if err := p.expectSym("("); err != nil {
		return nil, err
	}
	err = p.itemsUntilClose("the column list", func() error {
		if p.isKw("index") {
			ix, err := p.indexDef()
			st.Indexes = append(st.Indexes, ix)
			return err
		}
		col, err := p.columnDef()
		st.Columns = append(st.Columns, col)
		return err
	})
	if err != nil {
		return nil, err
	}
	if p.acceptKw("options") {
		if st.Options, err = p.options(); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// optionValue reads a literal or a bare word (e.g. STORAGE_MODE=Memory,
// DISTRIBUTION=[...] is not supported).
func (p *parser) optionValue() (Expr, error) {
	t := p.peek()
	if t.kind == tokIdent {
		p.next()
		return &Literal{Value: t.text}, nil
	}
	return p.primary()
}

func (p *parser) columnDef() (ColumnDef, error) {
	var c ColumnDef
	var err error
	if c.Name, err = p.ident("column name or INDEX"); err != nil {
		return c, err
	}
	t := p.peek()
	if t.kind != tokIdent {
		return c, p.errExpected("a column type (bool, smallint, int, bigint, float, double, timestamp, date, string)")
	}
	p.next()
	c.Type = t.text
	for {
		switch {
		case p.acceptKw("not", "null"):
			c.NotNull = true
		case p.acceptKw("null"):
		case p.acceptKw("default"):
			if c.Default, err = p.unary(); err != nil {
				return c, err
			}
		default:
			return c, nil
		}
	}
}

func (p *parser) indexDef() (IndexDef, error) {
	var ix IndexDef
	p.next() // INDEX
	if p.peek().kind == tokIdent && !p.isSym("(") && !reserved[strings.ToLower(p.peek().text)] {
		ix.Name = p.next().text
	}
	if err := p.expectSym("("); err != nil {
		return ix, err
	}
	err := p.itemsUntilClose("INDEX(...)", func() error { return p.indexOption(&ix, true) })
	return ix, err
}

// indexOption reads one NAME=value of an index: KEY (when withKey), TS,
// TTL_TYPE or TTL.
func (p *parser) indexOption(ix *IndexDef, withKey bool) error {
	want := "TS, TTL_TYPE or TTL"
	if withKey {
		want = "KEY, " + want
	}
	kt := p.peek()
	if kt.kind != tokIdent {
		return p.errExpected("an index option (" + want + ")")
	}
	p.next()
	if err := p.expectSym("="); err != nil {
		return err
	}
	var err error
	switch name := strings.ToUpper(kt.text); {
	case name == "KEY" && withKey:
		if p.acceptSym("(") {
			ix.Keys, err = p.identList("key column")
		} else {
			var k string
			k, err = p.ident("key column")
			ix.Keys = []string{k}
		}
	case name == "TS":
		ix.TS, err = p.ident("ts column")
	case name == "TTL_TYPE":
		t := p.next()
		if t.kind != tokIdent {
			return p.errAt(t, "expected a TTL type (absolute, latest, absorlat, absandlat), found %s", t.describe())
		}
		ix.TTLType = t.text
	case name == "TTL":
		ix.TTL, err = p.ttlText()
	default:
		return p.errAt(kt, "unknown index option %s (want %s)", kt.describe(), want)
	}
	return err
}

// ttlText reads 30d, 100, 0 or (30d, 100) and returns it as written.
func (p *parser) ttlText() (string, error) {
	word := func() (string, error) {
		t := p.peek()
		if t.kind == tokInt || t.kind == tokIdent {
			p.next()
			return t.text, nil
		}
		return "", p.errExpected("a TTL like 30d, 12h, 100 or (30d, 100)")
	}
	if p.acceptSym("(") {
		a, err := word()
		if err != nil {
			return "", err
		}
		if err := p.expectSym(","); err != nil {
			return "", err
		}
		b, err := word()
		if err != nil {
			return "", err
		}
		if err := p.expectSym(")"); err != nil {
			return "", err
		}
		return "(" + a + "," + b + ")", nil
	}
	return word()
}

func (p *parser) insert() (Statement, error) {
	p.next()
	if err := p.expectKw("into"); err != nil {
		return nil, err
	}
	st := &Insert{}
	var err error
	if st.Table, err = p.tableName(); err != nil {
		return nil, err
	}
	if p.acceptSym("(") {
		if st.Columns, err = p.identList("column name"); err != nil {
			return nil, err
		}
	}
	if err := p.expectKw("values"); err != nil {
		return nil, err
	}
	for {
		if err := p.expectSym("("); err != nil {
			return nil, err
		}
		var row []Expr
		err := p.itemsUntilClose("VALUES", func() error {
			e, err := p.expr()
			row = append(row, e)
			return err
		})
		if err != nil {
			return nil, err
		}
		st.Rows = append(st.Rows, row)
		if !p.acceptSym(",") {
			return st, nil
		}
	}
}

func (p *parser) deleteStmt() (Statement, error) {
	p.next()
	if err := p.expectKw("from"); err != nil {
		return nil, err
	}
	st := &Delete{}
	var err error
	if st.Table, err = p.tableName(); err != nil {
		return nil, err
	}
	if err := p.expectKw("where"); err != nil {
		return nil, err
	}
	st.Where, err = p.expr()
	return st, err
}

func (p *parser) show() (Statement, error) {
	p.next()
	switch {
	case p.acceptKw("databases"):
		return &ShowDatabases{}, nil
	case p.acceptKw("tables"):
		st := &ShowTables{}
		if p.acceptKw("from") || p.acceptKw("in") {
			var err error
			st.DB, err = p.ident("database name")
			return st, err
		}
		return st, nil
	case p.acceptKw("components"):
		return &ShowComponents{}, nil
	case p.acceptKw("table", "status"):
		st := &ShowTableStatus{}
		if p.acceptKw("like") {
			s, err := p.stringLit("a LIKE pattern string such as '%'")
			if err != nil {
				return nil, err
			}
			st.Like = &s
		}
		return st, nil
	case p.acceptKw("create", "table"):
		tn, err := p.tableName()
		return &ShowCreateTable{Table: tn}, err
	case p.acceptKw("deployments"):
		return &ShowDeployments{}, nil
	case p.acceptKw("deployment"):
		name, err := p.ident("deployment name")
		return &ShowDeployment{Name: name}, err
	}
	st := &ShowVariables{}
	if p.acceptKw("global") {
		st.Global = true
	} else {
		p.acceptKw("session")
	}
	if p.acceptKw("variables") {
		if p.acceptKw("like") {
			s, err := p.stringLit("a LIKE pattern string")
			if err != nil {
				return nil, err
			}
			st.Like = &s
		}
		return st, nil
	}
	return nil, p.errExpected("DATABASES, TABLES, COMPONENTS, TABLE STATUS, CREATE TABLE, DEPLOYMENTS, DEPLOYMENT or VARIABLES after SHOW")
}

func (p *parser) stringLit(what string) (string, error) {
	t := p.peek()
	if t.kind != tokString {
		return "", p.errExpected(what)
	}
	p.next()
	return t.text, nil
}

func (p *parser) set() (Statement, error) {
	p.next()
	st := &Set{}
	t := p.peek()
	var name string
	switch {
	case t.kind == tokVariable:
		p.next()
		name = strings.TrimLeft(t.text, "@")
	case p.isKw("global") || p.isKw("session"):
		st.Global = p.isKw("global")
		p.next()
		n, err := p.ident("variable name")
		if err != nil {
			return nil, err
		}
		name = n
	default:
		return nil, p.errExpected("a variable like @@execute_mode")
	}
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(lower, "global."):
		st.Global, name = true, name[len("global."):]
	case strings.HasPrefix(lower, "session."):
		name = name[len("session."):]
	}
	if name == "" {
		return nil, p.errAt(t, "empty variable name")
	}
	st.Name = strings.ToLower(name)
	if !p.acceptSym("=") {
		return nil, p.errExpected("'=' after the variable name")
	}
	v, err := p.expr()
	st.Value = v
	return st, err
}

func (p *parser) selectStmt() (Statement, error) {
	p.next()
	st := &Select{Limit: -1}
	for {
		start := p.peek()
		if p.acceptSym("*") {
			st.Items = append(st.Items, SelectItem{Star: true, Text: "*"})
		} else {
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			item := SelectItem{Expr: e, Text: p.textBetween(start, p.peek())}
			if p.acceptKw("as") {
				if item.Alias, err = p.ident("alias after AS"); err != nil {
					return nil, err
				}
			} else if t := p.peek(); t.kind == tokQuotedIdent || t.kind == tokIdent && !reserved[strings.ToLower(t.text)] {
				item.Alias = p.next().text
			}
			st.Items = append(st.Items, item)
		}
		if !p.acceptSym(",") {
			break
		}
	}
	if p.acceptKw("from") {
		tn, err := p.tableName()
		if err != nil {
			return nil, err
		}
		ref := &TableRef{Table: tn}
		if p.acceptKw("as") {
			if ref.Alias, err = p.ident("table alias"); err != nil {
				return nil, err
			}
		} else if t := p.peek(); t.kind == tokIdent && !reserved[strings.ToLower(t.text)] {
			ref.Alias = p.next().text
		}
		st.From = ref
		for p.isKw("last") {
			j, err := p.lastJoin()
			if err != nil {
				return nil, err
			}
			st.Joins = append(st.Joins, j)
		}
	}
	if p.acceptKw("where") {
		var err error
		if st.Where, err = p.expr(); err != nil {
			return nil, err
		}
	}
	if p.acceptKw("window") {
		for {
			name, err := p.ident("window name")
			if err != nil {
				return nil, err
			}
			if err := p.expectKw("as"); err != nil {
				return nil, err
			}
			w, err := p.windowSpec()
			if err != nil {
				return nil, err
			}
			w.Name = name
			for _, prev := range st.Windows {
				if strings.EqualFold(prev.Name, name) {
					return nil, p.errAt(p.peek(), "window %s is defined twice", name)
				}
			}
			st.Windows = append(st.Windows, w)
			if !p.acceptSym(",") {
				break
			}
		}
	}
	for _, kw := range []string{"order", "group", "having", "union", "join", "left"} {
		if p.isKw(kw) {
			return nil, p.errAt(p.peek(), "%s is not supported (OpenMLDB's online SQL has windows and LAST JOIN instead)", strings.ToUpper(kw))
		}
	}
	if p.acceptKw("limit") {
		t := p.peek()
		if t.kind != tokInt {
			return nil, p.errExpected("a row count after LIMIT")
		}
		p.next()
		n, err := strconv.Atoi(t.text)
		if err != nil || n < 0 {
			return nil, p.errAt(t, "LIMIT %s is out of range", t.text)
		}
		st.Limit = n
	}
	return st, nil
}

// textBetween returns the source text from token a up to (not including) b.
func (p *parser) textBetween(a, b token) string {
	start, end := offsetOf(p.src, a.line, a.col), offsetOf(p.src, b.line, b.col)
	if start < 0 || end < start {
		return ""
	}
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\t", " ").Replace(strings.TrimSpace(p.src[start:end]))
}

func offsetOf(src string, line, col int) int {
	l, c := 1, 1
	for i, r := range src {
		if l == line && c == col {
			return i
		}
		if r == '\n' {
			l++
			c = 1
		} else {
			c++
		}
	}
	if l == line && c == col {
		return len(src)
	}
	return -1
}

// Expressions, lowest precedence first.

func (p *parser) expr() (Expr, error) { return p.orExpr() }

func (p *parser) orExpr() (Expr, error) {
	l, err := p.andExpr()
	if err != nil {
		return nil, err
	}
	for p.acceptKw("or") || p.acceptSym("||") {
		r, err := p.andExpr()
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: "OR", L: l, R: r}
	}
	return l, nil
}

func (p *parser) andExpr() (Expr, error) {
	l, err := p.notExpr()
	if err != nil {
		return nil, err
	}
	for p.acceptKw("and") || p.acceptSym("&&") {
		r, err := p.notExpr()
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: "AND", L: l, R: r}
	}
	return l, nil
}

func (p *parser) notExpr() (Expr, error) {
	if p.acceptKw("not") || p.acceptSym("!") {
		x, err := p.notExpr()
		if err != nil {
			return nil, err
		}
		return &Unary{Op: "NOT", X: x}, nil
	}
	return p.comparison()
}

func (p *parser) comparison() (Expr, error) {
	l, err := p.additive()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		switch {
		case t.kind == tokSymbol && (t.text == "=" || t.text == "==" || t.text == "!=" || t.text == "<>" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">="):
			p.next()
			op := t.text
			switch op {
			case "==":
				op = "="
			case "<>":
				op = "!="
			}
			r, err := p.additive()
			if err != nil {
				return nil, err
			}
			l = &Binary{Op: op, L: l, R: r}
		case p.isKw("is"):
			p.next()
			not := p.acceptKw("not")
			if err := p.expectKw("null"); err != nil {
				return nil, err
			}
			l = &IsNull{X: l, Not: not}
		case p.isKw("like") || p.isKw("not") && (p.isKwAt(1, "like") || p.isKwAt(1, "between") || p.isKwAt(1, "in")) || p.isKw("between") || p.isKw("in") || p.isKw("ilike"):
			not := p.acceptKw("not")
			switch {
			case p.acceptKw("like"), p.acceptKw("ilike"):
				r, err := p.additive()
				if err != nil {
					return nil, err
				}
				l = &Binary{Op: "LIKE", L: l, R: r}
				if not {
					l = &Unary{Op: "NOT", X: l}
				}
			case p.acceptKw("between"):
				lo, err := p.additive()
				if err != nil {
					return nil, err
				}
				if err := p.expectKw("and"); err != nil {
					return nil, err
				}
				hi, err := p.additive()
				if err != nil {
					return nil, err
				}
				l = &Between{X: l, Lo: lo, Hi: hi, Not: not}
			case p.acceptKw("in"):
				if err := p.expectSym("("); err != nil {
					return nil, err
				}
				in := &InList{X: l, Not: not}
				err := p.itemsUntilClose("the IN list", func() error {
					e, err := p.expr()
					in.List = append(in.List, e)
					return err
				})
				if err != nil {
					return nil, err
				}
				l = in
			}
		default:
			return l, nil
		}
	}
}

func (p *parser) additive() (Expr, error) {
	l, err := p.multiplicative()
	if err != nil {
		return nil, err
	}
	for p.isSym("+") || p.isSym("-") {
		op := p.next().text
		r, err := p.multiplicative()
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: op, L: l, R: r}
	}
	return l, nil
}

func (p *parser) multiplicative() (Expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.isSym("*") || p.isSym("/") || p.isSym("%") || p.isKw("div") || p.isKw("mod") {
		op := strings.ToUpper(p.next().text)
		if op == "MOD" {
			op = "%"
		}
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: op, L: l, R: r}
	}
	return l, nil
}

func (p *parser) unary() (Expr, error) {
	if p.acceptSym("-") {
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		if lit, ok := x.(*Literal); ok {
			switch v := lit.Value.(type) {
			case int64:
				return &Literal{Value: -v}, nil
			case float64:
				return &Literal{Value: -v}, nil
			}
		}
		return &Unary{Op: "-", X: x}, nil
	}
	if p.acceptSym("+") {
		return p.unary()
	}
	return p.primary()
}

func (p *parser) primary() (Expr, error) {
	t := p.peek()
	switch t.kind {
	case tokInt:
		p.next()
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			// -9223372036854775808 arrives as a positive literal first.
			if t.text == "9223372036854775808" {
				return &Literal{Value: float64(9223372036854775808)}, nil
			}
			return nil, p.errAt(t, "integer %s out of range", t.text)
		}
		return &Literal{Value: n}, nil
	case tokFloat:
		p.next()
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, p.errAt(t, "bad number %s", t.text)
		}
		return &Literal{Value: f}, nil
	case tokString:
		p.next()
		return &Literal{Value: t.text}, nil
	case tokPlaceholder:
		p.next()
		p.nargs++
		return &Placeholder{N: p.nargs - 1}, nil
	case tokSymbol:
		if t.text == "(" {
			p.next()
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expectSym(")"); err != nil {
				return nil, err
			}
			return e, nil
		}
	case tokQuotedIdent:
		return p.columnRef()
	case tokIdent:
		switch strings.ToLower(t.text) {
		case "null":
			p.next()
			return &Literal{Value: nil}, nil
		case "true":
			p.next()
			return &Literal{Value: true}, nil
		case "false":
			p.next()
			return &Literal{Value: false}, nil
		case "case":
			return p.caseExpr()
		case "cast":
			if p.peekN(1).kind == tokSymbol && p.peekN(1).text == "(" {
				return p.cast()
			}
		}
		if p.peekN(1).kind == tokSymbol && p.peekN(1).text == "(" && !reserved[strings.ToLower(t.text)] {
			return p.call()
		}
		if reserved[strings.ToLower(t.text)] {
			return nil, p.errAt(t, "expected an expression, found keyword %s", strings.ToUpper(t.text))
		}
		if t.text[0] >= '0' && t.text[0] <= '9' {
			return nil, p.errAt(t, "bad number %s", t.text)
		}
		return p.columnRef()
	}
	return nil, p.errExpected("an expression")
}

func (p *parser) columnRef() (Expr, error) {
	a, err := p.ident("column name")
	if err != nil {
		return nil, err
	}
	if p.acceptSym(".") {
		b, err := p.ident("column name after '.'")
		if err != nil {
			return nil, err
		}
		return &ColumnRef{Table: a, Name: b}, nil
	}
	return &ColumnRef{Name: a}, nil
}

func (p *parser) call() (Expr, error) {
	name := strings.ToLower(p.next().text)
	p.next() // (
	c := &Call{Name: name}
	if p.acceptSym("*") {
		c.Star = true
		if err := p.expectSym(")"); err != nil {
			return nil, err
		}
		if p.acceptKw("over") {
			name, err := p.ident("window name after OVER")
			if err != nil {
				return nil, err
			}
			c.Over = name
		}
		return c, nil
	}
	if p.acceptSym(")") {
		return c, nil
	}
	err := p.itemsUntilClose("the arguments of "+name, func() error {
		e, err := p.expr()
		c.Args = append(c.Args, e)
		return err
	})
	if err != nil {
		return nil, err
	}
	if p.acceptKw("over") {
		if p.isSym("(") {
			w, err := p.windowSpec()
			if err != nil {
				return nil, err
			}
			c.Window = w
		} else {
			name, err := p.ident("window name after OVER")
			if err != nil {
				return nil, err
			}
			c.Over = name
		}
	}
	return c, nil
}

func (p *parser) caseExpr() (Expr, error) {
	p.next()
	c := &Case{}
	if !p.isKw("when") {
		op, err := p.expr()
		if err != nil {
			return nil, err
		}
		c.Operand = op
	}
	for p.acceptKw("when") {
		cond, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.expectKw("then"); err != nil {
			return nil, err
		}
		res, err := p.expr()
		if err != nil {
			return nil, err
		}
		c.Whens = append(c.Whens, When{cond, res})
	}
	if len(c.Whens) == 0 {
		return nil, p.errExpected("WHEN")
	}
	if p.acceptKw("else") {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		c.Else = e
	}
	return c, p.expectKw("end")
}

func (p *parser) cast() (Expr, error) {
	p.next()
	p.next() // (
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	if err := p.expectKw("as"); err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind != tokIdent {
		return nil, p.errExpected("a type name")
	}
	p.next()
	return &Cast{X: x, Type: t.text}, p.expectSym(")")
}

func (p *parser) lastJoin() (*LastJoin, error) {
	p.next() // LAST
	if err := p.expectKw("join"); err != nil {
		return nil, err
	}
	tn, err := p.tableName()
	if err != nil {
		return nil, err
	}
	j := &LastJoin{Table: TableRef{Table: tn}}
	if p.acceptKw("as") {
		if j.Table.Alias, err = p.ident("table alias"); err != nil {
			return nil, err
		}
	} else if t := p.peek(); t.kind == tokIdent && !reserved[strings.ToLower(t.text)] {
		j.Table.Alias = p.next().text
	}
	if p.acceptKw("order") {
		if err := p.expectKw("by"); err != nil {
			return nil, err
		}
		c, err := p.columnRef()
		if err != nil {
			return nil, err
		}
		j.OrderBy = c.(*ColumnRef)
	}
	if err := p.expectKw("on"); err != nil {
		return nil, err
	}
	if j.On, err = p.expr(); err != nil {
		return nil, err
	}
	return j, nil
}

// windowSpec reads ( [UNION t, ...] PARTITION BY c, ... ORDER BY c
// ROWS|ROWS_RANGE BETWEEN bound AND bound [MAXSIZE n] [EXCLUDE CURRENT_ROW]
// [EXCLUDE CURRENT_TIME] [INSTANCE_NOT_IN_WINDOW] ).
func (p *parser) windowSpec() (*WindowDef, error) {
	if err := p.expectSym("("); err != nil {
		return nil, err
	}
	w := &WindowDef{}
	if p.acceptKw("union") {
		for {
			tn, err := p.tableName()
			if err != nil {
				return nil, err
			}
			w.Union = append(w.Union, tn)
			if !p.acceptSym(",") {
				break
			}
		}
	}
	if err := p.expectKw("partition", "by"); err != nil {
		return nil, err
	}
	for {
		c, err := p.columnRef()
		if err != nil {
			return nil, err
		}
		w.PartitionBy = append(w.PartitionBy, c.(*ColumnRef))
		if !p.acceptSym(",") {
			break
		}
	}
	if err := p.expectKw("order", "by"); err != nil {
		return nil, err
	}
	c, err := p.columnRef()
	if err != nil {
		return nil, err
	}
	w.OrderBy = c.(*ColumnRef)
	p.acceptKw("asc")
	switch {
	case p.acceptKw("rows"):
		w.Unit = FrameRows
	case p.acceptKw("rows_range"):
		w.Unit = FrameRowsRange
	default:
		return nil, p.errExpected("ROWS or ROWS_RANGE")
	}
	if err := p.expectKw("between"); err != nil {
		return nil, err
	}
	if w.Start, err = p.frameBound(w.Unit); err != nil {
		return nil, err
	}
	if err := p.expectKw("and"); err != nil {
		return nil, err
	}
	if w.End, err = p.frameBound(w.Unit); err != nil {
		return nil, err
	}
	if w.End.Unbounded {
		return nil, p.errAt(p.peek(), "a frame cannot end at UNBOUNDED PRECEDING")
	}
	if !w.Start.Unbounded && !w.Start.Current && !w.End.Current && w.End.Offset > w.Start.Offset {
		return nil, p.errAt(p.peek(), "the frame ends before it starts (%d PRECEDING AND %d PRECEDING)", w.Start.Offset, w.End.Offset)
	}
	if w.Start.Current && !w.End.Current {
		return nil, p.errAt(p.peek(), "a frame starting at CURRENT ROW must end at CURRENT ROW")
	}
	for {
		switch {
		case p.acceptKw("maxsize"):
			t := p.peek()
			if t.kind != tokInt {
				return nil, p.errExpected("a row count after MAXSIZE")
			}
			p.next()
			n, err := strconv.ParseInt(t.text, 10, 64)
			if err != nil || n <= 0 {
				return nil, p.errAt(t, "MAXSIZE must be a positive row count")
			}
			w.MaxSize = n
		case p.acceptKw("exclude", "current_row"):
			w.ExcludeCurrentRow = true
		case p.acceptKw("exclude", "current_time"):
			w.ExcludeCurrentTime = true
		case p.acceptKw("instance_not_in_window"):
			w.InstanceNotInWindow = true
		default:
			if err := p.expectSym(")"); err != nil {
				return nil, p.errExpected("MAXSIZE, EXCLUDE CURRENT_ROW, EXCLUDE CURRENT_TIME, INSTANCE_NOT_IN_WINDOW or ')'")
			}
			return w, nil
		}
	}
}

// frameBound reads UNBOUNDED PRECEDING, CURRENT ROW, or N PRECEDING where
// N is a row count (ROWS) or a time span (ROWS_RANGE: milliseconds, or a
// number with s, m, h or d).
func (p *parser) frameBound(unit FrameUnit) (FrameBound, error) {
	switch {
	case p.acceptKw("unbounded"):
		if err := p.expectKw("preceding"); err != nil {
			return FrameBound{}, err
		}
		return FrameBound{Unbounded: true}, nil
	case p.acceptKw("current"):
		if err := p.expectKw("row"); err != nil {
			return FrameBound{}, err
		}
		return FrameBound{Current: true}, nil
	}
	t := p.peek()
	var n int64
	switch {
	case t.kind == tokInt:
		v, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil || v < 0 {
			return FrameBound{}, p.errAt(t, "bad frame offset %s", t.text)
		}
		n = v
	case t.kind == tokIdent && unit == FrameRowsRange && t.text[0] >= '0' && t.text[0] <= '9':
		ms, ok := parseInterval(t.text)
		if !ok {
			return FrameBound{}, p.errAt(t, "bad interval %s (want a number with s, m, h or d, like 10s or 3d)", t.text)
		}
		n = ms
	case t.kind == tokIdent && unit == FrameRows && t.text[0] >= '0' && t.text[0] <= '9':
		return FrameBound{}, p.errAt(t, "ROWS frames count rows: use a plain number, or ROWS_RANGE for a time span like %s", t.text)
	default:
		return FrameBound{}, p.errExpected("UNBOUNDED PRECEDING, CURRENT ROW or N PRECEDING")
	}
	p.next()
	if err := p.expectKw("preceding"); err != nil {
		return FrameBound{}, err
	}
	return FrameBound{Offset: n}, nil
}

// parseInterval reads 10s, 5m, 2h, 3d (and 100ms) into milliseconds.
func parseInterval(s string) (int64, bool) {
	units := []struct {
		suffix string
		ms     int64
	}{{"ms", 1}, {"s", 1000}, {"m", 60_000}, {"h", 3_600_000}, {"d", 86_400_000}}
	lower := strings.ToLower(s)
	for _, u := range units {
		if strings.HasSuffix(lower, u.suffix) {
			n, err := strconv.ParseInt(lower[:len(lower)-len(u.suffix)], 10, 64)
			if err != nil || n < 0 {
				return 0, false
			}
			return n * u.ms, true
		}
	}
	return 0, false
}

func (p *parser) deploy() (Statement, error) {
	p.next()
	st := &Deploy{Options: map[string]Expr{}}
	st.IfNotExists = p.acceptKw("if", "not", "exists")
	var err error
	if st.Name, err = p.ident("deployment name"); err != nil {
		return nil, err
	}
	if p.acceptKw("options") {
		if st.Options, err = p.options(); err != nil {
			return nil, err
		}
	}
	if !p.isKw("select") {
		return nil, p.errExpected("SELECT after the deployment name")
	}
	start := p.peek()
	q, err := p.selectStmt()
	if err != nil {
		return nil, err
	}
	st.Query = q.(*Select)
	st.Text = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(p.textBetween(start, p.peek())), ";"))
	return st, nil
}

func (p *parser) createIndex() (Statement, error) {
	st := &CreateIndex{}
	var err error
	if st.Index.Name, err = p.ident("index name"); err != nil {
		return nil, err
	}
	if err := p.expectKw("on"); err != nil {
		return nil, err
	}
	if st.Table, err = p.tableName(); err != nil {
		return nil, err
	}
	if err := p.expectSym("("); err != nil {
		return nil, err
	}
	if st.Index.Keys, err = p.identList("key column"); err != nil {
		return nil, err
	}
	if p.acceptKw("options") {
		if err := p.expectSym("("); err != nil {
			return nil, err
		}
		if err := p.itemsUntilClose("OPTIONS", func() error { return p.indexOption(&st.Index, false) }); err != nil {
			return nil, err
		}
	}
	return st, nil
}
