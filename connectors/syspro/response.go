package syspro

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
	"golang.org/x/text/encoding/charmap"
)

// maxDepth bounds element nesting; real business-object output is under ten levels deep, and the
// bound keeps hostile input from building pathological trees.
const maxDepth = 128

// Node is one element of a business object's output. SYSPRO lower-cases element names in some
// Transaction and Setup output, so every lookup on Node ignores case.
type Node struct {
	// Name is the element's local name as SYSPRO spelled it.
	Name string
	// Attrs are the element's attributes (Language, Version, FilterType, ...).
	Attrs []xml.Attr
	// Text is the element's own character data, untrimmed.
	Text string
	// Children are the child elements in document order.
	Children []*Node
}

// Child returns the first child called name (any case), or nil.
func (n *Node) Child(name string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return nil
}

// ChildrenNamed returns every child called name (any case).
func (n *Node) ChildrenNamed(name string) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	for _, c := range n.Children {
		if strings.EqualFold(c.Name, name) {
			out = append(out, c)
		}
	}
	return out
}

// Find returns the first descendant called name, depth first, or nil. Output shapes differ between
// SYSPRO versions, so callers that only need a leaf (GlJournal, SalesOrder) look it up anywhere.
func (n *Node) Find(name string) *Node {
	if n == nil {
		return nil
	}
	stack := []*Node{n}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if cur != n && strings.EqualFold(cur.Name, name) {
			return cur
		}
		for i := len(cur.Children) - 1; i >= 0; i-- {
			stack = append(stack, cur.Children[i])
		}
	}
	return nil
}

// Value returns the trimmed text of the first child called name; SYSPRO pads numbers and codes.
func (n *Node) Value(name string) string {
	if c := n.Child(name); c != nil {
		return strings.TrimSpace(c.Text)
	}
	return ""
}

// Decimal parses the trimmed child as a decimal; missing or blank is zero, because SYSPRO leaves
// unused numeric fields empty.
func (n *Node) Decimal(name string) (decimal.Decimal, error) {
	v := n.Value(name)
	if v == "" {
		return decimal.Zero, nil
	}
	d, err := decimal.NewFromString(v)
	if err != nil {
		return decimal.Zero, fmt.Errorf("syspro: element %s: %q is not numeric", name, v)
	}
	return d, nil
}

// Int parses a zero- or space-padded counter such as "000001" or "       1".
func (n *Node) Int(name string) int {
	i, err := strconv.Atoi(n.Value(name))
	if err != nil {
		return 0
	}
	return i
}

// StatusOfItems holds the counters SYSPRO appends last to Transaction and Setup output. Names
// differ per class (RecordsRead/RecordsInvalid, ItemsProcessed/ItemsInvalid,
// JournalsProcessed/JournalsInvalid), so they are kept by name.
type StatusOfItems map[string]int

// Count returns the counter called name (any case), 0 when absent.
func (s StatusOfItems) Count(name string) int {
	for k, v := range s {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return 0
}

// Invalid sums every counter that reports rejected items, whatever the business object calls it.
func (s StatusOfItems) Invalid() int {
	total := 0
	for k, v := range s {
		lk := strings.ToLower(k)
		if strings.HasSuffix(lk, "invalid") || strings.HasPrefix(lk, "invalid") {
			total += v
		}
	}
	return total
}

// Response is a parsed business-object answer.
type Response struct {
	// Root is the output document's root element.
	Root *Node
	// Status is the StatusOfItems counters, nil for Query output.
	Status StatusOfItems
	// Errors are the element-level errors anywhere in the output.
	Errors []ElementError
	// Warnings are SYSPRO's WarningDescription texts (e.g. lines placed on back order).
	Warnings []string
}

// errNotXML marks a body that is neither "ERROR:" text nor XML.
var errNotXML = errors.New("syspro: response is not XML")

// ParseResponse parses a business object's body. An "ERROR: ..." body returns an *Error; a body
// that is not well-formed XML returns a plain error. It never panics, whatever the input.
func ParseResponse(body []byte) (*Response, error) {
	text := unwrapBody(body)
	if isErrorText(text) {
		return nil, classifyText("", "", text)
	}
	root, err := parseXML(text)
	if err != nil {
		return nil, err
	}
	resp := &Response{Root: root}
	if st := root.Find("StatusOfItems"); st != nil {
		resp.Status = StatusOfItems{}
		for _, c := range st.Children {
			if len(c.Children) > 0 {
				continue
			}
			if v, err := strconv.Atoi(strings.TrimSpace(c.Text)); err == nil {
				resp.Status[c.Name] = v
			}
		}
	}
	walk(root, func(n *Node) {
		num, desc := n.Child("ErrorNumber"), n.Child("ErrorDescription")
		if num != nil || desc != nil {
			e := ElementError{Element: n.Name, Value: n.Value("Value"), Description: n.Value("ErrorDescription")}
			e.Number, _ = strconv.Atoi(n.Value("ErrorNumber"))
			if e.Number != 0 || e.Description != "" {
				resp.Errors = append(resp.Errors, e)
			}
		}
		if strings.EqualFold(n.Name, "WarningDescription") || strings.EqualFold(n.Name, "WarningMessage") {
			if w := strings.TrimSpace(n.Text); w != "" {
				resp.Warnings = append(resp.Warnings, w)
			}
		}
	})
	return resp, nil
}

// unwrapBody accepts the JSON-quoted and <string>-wrapped bodies some clients report (syspro.md
// §1.2 rule 3) while leaving the captured raw form untouched.
func unwrapBody(body []byte) string {
	text := strings.TrimSpace(string(body))
	if len(text) >= 2 && text[0] == '"' && text[len(text)-1] == '"' {
		if s, err := strconv.Unquote(text); err == nil {
			text = strings.TrimSpace(s)
		}
	}
	const open, closing = "<string", "</string>"
	if strings.HasPrefix(text, open) && strings.HasSuffix(text, closing) {
		if i := strings.IndexByte(text, '>'); i > 0 && i < len(text)-len(closing) {
			text = strings.TrimSpace(xmlUnescape(text[i+1 : len(text)-len(closing)]))
		}
	}
	return text
}

func xmlUnescape(s string) string {
	r := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&amp;", "&")
	return r.Replace(s)
}

// isErrorText is the check SYSPRO clients make before any parsing: errors arrive as HTTP 200.
func isErrorText(text string) bool {
	return len(text) >= 5 && strings.EqualFold(text[:5], "ERROR")
}

// parseXML builds a Node tree iteratively, decoding SYSPRO's Windows-1252 declaration.
func parseXML(text string) (*Node, error) {
	if !strings.HasPrefix(text, "<") {
		return nil, errNotXML
	}
	dec := xml.NewDecoder(strings.NewReader(text))
	dec.CharsetReader = charsetReader
	var root *Node
	var stack []*Node
	// texts parallels stack: appending with += would be quadratic on text split by comments.
	var texts []*strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("syspro: parse response: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("syspro: parse response: nesting deeper than %d", maxDepth)
			}
			n := &Node{Name: t.Name.Local, Attrs: append([]xml.Attr(nil), t.Attr...)}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("syspro: parse response: more than one root element")
				}
				root = n
			} else {
				parent := stack[len(stack)-1]
				parent.Children = append(parent.Children, n)
			}
			stack = append(stack, n)
			texts = append(texts, &strings.Builder{})
		case xml.EndElement:
			if len(stack) > 0 {
				stack[len(stack)-1].Text = texts[len(texts)-1].String()
				stack, texts = stack[:len(stack)-1], texts[:len(texts)-1]
			}
		case xml.CharData:
			if len(texts) > 0 {
				texts[len(texts)-1].Write(t)
			}
		}
	}
	if root == nil {
		return nil, errNotXML
	}
	return root, nil
}

func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "windows-1252", "cp1252", "x-cp1252":
		return charmap.Windows1252.NewDecoder().Reader(input), nil
	case "iso-8859-1", "latin1", "latin-1":
		return charmap.ISO8859_1.NewDecoder().Reader(input), nil
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	}
	return nil, fmt.Errorf("syspro: unsupported response charset %q", label)
}

// walk visits every node depth first without recursion.
func walk(root *Node, fn func(*Node)) {
	stack := []*Node{root}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		fn(cur)
		for i := len(cur.Children) - 1; i >= 0; i-- {
			stack = append(stack, cur.Children[i])
		}
	}
}

// trimSessionID keeps the opaque id SYSPRO returns minus its trailing padding; SYSPRO accepts both.
func trimSessionID(body []byte) string {
	return string(bytes.TrimSpace(body))
}

// trimmed is a node's own text without SYSPRO's padding.
func trimmed(n *Node) string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.Text)
}
