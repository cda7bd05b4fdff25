package sysprosim

import (
	"slices"
	"strings"
)

// ErrTextUnknownBusinessObject is the whole body for an unknown or unlicensed business object, or a
// business object called through the wrong method (syspro.md §2, §5.4).
const ErrTextUnknownBusinessObject = "ERROR: e.net exception raised: 100000"

// boError is a SYSPRO business-object error number and text.
type boError struct {
	Number string
	Text   string
}

// boCall is one business-object invocation, already authenticated. The handler runs with s.mu held.
type boCall struct {
	session *session
	method  string   // lower-cased REST method, e.g. "setup/add"
	params  *xmlNode // XmlParameters root; an empty node when none was sent
	doc     *xmlNode // XmlIn root
}

// dryRun reports whether the call must validate without posting: ValidateOnly=Y in the parameters,
// or SORTOI's Process=Validate.
func (c *boCall) dryRun() bool {
	return c.params.flag("Parameters", "ValidateOnly") ||
		strings.EqualFold(c.params.child("Parameters").get("Process"), "Validate")
}

// mayPost is SYSPRO's rule for whether the valid items of a checked document post: never on a dry
// run, and not at all when ApplyIfEntireDocumentValid=Y and any item was invalid. Whether an item
// itself is valid stays the caller's to check.
func (c *boCall) mayPost(anyInvalid bool) bool {
	return !c.dryRun() && !(c.params.flag("Parameters", "ApplyIfEntireDocumentValid") && anyInvalid)
}

// businessObject is one implemented business object and the REST methods it answers to.
type businessObject struct {
	methods []string
	handle  func(s *Server, c *boCall) string
}

// businessObjects is the simulator's catalogue.
var businessObjects = map[string]businessObject{
	"SORTOI": {[]string{"transaction/post", "transaction/postld"}, (*Server).sortoi},
	"SORQRY": {[]string{"query/query"}, (*Server).sorqry},
	"SORTOS": {[]string{"transaction/post", "transaction/postld"}, (*Server).sortos},
	"INVQRY": {[]string{"query/query"}, (*Server).invqry},
	"ARSQRY": {[]string{"query/query"}, (*Server).arsqry},
	"ARSSCS": {[]string{"setup/add", "setup/update"}, (*Server).arsscs},
	"ARSTPY": {[]string{"transaction/post", "transaction/postld"}, (*Server).arstpy},
	"SORTCH": {[]string{"transaction/post", "transaction/postld"}, (*Server).sortch},
	"SORTCL": {[]string{"transaction/post", "transaction/postld"}, (*Server).sortcl},
	"GENTJL": {[]string{"transaction/post", "transaction/postld"}, (*Server).gentjl},
	"COMFND": {[]string{"query/query"}, (*Server).comfnd},
}

// callBusinessObject checks licensing, parses the XML and runs the business object. The caller
// holds s.mu.
func (s *Server) callBusinessObject(ss *session, method, name, xmlParameters, xmlIn string) string {
	bo, ok := businessObjects[name]
	if !ok || !slices.Contains(bo.methods, method) {
		return ErrTextUnknownBusinessObject
	}
	if lic := s.operators[ss.operator].LicensedBusinessObjects; len(lic) > 0 &&
		!slices.ContainsFunc(lic, func(b string) bool { return strings.EqualFold(b, name) }) {
		return ErrTextUnknownBusinessObject
	}
	doc, err := parseXML(xmlIn)
	if err != nil {
		return "ERROR: e.net exception raised: XmlIn is not valid XML: " + err.Error()
	}
	params := &xmlNode{}
	if strings.TrimSpace(xmlParameters) != "" {
		if params, err = parseXML(xmlParameters); err != nil {
			return "ERROR: e.net exception raised: XmlParameters is not valid XML: " + err.Error()
		}
	}
	return bo.handle(s, &boCall{session: ss, method: method, params: params, doc: doc})
}
