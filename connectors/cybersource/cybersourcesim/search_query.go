package cybersourcesim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// A Transaction Search query is clauses `field:value` combined with AND and OR (AND binds
// tighter; parentheses group; adjacent clauses mean AND). A value may be quoted, may end in * for
// a prefix match, and for submitTimeUtc may be a range `[from TO to}` where [ ] include and { }
// exclude the bound and each bound is * (open), an ISO 8601 date-time or date, or date math:
// NOW, NOW/DAY, NOW/DAY-7DAYS, 2026-04-10T00:00:00Z+1DAY (units YEAR, MONTH, WEEK, DAY, HOUR,
// MINUTE, SECOND, singular or plural; /UNIT rounds down in the search's timezone).

// queryNode is a parsed query.
type queryNode interface{ match(t *Transaction) bool }

type andNode []queryNode

func (n andNode) match(t *Transaction) bool {
	for _, c := range n {
		if !c.match(t) {
			return false
		}
	}
	return true
}

type orNode []queryNode

func (n orNode) match(t *Transaction) bool {
	for _, c := range n {
		if c.match(t) {
			return true
		}
	}
	return false
}

// valueClause matches a string field exactly (case-insensitively) or by prefix.
type valueClause struct {
	get    func(*Transaction) string
	value  string
	prefix bool
}

func (c valueClause) match(t *Transaction) bool {
	v := c.get(t)
	if c.prefix {
		return strings.HasPrefix(strings.ToLower(v), strings.ToLower(c.value))
	}
	return strings.EqualFold(v, c.value)
}

// timeClause matches submitTimeUtc (to the second) against a range.
type timeClause struct {
	from, to         time.Time
	hasFrom, hasTo   bool
	fromIncl, toIncl bool
}

func (c timeClause) match(t *Transaction) bool {
	at := t.SubmitTime.Truncate(time.Second)
	if c.hasFrom && (at.Before(c.from) || (!c.fromIncl && at.Equal(c.from))) {
		return false
	}
	if c.hasTo && (at.After(c.to) || (!c.toIncl && at.Equal(c.to))) {
		return false
	}
	return true
}

// searchFields are the string fields a query can name, keyed by lower-cased name.
var searchFields = map[string]func(*Transaction) string{
	"id":                              func(t *Transaction) string { return t.ID },
	"rootid":                          func(t *Transaction) string { return t.RootID },
	"clientreferenceinformation.code": func(t *Transaction) string { return t.ClientReferenceCode },
	"clientreferenceinformation.transactionid": func(t *Transaction) string { return t.ClientTransactionID },
	"reconciliationid":                         func(t *Transaction) string { return t.ReconciliationID },
	"merchantid":                               func(t *Transaction) string { return t.MerchantID },
	"orderinformation.billto.email": func(t *Transaction) string {
		if t.BillTo == nil {
			return ""
		}
		return t.BillTo.Email
	},
	"paymentinformation.card.suffix": func(t *Transaction) string {
		if t.Card == nil {
			return ""
		}
		return t.Card.Suffix
	},
	"paymentinformation.customer.id": func(t *Transaction) string { return t.CustomerID },
}

// parseQuery parses a Transaction Search query.
func parseQuery(q string, now time.Time, loc *time.Location) (queryNode, error) {
	toks, err := tokenizeQuery(q)
	if err != nil {
		return nil, err
	}
	p := &queryParser{toks: toks, now: now, loc: loc}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return n, nil
}

type queryParser struct {
	toks []string
	pos  int
	now  time.Time
	loc  *time.Location
}

func (p *queryParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *queryParser) or() (queryNode, error) {
	var parts orNode
	for {
		n, err := p.and()
		if err != nil {
			return nil, err
		}
		parts = append(parts, n)
		if !strings.EqualFold(p.peek(), "OR") {
			break
		}
		p.pos++
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return parts, nil
}

func (p *queryParser) and() (queryNode, error) {
	var parts andNode
	for {
		n, err := p.primary()
		if err != nil {
			return nil, err
		}
		parts = append(parts, n)
		next := p.peek()
		if strings.EqualFold(next, "AND") {
			p.pos++
			continue
		}
		if next == "" || next == ")" || strings.EqualFold(next, "OR") {
			break
		}
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return parts, nil
}

func (p *queryParser) primary() (queryNode, error) {
	tok := p.peek()
	switch {
	case tok == "":
		return nil, errors.New("ends where a clause was expected")
	case tok == "(":
		p.pos++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, errors.New("has an unclosed parenthesis")
		}
		p.pos++
		return n, nil
	case tok == ")" || strings.EqualFold(tok, "AND") || strings.EqualFold(tok, "OR"):
		return nil, fmt.Errorf("has %q where a clause was expected", tok)
	}
	p.pos++
	return p.clause(tok)
}

// clause parses one field:value token.
func (p *queryParser) clause(tok string) (queryNode, error) {
	field, value, ok := strings.Cut(tok, ":")
	if !ok || field == "" || value == "" {
		return nil, fmt.Errorf("clause %q is not field:value", tok)
	}
	name := strings.ToLower(field)
	if name == "submittimeutc" {
		return p.timeRange(value)
	}
	get, ok := searchFields[name]
	if !ok {
		return nil, fmt.Errorf("cannot search on field %q", field)
	}
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		return valueClause{get: get, value: value[1 : len(value)-1]}, nil
	}
	if strings.HasSuffix(value, "*") {
		return valueClause{get: get, value: strings.TrimSuffix(value, "*"), prefix: true}, nil
	}
	return valueClause{get: get, value: value}, nil
}

// timeRange parses `[from TO to}` or a single instant (matched to the second).
func (p *queryParser) timeRange(v string) (queryNode, error) {
	if v[0] != '[' && v[0] != '{' {
		at, err := dateMath(v, p.now, p.loc)
		if err != nil {
			return nil, err
		}
		return timeClause{from: at, to: at, hasFrom: true, hasTo: true, fromIncl: true, toIncl: true}, nil
	}
	last := v[len(v)-1]
	if last != ']' && last != '}' {
		return nil, fmt.Errorf("range %q is not closed by ] or }", v)
	}
	inner := v[1 : len(v)-1]
	idx := strings.Index(strings.ToUpper(inner), " TO ")
	if idx < 0 {
		return nil, fmt.Errorf("range %q has no TO", v)
	}
	c := timeClause{fromIncl: v[0] == '[', toIncl: last == ']'}
	from, to := strings.TrimSpace(inner[:idx]), strings.TrimSpace(inner[idx+4:])
	if from != "*" {
		t, err := dateMath(from, p.now, p.loc)
		if err != nil {
			return nil, err
		}
		c.from, c.hasFrom = t, true
	}
	if to != "*" {
		t, err := dateMath(to, p.now, p.loc)
		if err != nil {
			return nil, err
		}
		c.to, c.hasTo = t, true
	}
	return c, nil
}

// dateMath evaluates NOW or a date-time followed by /UNIT roundings and ±nUNIT offsets.
func dateMath(expr string, now time.Time, loc *time.Location) (time.Time, error) {
	up := strings.ToUpper(strings.TrimSpace(expr))
	var t time.Time
	var rest string
	switch {
	case strings.HasPrefix(up, "NOW"):
		t, rest = now.In(loc), up[3:]
	default:
		base := up
		if i := strings.IndexAny(up, "Z"); i >= 0 {
			base, rest = up[:i+1], up[i+1:]
		} else if len(up) > 10 && (up[10] == '+' || up[10] == '-' || up[10] == '/') {
			base, rest = up[:10], up[10:]
		}
		var err error
		if t, err = time.Parse(time.RFC3339, base); err != nil {
			if t, err = time.ParseInLocation(time.DateOnly, base, loc); err != nil {
				return time.Time{}, fmt.Errorf("cannot read the date %q", expr)
			}
		}
	}
	for rest != "" {
		op := rest[0]
		rest = rest[1:]
		n := 1
		if op == '+' || op == '-' {
			i := 0
			for i < len(rest) && unicode.IsDigit(rune(rest[i])) {
				i++
			}
			if i == 0 {
				return time.Time{}, fmt.Errorf("date math %q: a number must follow %c", expr, op)
			}
			n, _ = strconv.Atoi(rest[:i])
			rest = rest[i:]
			if op == '-' {
				n = -n
			}
		} else if op != '/' {
			return time.Time{}, fmt.Errorf("date math %q: unexpected %c", expr, op)
		}
		i := 0
		for i < len(rest) && unicode.IsLetter(rune(rest[i])) {
			i++
		}
		unit := strings.TrimSuffix(rest[:i], "S")
		rest = rest[i:]
		var err error
		if op == '/' {
			t, err = roundDown(t, unit)
		} else {
			t, err = addUnits(t, unit, n)
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("date math %q: %w", expr, err)
		}
	}
	return t.UTC(), nil
}

func roundDown(t time.Time, unit string) (time.Time, error) {
	y, m, d := t.Date()
	switch unit {
	case "YEAR":
		return time.Date(y, 1, 1, 0, 0, 0, 0, t.Location()), nil
	case "MONTH":
		return time.Date(y, m, 1, 0, 0, 0, 0, t.Location()), nil
	case "DAY", "DATE":
		return time.Date(y, m, d, 0, 0, 0, 0, t.Location()), nil
	case "HOUR":
		return time.Date(y, m, d, t.Hour(), 0, 0, 0, t.Location()), nil
	case "MINUTE":
		return time.Date(y, m, d, t.Hour(), t.Minute(), 0, 0, t.Location()), nil
	case "SECOND":
		return t.Truncate(time.Second), nil
	}
	return time.Time{}, fmt.Errorf("unknown unit %q", unit)
}

func addUnits(t time.Time, unit string, n int) (time.Time, error) {
	switch unit {
	case "YEAR":
		return t.AddDate(n, 0, 0), nil
	case "MONTH":
		return t.AddDate(0, n, 0), nil
	case "WEEK":
		return t.AddDate(0, 0, 7*n), nil
	case "DAY", "DATE":
		return t.AddDate(0, 0, n), nil
	case "HOUR":
		return t.Add(time.Duration(n) * time.Hour), nil
	case "MINUTE":
		return t.Add(time.Duration(n) * time.Minute), nil
	case "SECOND":
		return t.Add(time.Duration(n) * time.Second), nil
	}
	return time.Time{}, fmt.Errorf("unknown unit %q", unit)
}

// tokenizeQuery splits a query into parentheses, operators and field:value clauses; a range or a
// quoted value stays in one token with its spaces.
func tokenizeQuery(q string) ([]string, error) {
	var toks []string
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
			continue
		}
		start := i
		for i < len(q) && q[i] != ':' && q[i] != ' ' && q[i] != '(' && q[i] != ')' {
			i++
		}
		if i >= len(q) || q[i] != ':' {
			toks = append(toks, q[start:i])
			continue
		}
		i++ // the colon
		if i < len(q) {
			switch q[i] {
			case '[', '{':
				j := strings.IndexAny(q[i:], "]}")
				if j < 0 {
					return nil, errors.New("has a range without ] or }")
				}
				i += j + 1
			case '"':
				j := strings.IndexByte(q[i+1:], '"')
				if j < 0 {
					return nil, errors.New("has an unterminated quote")
				}
				i += j + 2
			default:
				for i < len(q) && q[i] != ' ' && q[i] != ')' {
					i++
				}
			}
		}
		toks = append(toks, q[start:i])
	}
	return toks, nil
}

// parseSort reads `field:asc|desc,...` over id and submitTimeUtc into an ordering.
func parseSort(spec string) (func(a, b *Transaction) bool, error) {
	type key struct {
		field string
		desc  bool
	}
	var keys []key
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f, dir, _ := strings.Cut(part, ":")
		k := key{field: strings.ToLower(strings.TrimSpace(f))}
		switch strings.ToLower(strings.TrimSpace(dir)) {
		case "", "asc":
		case "desc":
			k.desc = true
		default:
			return nil, fmt.Errorf("direction %q is not asc or desc", dir)
		}
		if k.field != "id" && k.field != "submittimeutc" {
			return nil, fmt.Errorf("cannot sort on %q", f)
		}
		keys = append(keys, k)
	}
	return func(a, b *Transaction) bool {
		for _, k := range keys {
			var c int
			if k.field == "id" {
				c = strings.Compare(a.ID, b.ID)
			} else {
				c = a.SubmitTime.Compare(b.SubmitTime)
			}
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	}, nil
}
