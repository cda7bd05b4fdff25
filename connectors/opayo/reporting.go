package opayo

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // Reporting times are Europe/London; do not depend on the host's zoneinfo.
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/payhub/payhub/connectors/internal/redact"
)

// Reporting & Admin API (opayo.md §3): one form field XML=<vspaccess>…</vspaccess>, signed with
// an MD5 over the command, vendor, user, parameters and the user's password.

// reportingPageRows is the widest startrow/endrow window Opayo serves (0099 beyond 50).
const reportingPageRows = 50

// reportingDateLayout is the request and <timestamp> format; Opayo reads and writes it in UK time.
const reportingDateLayout = "02/01/2006 15:04:05"

// reportingTimeLayout is started/completed: "dd/mm/yyyy HH:MM:SS.mmm".
const reportingTimeLayout = "02/01/2006 15:04:05.000"

// maxXMLDepth and maxXMLNodes bound what the response parser builds from hostile input.
const (
	maxXMLDepth = 32
	maxXMLNodes = 200_000
)

// reportingLocation is Europe/London, the zone of every Reporting date.
var reportingLocation = mustLoadLocation("Europe/London")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("opayo: " + err.Error())
	}
	return loc
}

// reportingParam is one parameter element, in the order it is sent and signed.
type reportingParam struct {
	name  string
	value string
}

// ReportingSignature returns the lower-case hex MD5 Opayo expects in <signature>: the hash of
// "<command>C</command><vendor>V</vendor><user>U</user>" + params exactly as sent +
// "<password>P</password>", over UTF-8 bytes.
func ReportingSignature(command, vendor, user, params, password string) string {
	h := md5.New()
	io.WriteString(h, "<command>"+command+"</command><vendor>"+vendor+"</vendor><user>"+user+"</user>")
	io.WriteString(h, params)
	io.WriteString(h, "<password>"+password+"</password>")
	return hex.EncodeToString(h.Sum(nil))
}

// encodeParams renders parameters as the XML elements that are sent and signed.
func encodeParams(params []reportingParam) string {
	var b strings.Builder
	for _, p := range params {
		b.WriteString("<" + p.name + ">")
		b.WriteString(escapeXML(p.value))
		b.WriteString("</" + p.name + ">")
	}
	return b.String()
}

func escapeXML(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// reportingEnvelope builds the signed <vspaccess> document.
func reportingEnvelope(command, vendor, user, password string, params []reportingParam) string {
	v, u := escapeXML(vendor), escapeXML(user)
	p := encodeParams(params)
	sig := ReportingSignature(command, v, u, p, password)
	return "<vspaccess><command>" + command + "</command><vendor>" + v + "</vendor><user>" + u + "</user>" +
		p + "<signature>" + sig + "</signature></vspaccess>"
}

// reportingCall sends one command and returns the parsed <vspaccess> answer, or an *Error for
// a transport failure, an HTTP error or an <errorcode> other than 0000.
func (c *Client) reportingCall(ctx context.Context, command string, params []reportingParam) (*xmlNode, error) {
	if c.reporting == "" {
		return nil, configurationError(command, "ReportingURL is not configured")
	}
	doc := reportingEnvelope(command, c.cfg.Vendor, c.cfg.ReportingUser, c.cfg.ReportingPassword, params)
	form := url.Values{"XML": {doc}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.reporting, strings.NewReader(form))
	if err != nil {
		return nil, configurationError(command, "build request: %s", redact.Error(err).Error())
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body, err := c.roundTrip(command, req)
	if err != nil {
		return nil, err
	}
	if status < 200 || status > 299 {
		class := ClassConfiguration
		if status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500 {
			class = ClassTransient
		}
		return nil, &Error{Class: class, Op: command, HTTPStatus: status, Message: "HTTP " + http.StatusText(status)}
	}
	return parseReportingResponse(command, body)
}

// parseReportingResponse reads an ISO-8859-1 <vspaccess> answer and turns a non-zero
// <errorcode> into a classified *Error carrying Opayo's code and <error> text.
func parseReportingResponse(command string, body []byte) (*xmlNode, error) {
	root, err := parseXMLTree(body)
	if err != nil {
		return nil, &Error{Class: ClassTransient, Op: command, Message: "unreadable response: " + sanitize(err.Error()), cause: err}
	}
	if root.name != "vspaccess" {
		return nil, &Error{Class: ClassTransient, Op: command, Message: fmt.Sprintf("unexpected root element <%s>", sanitize(truncate(root.name, 40)))}
	}
	code := strings.TrimSpace(root.value("errorcode"))
	if code == "" {
		return nil, &Error{Class: ClassTransient, Op: command, Message: "response has no errorcode"}
	}
	if code != "0000" {
		msg := sanitize(root.value("error"))
		if msg == "" {
			msg = "Reporting API error"
		}
		return nil, &Error{Class: reportingCodeClass(code), Op: command, Code: sanitize(truncate(code, 10)), Message: msg}
	}
	return root, nil
}

// xmlNode is a parsed element: its name, its own text, and its child elements in order.
type xmlNode struct {
	name     string
	text     string
	children []*xmlNode
}

// child returns the first child element called name, or nil.
func (n *xmlNode) child(name string) *xmlNode {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// all returns every child element called name.
func (n *xmlNode) all(name string) []*xmlNode {
	if n == nil {
		return nil
	}
	var out []*xmlNode
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

// value is the trimmed text of the first child called name; "" when absent.
func (n *xmlNode) value(name string) string {
	c := n.child(name)
	if c == nil {
		return ""
	}
	return strings.TrimSpace(c.text)
}

var encodingDecl = regexp.MustCompile(`(?i)^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']`)

// toUTF8 converts a Reporting body to UTF-8: by its declared encoding when it names a
// single-byte one, else as ISO-8859-1 whenever the bytes are not valid UTF-8 (Opayo declares
// ISO-8859-1 but proxies and the sandbox are not always consistent).
func toUTF8(body []byte) ([]byte, error) {
	declared := ""
	if m := encodingDecl.FindSubmatch(body[:min(len(body), 200)]); m != nil {
		declared = strings.ToLower(string(m[1]))
	}
	switch declared {
	case "windows-1252", "cp1252":
		return charmap.Windows1252.NewDecoder().Bytes(body)
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1":
		return charmap.ISO8859_1.NewDecoder().Bytes(body)
	}
	if utf8.Valid(body) {
		return body, nil
	}
	return charmap.ISO8859_1.NewDecoder().Bytes(body)
}

// parseXMLTree builds an xmlNode tree, with the input already converted to UTF-8 so the
// declaration's encoding is only a label.
func parseXMLTree(body []byte) (*xmlNode, error) {
	utf, err := toUTF8(body)
	if err != nil {
		return nil, err
	}
	d := xml.NewDecoder(bytes.NewReader(utf))
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	d.Strict = true
	var (
		stack []*xmlNode
		texts []*strings.Builder
		root  *xmlNode
		nodes int
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, errors.New("more than one root element")
			}
			if len(stack) >= maxXMLDepth {
				return nil, errors.New("elements nested too deeply")
			}
			if nodes++; nodes > maxXMLNodes {
				return nil, errors.New("too many elements")
			}
			n := &xmlNode{name: t.Name.Local}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
			texts = append(texts, &strings.Builder{})
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, errors.New("unbalanced end element")
			}
			stack[len(stack)-1].text = texts[len(texts)-1].String()
			stack, texts = stack[:len(stack)-1], texts[:len(texts)-1]
		case xml.CharData:
			if len(texts) > 0 {
				texts[len(texts)-1].Write(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	if len(stack) != 0 {
		return nil, errors.New("unclosed element")
	}
	return root, nil
}

// formatReportingDate renders a request date in UK time.
func formatReportingDate(t time.Time) string {
	return t.In(reportingLocation).Format(reportingDateLayout)
}

// parseReportingTime reads started/completed ("dd/mm/yyyy HH:MM:SS.mmm", Europe/London),
// accepting the form without milliseconds; empty is the zero time.
func parseReportingTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{reportingTimeLayout, "02/01/2006 15:04:05.999999999", reportingDateLayout} {
		if t, err := time.ParseInLocation(layout, s, reportingLocation); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is not dd/mm/yyyy HH:MM:SS.mmm", truncate(s, 40))
}
