package opayosim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// piError is one Pi error. Property and ClientMessage appear only on 422 responses.
type piError struct {
	Code          int    `json:"code"`
	Property      string `json:"property,omitempty"`
	Description   string `json:"description"`
	ClientMessage string `json:"clientMessage,omitempty"`
}

// piErrorText holds Opayo's published description for each Pi error code (opayo.md §2.9).
var piErrorText = map[int]string{
	1000: "Incorrect request format",
	1001: "Authentication values are missing",
	1002: "Authentication failed",
	1003: "Missing mandatory field",
	1004: "Invalid length",
	1005: "Contains invalid characters",
	1006: "Merchant session key not found",
	1007: "The card number has failed our validity checks and is invalid",
	1008: "The card is not supported",
	1009: "Contains invalid value",
	1010: "Currency does not exist",
	1011: "Merchant session key or card identifier invalid",
	1012: "Transaction not found",
	1013: "Transaction type not supported",
	1014: "Transaction status not applicable",
	1015: "The request entity was empty",
	1016: "This parameter requires an integer",
	1017: "Operation not allowed for this transaction",
	1018: "This refund amount will exceed the amount of the original transaction",
	1019: "Transaction instructions not found",
	1020: "Unable to save a card identifier that is already reusable",
	1021: "This release amount will exceed the amount of the original transaction",
	4001: "The VendorTxCode has been used before. All VendorTxCodes should be unique.",
	4042: "The VendorTxCode has been used before for another transaction.  All VendorTxCodes must be unique.",
	4044: "This Authorise would exceed 115% of the value of the original transaction.",
	9998: "Request timeout",
	9999: "An internal error occurred at Opayo",
}

// piReply is a handler's answer: an HTTP status and a JSON body.
type piReply struct {
	status int
	body   any
}

// piFailure answers a non-422 error as Opayo does: a single {"code","description"} object.
func piFailure(status, code int) piReply {
	return piReply{status, piError{Code: code, Description: piErrorText[code]}}
}

// piInvalid answers 422 with the errors array.
func piInvalid(errs []piError) piReply {
	return piReply{http.StatusUnprocessableEntity, map[string][]piError{"errors": errs}}
}

func writePiErrors(w http.ResponseWriter, status int, errs []piError) {
	writeJSON(w, status, map[string][]piError{"errors": errs})
}

func writePiReply(w http.ResponseWriter, rep piReply) {
	if rep.body == nil {
		w.WriteHeader(rep.status)
		return
	}
	writeJSON(w, rep.status, rep.body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// violations collects 422 errors; Opayo reports all of them at once.
type violations []piError

func (v *violations) add(code int, property, clientMessage string) {
	*v = append(*v, piError{Code: code, Property: property, Description: piErrorText[code], ClientMessage: clientMessage})
}

// required adds 1003 when value is blank and reports whether it was present.
func (v *violations) required(value, property, what string) bool {
	if strings.TrimSpace(value) == "" {
		v.add(1003, property, "The "+what+" is required")
		return false
	}
	return true
}

// maxLen adds 1004 when value is longer than n characters.
func (v *violations) maxLen(value string, n int, property, what string) {
	if len([]rune(value)) > n {
		v.add(1004, property, "The "+what+" is too long")
	}
}

// oneOf adds 1009 when a non-empty value is outside the allowed set.
func (v *violations) oneOf(value, property, what string, allowed ...string) {
	if value == "" {
		return
	}
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.add(1009, property, "The "+what+" is invalid")
}

// decodePiBody decodes a JSON request body. It returns a reply when the body is empty (422/1015),
// malformed (400/1000) or has a value of the wrong JSON type (422/1009 naming the property).
func decodePiBody(r *http.Request, v any) *piReply {
	body, err := readBody(r)
	if err != nil || len(strings.TrimSpace(string(body))) == 0 {
		rep := piInvalid([]piError{{Code: 1015, Description: piErrorText[1015]}})
		return &rep
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			rep := piInvalid([]piError{{Code: 1009, Property: typeErr.Field, Description: piErrorText[1009],
				ClientMessage: "The " + typeErr.Field + " has the wrong type"}})
			return &rep
		}
		rep := piFailure(http.StatusBadRequest, 1000)
		return &rep
	}
	return nil
}

// parseMinorAmount reads an integer amount in minor units. Strings and fractions give 1016, as
// APi notes real Opayo does; missing gives 1003.
func parseMinorAmount(raw json.RawMessage, property string, v *violations) (int64, bool) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		v.add(1003, property, "The amount is required")
		return 0, false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var anyv any
	if err := dec.Decode(&anyv); err != nil {
		v.add(1016, property, "The amount must be an integer")
		return 0, false
	}
	n, ok := anyv.(json.Number)
	if !ok {
		v.add(1016, property, "The amount must be an integer")
		return 0, false
	}
	i, err := n.Int64()
	if err != nil {
		v.add(1016, property, "The amount must be an integer")
		return 0, false
	}
	return i, true
}
