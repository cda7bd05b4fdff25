package opayosim

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// reportingRequest is a parsed <vspaccess> request.
type reportingRequest struct {
	command, vendor, user, signature string
	// params holds the other top-level elements by lower-cased name.
	params map[string]string
	// paramsRaw is the request text between </user> and <signature>, which the signature covers.
	paramsRaw string
}

// parseReportingXML parses the XML form field. It returns Reporting error 0001 for text that is not
// XML and 0002 for a root other than vspaccess.
func parseReportingXML(raw string) (*reportingRequest, *reportingFailure) {
	dec := xml.NewDecoder(strings.NewReader(raw))
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "iso-8859-1", "latin1", "latin-1", "iso8859-1":
			return charmap.ISO8859_1.NewDecoder().Reader(in), nil
		case "windows-1252", "cp1252":
			return charmap.Windows1252.NewDecoder().Reader(in), nil
		case "utf-8", "utf8", "us-ascii":
			return in, nil
		}
		return nil, fmt.Errorf("unsupported charset %q", label)
	}
	req := &reportingRequest{params: map[string]string{}}
	depth := 0
	var current string
	var text strings.Builder
	sawRoot := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, failure("0001")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if sawRoot || t.Name.Local != "vspaccess" {
					return nil, failure("0002")
				}
				sawRoot = true
			case 2:
				current = strings.ToLower(t.Name.Local)
				text.Reset()
			}
		case xml.CharData:
			if depth >= 2 {
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 2 {
				value := strings.TrimSpace(text.String())
				switch current {
				case "command":
					req.command = value
				case "vendor":
					req.vendor = value
				case "user":
					req.user = value
				case "signature":
					req.signature = value
				default:
					req.params[current] = value
				}
			}
			depth--
		}
	}
	if !sawRoot {
		return nil, failure("0001")
	}
	if i, j := strings.Index(raw, "</user>"), strings.LastIndex(raw, "<signature>"); i >= 0 && j >= i+len("</user>") {
		req.paramsRaw = raw[i+len("</user>") : j]
	}
	return req, nil
}

// reportingFailure is a Reporting error: its code and text.
type reportingFailure struct {
	code, text string
}

// reportingErrorText holds Opayo's text for each Reporting error code (error-codes.tsv).
var reportingErrorText = map[string]string{
	"0001": "The message received was not valid XML.",
	"0002": "Invalid command. XML root node should be vspaccess.",
	"0008": "The specified <vendor> and <user> combination is not valid, or the user may be locked out.",
	"0009": "Error (retrieving/updating or inserting) data. Please email support@sagepay.com with this error.",
	"0010": "Cannot validate the <signature> value.",
	"0013": "The command passed in the <command> parameter was not recognised.",
	"0019": "Error parsing the request XML. Check the format of your request message.",
	"0038": "The start date you have supplied is after the end date.",
	"0039": "The end date is more than one month after the start date. You can only return reports at monthly intervals.",
	"0042": "You must supply one of the following nodes with this command, either <vendortxcode> OR <vpstxid>.",
	"0043": "Unable to find the transaction for the <vendortxcode> or <vpstxid> supplied.",
	"0099": "Start Row and End Row range too large. The difference between the <startrow> and <endrow> value must be no greater than 50.",
	"2222": "<endrow> cannot be before <startrow>, please check.",
	"2243": "<endrow> cannot be more than 50 if <startrow> is not provided.",
	"2244": "<endrow> cannot be equal to zero.",
}

func failure(code string) *reportingFailure {
	return &reportingFailure{code: code, text: reportingErrorText[code]}
}

func elementNotFound(name string) *reportingFailure {
	return &reportingFailure{code: "3001", text: "<" + name + "> element not found."}
}

func badDate(name string) *reportingFailure {
	return &reportingFailure{code: "3009", text: "<" + name + "> is an invalid date format. Please use format dd/MM/yyyy HH:mm:ss."}
}

// reportingError is the body of an error response.
func reportingError(code string) *xmlBody {
	f := failure(code)
	return errorBody(f)
}

func errorBody(f *reportingFailure) *xmlBody {
	b := &xmlBody{errorCode: f.code}
	b.leaf("error", f.text)
	return b
}

// xmlBody builds the inside of a <vspaccess> response after <errorcode>.
type xmlBody struct {
	errorCode string
	b         strings.Builder
}

func okBody() *xmlBody { return &xmlBody{errorCode: "0000"} }

func (x *xmlBody) leaf(name, value string) *xmlBody {
	x.b.WriteString("<" + name + ">")
	_ = xml.EscapeText(&x.b, []byte(value))
	x.b.WriteString("</" + name + ">")
	return x
}

func (x *xmlBody) open(name string) *xmlBody {
	x.b.WriteString("<" + name + ">")
	return x
}

func (x *xmlBody) close(name string) *xmlBody {
	x.b.WriteString("</" + name + ">")
	return x
}

// writeReporting sends a Reporting response: ISO-8859-1 XML with <errorcode> first and
// <timestamp> last (opayo.md §3.2).
func writeReporting(w http.ResponseWriter, now time.Time, body *xmlBody) {
	doc := `<?xml version="1.0" encoding="ISO-8859-1"?>` + "\n<vspaccess><errorcode>" + body.errorCode + "</errorcode>" +
		body.b.String() + "<timestamp>" + now.In(london).Format(reportingDateLayout) + "</timestamp></vspaccess>"
	out, err := charmap.ISO8859_1.NewEncoder().String(latin1Safe(doc))
	if err != nil {
		out = doc
	}
	w.Header().Set("Content-Type", "text/xml; charset=ISO-8859-1")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, out)
}

// latin1Safe writes characters outside ISO-8859-1 as numeric character references, so the document
// stays well-formed XML once encoded (a replacement byte would be an illegal control character).
func latin1Safe(doc string) string {
	var b strings.Builder
	for _, r := range doc {
		if r > 0xFF {
			fmt.Fprintf(&b, "&#%d;", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
