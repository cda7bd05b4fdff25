package sysprosim

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// xmlNode is one element of a parsed XmlIn or XmlParameters document. Business objects look children
// up by name, case-insensitively, so unknown elements are simply never read: real SORTOI ignores
// them too (syspro.md §2).
type xmlNode struct {
	name     string
	attrs    map[string]string
	text     string
	children []*xmlNode
}

// parseXML reads a whole document. The Windows-1252 declaration real clients send is accepted by
// passing the bytes through unchanged, which is exact for ASCII and close enough for a simulator.
func parseXML(s string) (*xmlNode, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty XML document")
	}
	dec := xml.NewDecoder(strings.NewReader(s))
	dec.Strict = false
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var stack []*xmlNode
	var root *xmlNode
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{name: t.Name.Local, attrs: map[string]string{}}
			for _, a := range t.Attr {
				n.attrs[strings.ToLower(a.Name.Local)] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}

// child returns the first child called name, or nil. A nil receiver yields nil, so lookups chain.
func (n *xmlNode) child(name string) *xmlNode {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

// all returns every child called name.
func (n *xmlNode) all(name string) []*xmlNode {
	if n == nil {
		return nil
	}
	var out []*xmlNode
	for _, c := range n.children {
		if strings.EqualFold(c.name, name) {
			out = append(out, c)
		}
	}
	return out
}

// get follows a path of child names and returns the trimmed text at its end ("" when absent).
func (n *xmlNode) get(path ...string) string {
	for _, p := range path {
		n = n.child(p)
	}
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.text)
}

// flag reads a Y/N parameter.
func (n *xmlNode) flag(path ...string) bool {
	return strings.EqualFold(n.get(path...), "Y")
}
