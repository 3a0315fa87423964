package sql

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the lexical class of a token.
type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokQuotedIdent // `name`
	tokInt
	tokFloat
	tokString
	tokSymbol // punctuation and operators
	tokPlaceholder
	tokVariable // @@name or @name
)

// token is one lexeme with its position (1-based line and column).
type token struct {
	kind tokKind
	text string // identifier/symbol text, string contents, number text
	line int
	col  int
}

// describe renders a token for error messages.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of input"
	case tokString:
		return fmt.Sprintf("string '%s'", t.text)
	case tokQuotedIdent:
		return "`" + t.text + "`"
	case tokVariable:
		return t.text
	}
	return "'" + t.text + "'"
}

// SyntaxError is a parse error at a position of the statement text.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("Syntax error: line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// lex splits src into tokens; comments (-- ..., # ..., /* ... */) are dropped.
func lex(src string) ([]token, error) {
	var out []token
	line, col := 1, 1
	i := 0
	advance := func(n int) {
		for k := 0; k < n && i < len(src); k++ {
			if src[i] == '\n' {
				line++
				col = 1
			} else if src[i] < utf8.RuneSelf || utf8.RuneStart(src[i]) {
				col++
			}
			i++
		}
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			advance(1)
			continue
		case c == '-' && i+1 < len(src) && src[i+1] == '-', c == '#':
			for i < len(src) && src[i] != '\n' {
				advance(1)
			}
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			sl, sc := line, col
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, &SyntaxError{sl, sc, "unterminated comment /*"}
			}
			advance(end + 4)
			continue
		}
		start := token{line: line, col: col}
		switch {
		case c == '\'' || c == '"':
			s, n, err := lexString(src[i:], c)
			if err != nil {
				return nil, &SyntaxError{line, col, err.Error()}
			}
			start.kind, start.text = tokString, s
			advance(n)
		case c == '`':
			end := strings.IndexByte(src[i+1:], '`')
			if end < 0 {
				return nil, &SyntaxError{line, col, "unterminated quoted identifier `"}
			}
			start.kind, start.text = tokQuotedIdent, src[i+1:i+1+end]
			advance(end + 2)
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i
			isFloat := false
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			if j < len(src) && src[j] == '.' {
				isFloat = true
				j++
				for j < len(src) && src[j] >= '0' && src[j] <= '9' {
					j++
				}
			}
			if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
				k := j + 1
				if k < len(src) && (src[k] == '+' || src[k] == '-') {
					k++
				}
				if k < len(src) && src[k] >= '0' && src[k] <= '9' {
					isFloat = true
					j = k
					for j < len(src) && src[j] >= '0' && src[j] <= '9' {
						j++
					}
				}
			}
			// A number directly followed by letters is an identifier-like
			// token (e.g. 30d in TTL=30d, 1h in intervals); keep it whole.
			k := j
			for k < len(src) && isIdentByte(src[k]) {
				k++
			}
			if k > j && !isFloat {
				start.kind, start.text = tokIdent, src[i:k]
				advance(k - i)
			} else {
				start.kind, start.text = tokInt, src[i:j]
				if isFloat {
					start.kind = tokFloat
				}
				advance(j - i)
			}
		case c == '@':
			j := i + 1
			if j < len(src) && src[j] == '@' {
				j++
			}
			k := j
			for k < len(src) && (isIdentByte(src[k]) || src[k] == '.') {
				k++
			}
			if k == j {
				return nil, &SyntaxError{line, col, "expected a variable name after @"}
			}
			start.kind, start.text = tokVariable, src[i:k]
			advance(k - i)
		case c == '?':
			start.kind, start.text = tokPlaceholder, "?"
			advance(1)
		case isIdentStart(src[i:]):
			j := i
			for j < len(src) {
				r, n := utf8.DecodeRuneInString(src[j:])
				if !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
					break
				}
				j += n
			}
			start.kind, start.text = tokIdent, src[i:j]
			advance(j - i)
		default:
			for _, op := range []string{"<=", ">=", "<>", "!=", "==", "||", "&&"} {
				if strings.HasPrefix(src[i:], op) {
					start.kind, start.text = tokSymbol, op
					break
				}
			}
			if start.kind != tokSymbol {
				if !strings.ContainsRune("(),;.=<>+-*/%!:[]", rune(c)) {
					r, _ := utf8.DecodeRuneInString(src[i:])
					return nil, &SyntaxError{line, col, fmt.Sprintf("unexpected character %q", r)}
				}
				start.kind, start.text = tokSymbol, string(c)
			}
			advance(len(start.text))
		}
		out = append(out, start)
	}
	out = append(out, token{kind: tokEOF, line: line, col: col})
	return out, nil
}

func isIdentByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

func isIdentStart(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r == '_' || unicode.IsLetter(r)
}

// lexString reads a quoted string starting at s[0]; a doubled quote or a
// backslash escape stands for itself. It returns the contents and the bytes used.
func lexString(s string, q byte) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q && i+1 < len(s) && s[i+1] == q:
			b.WriteByte(q)
			i++
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated string starting with %c", q)
}
