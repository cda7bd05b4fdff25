package cybersource

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Class says what a caller should do about a failure. It is decided once, here, so no caller has to
// read Cybersource's status codes or texts.
type Class int

const (
	// ClassTransient failures may succeed later: network errors, timeouts, 502 SERVER_ERROR
	// (SYSTEM_ERROR, SERVER_TIMEOUT, SERVICE_TIMEOUT), other 5xx, 408, 429, 400 PROCESSOR_UNAVAILABLE
	// and a 2xx answer that could not be decoded. For a call that moves money the outcome is then
	// unknown: see OutcomeUnknown and Client.FindByReference before retrying.
	ClassTransient Class = iota + 1
	// ClassInvalidRequest is Cybersource refusing the request itself (400 INVALID_REQUEST with
	// MISSING_FIELD, INVALID_DATA, DUPLICATE_REQUEST, EXCEEDS_AUTH_AMOUNT, NOT_VOIDABLE…, a TMS 409,
	// or this package's own checks before sending). The same request gets the same answer.
	ClassInvalidRequest
	// ClassDeclined is a transaction Cybersource created and refused (201 with DECLINED,
	// AUTHORIZED_RISK_DECLINED, FAILED…). Calls never return it as their error: a decline is a
	// result, and Outcome.Err converts it for callers who want an error.
	ClassDeclined
	// ClassAuth is a refused credential or permission (401, 403): a person must fix the key,
	// secret, merchant id or account configuration.
	ClassAuth
	// ClassNotFound is an unknown id or an empty report (404, 410). TSS indexes asynchronously, so
	// a transaction looked up right after it was created may be not found for a while.
	ClassNotFound
	// ClassConfiguration is a mistake on our side that no retry fixes: a bad base URL, an
	// unexpected HTTP status (405, 415…), a request that could not be built.
	ClassConfiguration
)

// String returns the class name used in logs and metrics.
func (c Class) String() string {
	switch c {
	case ClassTransient:
		return "transient"
	case ClassInvalidRequest:
		return "invalid_request"
	case ClassDeclined:
		return "declined"
	case ClassAuth:
		return "auth"
	case ClassNotFound:
		return "not_found"
	case ClassConfiguration:
		return "configuration"
	default:
		return "unknown"
	}
}

// Sentinels for errors.Is: an *Error matches the sentinel of its Class.
var (
	ErrTransient      = errors.New("cybersource: transient failure")
	ErrInvalidRequest = errors.New("cybersource: invalid request")
	ErrDeclined       = errors.New("cybersource: declined")
	ErrAuth           = errors.New("cybersource: authentication failed")
	ErrNotFound       = errors.New("cybersource: not found")
	ErrConfiguration  = errors.New("cybersource: configuration failure")
)

// Reason codes the client itself acts on.
const (
	// ReasonDuplicateRequest is the 400 reason for a clientReferenceInformation.code reused within
	// Cybersource's duplicate window (15 minutes by default).
	ReasonDuplicateRequest = "DUPLICATE_REQUEST"
	// ReasonProcessorUnavailable is a 400 reason that, unlike the others, is worth retrying.
	ReasonProcessorUnavailable = "PROCESSOR_UNAVAILABLE"
)

// ErrorDetail names one offending field, from a 400's details[] ({field, reason}) or a TMS error's
// details[] ({name, location}).
type ErrorDetail struct {
	Field    string `json:"field"`
	Reason   string `json:"reason"`
	Location string `json:"location,omitempty"`
}

// Error is every failure this package returns from a Cybersource call.
type Error struct {
	// Class steers the caller: retry (after a lookup), fix the request, or escalate.
	Class Class
	// Op is the client method, e.g. "CreatePayment".
	Op string
	// Method and Path are the HTTP request line, without query string; ids only, never secrets.
	Method string
	Path   string
	// HTTPStatus is the answer's status code, 0 when no answer arrived.
	HTTPStatus int
	// Status is Cybersource's status (INVALID_REQUEST, SERVER_ERROR, DECLINED, FORBIDDEN_ACCESS…).
	Status string
	// Reason is Cybersource's reason (MISSING_FIELD, SERVER_TIMEOUT, PROCESSOR_DECLINED…), the TMS
	// error type (notFound, invalidFields…) or an OAuth rmsg error code.
	Reason string
	// Message is Cybersource's own text, or a description of the local or transport failure.
	Message string
	// Details lists offending fields when Cybersource named them.
	Details []ErrorDetail
	// ID is the transaction id, set for declines.
	ID string
	// SubmitTimeUTC is Cybersource's timestamp of the answer, when it gave one.
	SubmitTimeUTC string

	notSent bool
	cause   error
}

// Error renders like "cybersource: CreatePayment: 400 INVALID_REQUEST/MISSING_FIELD: message
// [orderInformation.billTo.country MISSING_FIELD]".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("cybersource: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.HTTPStatus != 0 {
		b.WriteString(strconv.Itoa(e.HTTPStatus))
		b.WriteByte(' ')
	}
	switch {
	case e.Status != "" && e.Reason != "":
		b.WriteString(e.Status + "/" + e.Reason)
	case e.Status != "":
		b.WriteString(e.Status)
	case e.Reason != "":
		b.WriteString(e.Reason)
	default:
		b.WriteString(e.Class.String())
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Details) > 0 {
		b.WriteString(" [")
		for i, d := range e.Details {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strings.TrimSpace(d.Field + " " + d.Reason))
		}
		b.WriteByte(']')
	}
	return b.String()
}

// Unwrap exposes the transport or decoding cause to errors.Is/As.
func (e *Error) Unwrap() error { return e.cause }

// Is lets errors.Is(err, ErrTransient) and friends work without a type switch.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrTransient:
		return e.Class == ClassTransient
	case ErrInvalidRequest:
		return e.Class == ClassInvalidRequest
	case ErrDeclined:
		return e.Class == ClassDeclined
	case ErrAuth:
		return e.Class == ClassAuth
	case ErrNotFound:
		return e.Class == ClassNotFound
	case ErrConfiguration:
		return e.Class == ClassConfiguration
	}
	return false
}

// IsTransient reports whether the same call may succeed later. For a call that moves money, read
// OutcomeUnknown first.
func IsTransient(err error) bool { return errors.Is(err, ErrTransient) }

// IsInvalidRequest reports whether Cybersource (or this package) refused the request as built.
func IsInvalidRequest(err error) bool { return errors.Is(err, ErrInvalidRequest) }

// IsDeclined reports whether err is a decline converted by Outcome.Err.
func IsDeclined(err error) bool { return errors.Is(err, ErrDeclined) }

// IsBusiness reports whether retrying the same request is pointless because Cybersource refused
// it on its merits: an invalid request or a decline.
func IsBusiness(err error) bool { return IsInvalidRequest(err) || IsDeclined(err) }

// IsAuth reports whether credentials or permissions were refused.
func IsAuth(err error) bool { return errors.Is(err, ErrAuth) }

// IsNotFound reports whether the id, search or report does not exist (yet).
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsConfiguration reports whether a person must fix the client's configuration.
func IsConfiguration(err error) bool { return errors.Is(err, ErrConfiguration) }

// IsDuplicate reports whether Cybersource refused a request as a duplicate of an earlier one with
// the same clientReferenceInformation.code: that earlier request reached Cybersource, so look it
// up with Client.FindByReference rather than sending it again.
func IsDuplicate(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Reason == ReasonDuplicateRequest
}

// OutcomeUnknown reports whether err leaves it unknown if a state-changing call (a payment,
// capture, refund, void, reversal, TMS write) was applied. It is true for transient errors on
// non-GET requests, unless the request provably never left (for example, the connection was
// refused). The caller must then not blindly resend: per the protocol's §10,
//
//  1. look the transaction up with Client.FindByReference(ctx, clientReferenceInformation.code);
//     TSS indexes asynchronously, so a miss right away is not proof, retry the lookup for a while;
//  2. if it exists, continue from its status; if it never appears, resend with the same code, and
//     treat a DUPLICATE_REQUEST answer (IsDuplicate) as "it exists, keep looking";
//  3. or cancel it blindly with Client.TimeoutVoid / Client.TimeoutReversal keyed by the
//     clientReferenceInformation.transactionId sent with the original request.
func OutcomeUnknown(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Class != ClassTransient || e.notSent {
		return false
	}
	return e.Method != "" && e.Method != http.MethodGet
}

// maxMessageBytes caps the text copied from a response into an Error.
const maxMessageBytes = 512

// errorBody is the union of Cybersource's error shapes: top-level status/reason/message/details
// (400, 403, 404, 502), {"response":{"rmsg":…}} (401), {"errors":[{type,message,details}]} (TMS)
// and 201's errorInformation.
type errorBody struct {
	SubmitTimeUTC    string            `json:"submitTimeUtc"`
	ID               string            `json:"id"`
	Status           string            `json:"status"`
	Reason           string            `json:"reason"`
	Message          string            `json:"message"`
	Details          []ErrorDetail     `json:"details"`
	ErrorInformation *ErrorInformation `json:"errorInformation"`
	Response         *struct {
		Rmsg json.RawMessage `json:"rmsg"`
	} `json:"response"`
	Errors []struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Details []struct {
			Name     string `json:"name"`
			Location string `json:"location"`
		} `json:"details"`
	} `json:"errors"`
}

// parseErrorBody reads what it can from an error answer; a body of another shape leaves the
// fields empty rather than failing, because the HTTP status alone classifies the error.
func parseErrorBody(body []byte) errorBody {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		// A field of an unexpected type spoils the whole struct; keep the simple fields.
		eb = errorBody{}
		var loose map[string]json.RawMessage
		if json.Unmarshal(body, &loose) == nil {
			for k, dst := range map[string]*string{"submitTimeUtc": &eb.SubmitTimeUTC, "status": &eb.Status, "reason": &eb.Reason, "message": &eb.Message, "id": &eb.ID} {
				_ = json.Unmarshal(loose[k], dst)
			}
		}
	}
	if eb.Response != nil && len(eb.Response.Rmsg) > 0 {
		var text string
		var obj struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
			Message          string `json:"message"`
		}
		switch {
		case json.Unmarshal(eb.Response.Rmsg, &text) == nil:
			if eb.Message == "" {
				eb.Message = text
			}
		case json.Unmarshal(eb.Response.Rmsg, &obj) == nil:
			if eb.Reason == "" {
				eb.Reason = obj.Error
			}
			if eb.Message == "" {
				eb.Message = firstNonEmpty(obj.Message, obj.ErrorDescription)
			}
		}
	}
	if len(eb.Errors) > 0 {
		first := eb.Errors[0]
		if eb.Reason == "" {
			eb.Reason = first.Type
		}
		if eb.Message == "" {
			eb.Message = first.Message
		}
		for _, d := range first.Details {
			eb.Details = append(eb.Details, ErrorDetail{Field: d.Name, Location: d.Location})
		}
	}
	if eb.ErrorInformation != nil {
		if eb.Reason == "" {
			eb.Reason = eb.ErrorInformation.Reason
		}
		if eb.Message == "" {
			eb.Message = eb.ErrorInformation.Message
		}
		if len(eb.Details) == 0 {
			eb.Details = eb.ErrorInformation.Details
		}
	}
	eb.Message = truncate(eb.Message, maxMessageBytes)
	return eb
}

// classifyResponse turns a non-2xx answer into an *Error.
func classifyResponse(op, method, path string, status int, body []byte) *Error {
	eb := parseErrorBody(body)
	e := &Error{
		Op: op, Method: method, Path: path, HTTPStatus: status,
		Status: eb.Status, Reason: eb.Reason, Message: eb.Message, Details: eb.Details,
		ID: eb.ID, SubmitTimeUTC: eb.SubmitTimeUTC,
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	switch {
	case status == http.StatusBadRequest && e.Reason == ReasonProcessorUnavailable:
		e.Class = ClassTransient
	case status == http.StatusBadRequest, status == http.StatusConflict, status == http.StatusUnprocessableEntity,
		status == http.StatusFailedDependency:
		e.Class = ClassInvalidRequest
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		e.Class = ClassAuth
	case status == http.StatusNotFound, status == http.StatusGone:
		e.Class = ClassNotFound
	case status >= 500, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		e.Class = ClassTransient
	default:
		e.Class = ClassConfiguration
	}
	return e
}

// transportError wraps a failure to get an answer. A request that provably never left (dial
// failure) is marked so OutcomeUnknown stays false.
func transportError(op, method, path string, err error, notSent bool) *Error {
	return &Error{Class: ClassTransient, Op: op, Method: method, Path: path, Message: err.Error(), notSent: notSent, cause: err}
}

// localError rejects a request before it is sent.
func localError(op string, class Class, format string, args ...any) *Error {
	return &Error{Class: class, Op: op, Message: fmt.Sprintf(format, args...), notSent: true}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	// Do not leave half a UTF-8 sequence at the cut.
	for len(s) > 0 {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size > 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s + "…"
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
