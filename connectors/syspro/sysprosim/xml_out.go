package sysprosim

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// rootAttrs are the attributes real SYSPRO puts on every business-object output root
// (recordings/syspro/*.response.txt).
const rootAttrs = `Language='05' Language2='EN' CssStyle='' DecFormat='1' DateFormat='01' Role='01' Version='8.0.021' OperatorPrimaryRole='   '`

// xmlOut builds a business-object response the way SYSPRO writes it: Windows-1252 declaration, one
// element per line, trailing "\n ".
type xmlOut struct {
	b     strings.Builder
	stack []string
}

func newXMLOut(root string) *xmlOut {
	x := &xmlOut{}
	x.b.WriteString(`<?xml version="1.0" encoding="Windows-1252"?>` + "\n")
	x.b.WriteString("<" + root + " " + rootAttrs + ">\n")
	x.stack = append(x.stack, root)
	return x
}

func (x *xmlOut) open(name string) *xmlOut {
	x.b.WriteString("<" + name + ">\n")
	x.stack = append(x.stack, name)
	return x
}

func (x *xmlOut) close() *xmlOut {
	name := x.stack[len(x.stack)-1]
	x.stack = x.stack[:len(x.stack)-1]
	x.b.WriteString("</" + name + ">\n")
	return x
}

// leaf writes <name>value</name>, or <name/> for an empty value, as SYSPRO does.
func (x *xmlOut) leaf(name, value string) *xmlOut {
	if value == "" {
		x.b.WriteString("<" + name + "/>\n")
		return x
	}
	x.b.WriteString("<" + name + ">" + escapeXML(value) + "</" + name + ">\n")
	return x
}

// fieldError writes the element-level error shape of syspro.md §2.
func (x *xmlOut) fieldError(name, value string, e *boError) *xmlOut {
	x.open(name)
	x.leaf("Value", value)
	x.leaf("ErrorNumber", e.Number)
	x.leaf("ErrorDescription", e.Text)
	return x.close()
}

// String closes every open element and returns the document.
func (x *xmlOut) String() string {
	for len(x.stack) > 0 {
		x.close()
	}
	return x.b.String() + " "
}

// escapeXML escapes text content. Quotes stay raw, as in SYSPRO's output ("Stock code '1004' not found").
func escapeXML(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// padQty formats a quantity like SYSPRO: six decimals, right-aligned in 20 characters.
func padQty(d decimal.Decimal) string { return fmt.Sprintf("%20s", d.StringFixed(6)) }

// padMoney formats a value like SYSPRO: two decimals, right-aligned in 16 characters.
func padMoney(d decimal.Decimal) string { return fmt.Sprintf("%16s", d.StringFixed(2)) }

// counter formats a StatusOfItems counter: zero-padded to six digits.
func counter(n int) string { return fmt.Sprintf("%06d", n) }

var zero = decimal.Zero
