package opayo

import (
	"errors"
	"fmt"
	"strings"
)

// The form-POST protocols (Server, Direct and the shared refund/void/release/abort/repeat
// services) answer with "Key=Value" lines separated by CRLF (opayo.md §4.1, recordings in
// testdata/legacy).

// maxLegacyBody bounds a CRLF answer; the largest real one (a 3DSv1 redirect) is under 1 KB.
const maxLegacyBody = 64 << 10

// Legacy statuses that mean the request was accepted.
const (
	LegacyStatusOK         = "OK"
	LegacyStatusOKRepeated = "OK REPEATED"
)

// LegacyResponse is one parsed CRLF answer. Fields not named here are available through Field.
type LegacyResponse struct {
	VPSProtocol string
	// Status is OK, OK REPEATED, INVALID, MALFORMED, ERROR, NOTAUTHED, REJECTED, 3DAUTH, ...
	Status string
	// StatusDetail is the whole text; StatusCode and StatusText split its "NNNN : text" form
	// (StatusCode is empty when the detail has no code).
	StatusDetail       string
	StatusCode         string
	StatusText         string
	VPSTxID            string
	SecurityKey        Secret
	TxAuthNo           string
	AVSCV2             string
	AddressResult      string
	PostCodeResult     string
	CV2Result          string
	ThreeDSecureStatus string
	MD                 string
	ACSURL             string
	PAReq              string
	NextURL            string
	RedirectURL        string
	Token              string
	BankAuthCode       string
	DeclineCode        string

	fields map[string]string
}

// ParseLegacyResponse reads a CRLF "Key=Value" body. Bare LF line ends, a missing final line
// end and blank lines are accepted; a line without "=", an empty or repeated key, or a body
// without Status is an error. Keys are matched case-insensitively (Opayo writes RedirectURL,
// some clients RedirectUrl).
func ParseLegacyResponse(body []byte) (*LegacyResponse, error) {
	if len(body) > maxLegacyBody {
		return nil, errors.New("opayo: response too large")
	}
	fields := map[string]string{}
	for i, line := range strings.Split(string(body), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			// The line itself is not quoted: it may hold a SecurityKey.
			return nil, fmt.Errorf("opayo: line %d is not Key=Value", i+1)
		}
		lk := strings.ToLower(k)
		if _, dup := fields[lk]; dup {
			return nil, fmt.Errorf("opayo: key %q appears twice", sanitize(truncate(k, 40)))
		}
		fields[lk] = v
	}
	if _, ok := fields["status"]; !ok {
		return nil, errors.New("opayo: response has no Status")
	}
	r := &LegacyResponse{fields: fields}
	r.VPSProtocol = r.Field("VPSProtocol")
	r.Status = strings.TrimSpace(r.Field("Status"))
	r.StatusDetail = r.Field("StatusDetail")
	r.StatusCode, r.StatusText = splitStatusDetail(r.StatusDetail)
	r.VPSTxID = r.Field("VPSTxId")
	r.SecurityKey = Secret(r.Field("SecurityKey"))
	r.TxAuthNo = r.Field("TxAuthNo")
	r.AVSCV2 = r.Field("AVSCV2")
	r.AddressResult = r.Field("AddressResult")
	r.PostCodeResult = r.Field("PostCodeResult")
	r.CV2Result = r.Field("CV2Result")
	r.ThreeDSecureStatus = r.Field("3DSecureStatus")
	r.MD = r.Field("MD")
	r.ACSURL = r.Field("ACSURL")
	r.PAReq = r.Field("PAReq")
	r.NextURL = r.Field("NextURL")
	r.RedirectURL = r.Field("RedirectURL")
	r.Token = r.Field("Token")
	r.BankAuthCode = r.Field("BankAuthCode")
	r.DeclineCode = r.Field("DeclineCode")
	return r, nil
}

// Field returns the value of key (case-insensitive), or "" when absent.
func (r *LegacyResponse) Field(key string) string { return r.fields[strings.ToLower(key)] }

// Accepted reports whether Status says the request went through: OK, OK REPEATED, REGISTERED,
// AUTHENTICATED, or 3DAUTH (a redirect for 3-D Secure, not a failure).
func (r *LegacyResponse) Accepted() bool {
	switch strings.ToUpper(r.Status) {
	case LegacyStatusOK, LegacyStatusOKRepeated, "REGISTERED", "AUTHENTICATED", "3DAUTH", "PPREDIRECT":
		return true
	}
	return false
}

// Err returns nil for an accepted response and otherwise an *Error classified from Status and
// the StatusDetail code: INVALID and MALFORMED are invalid requests (duplicates and the
// business codes excepted), NOTAUTHED and REJECTED business outcomes, ERROR transient.
func (r *LegacyResponse) Err(op string) error {
	if r.Accepted() {
		return nil
	}
	e := &Error{Op: op, Code: sanitize(r.StatusCode), Message: sanitize(r.StatusText), Status: sanitize(truncate(r.Status, 20)), TransactionID: sanitize(r.VPSTxID)}
	if e.Message == "" {
		e.Message = "Status=" + e.Status
	}
	e.Class = classifyLegacy(r.Status, r.StatusCode, r.StatusDetail)
	return e
}
