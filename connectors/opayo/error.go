package opayo

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/payhub/payhub/connectors/internal/redact"
)

// Class says what a caller should do about a failure. It is decided once, here, from Opayo's own
// code where there is one and from the HTTP status otherwise, so no caller reads Opayo's text.
type Class int

const (
	// ClassTransient failures may succeed unchanged on retry: transport errors, timeouts, HTTP
	// 408/429/5xx, Pi 9998/9999, Server "Status=ERROR". A transient failure of a POST that
	// creates something (a transaction, an instruction) may still have been applied; retry with
	// the same vendorTxCode and treat ClassDuplicate as "look it up".
	ClassTransient Class = iota + 1
	// ClassBusiness failures are Opayo refusing an operation that was well formed: transaction
	// type or status not applicable (1013, 1014), operation not allowed (1017), refund or release
	// beyond the original (1018, 1021, 4035, 4049), card already reusable (1020). Retrying the
	// same request gives the same answer.
	ClassBusiness
	// ClassInvalidRequest failures are requests Opayo (or this package, before sending) found
	// malformed or invalid: HTTP 400/422, Pi 1000, 1003–1005, 1007–1011, 1015, 1016, and the
	// legacy 3xxx/4xxx/5xxx registration codes. The request must be changed.
	ClassInvalidRequest
	// ClassNotFound failures name something Opayo does not know: merchant session key (1006, and
	// the 401/1002 Opayo gives a card-identifier call whose key expired or was used up),
	// transaction (1012), instructions (1019), Reporting 0043. Right after a 3-D Secure
	// completion a transaction can be briefly unknown, so a short retry there is reasonable.
	ClassNotFound
	// ClassConfiguration failures need a person: rejected credentials (401, 1001, 1002), a bad
	// Reporting signature or user (0010, 0008), missing permissions, a wrong URL.
	ClassConfiguration
	// ClassDuplicate is Opayo reporting that the vendorTxCode was used before (4042, 4001). After
	// a lost response this usually means the first attempt was applied: find that transaction
	// through Reporting GetTransactionDetail by vendorTxCode instead of sending it again.
	ClassDuplicate
)

// String returns the class name used in logs and metrics.
func (c Class) String() string {
	switch c {
	case ClassTransient:
		return "transient"
	case ClassBusiness:
		return "business"
	case ClassInvalidRequest:
		return "invalid_request"
	case ClassNotFound:
		return "not_found"
	case ClassConfiguration:
		return "configuration"
	case ClassDuplicate:
		return "duplicate"
	default:
		return "unknown"
	}
}

// Sentinels for errors.Is: an *Error matches the sentinel of its Class.
var (
	ErrTransient      = errors.New("opayo: transient failure")
	ErrBusiness       = errors.New("opayo: operation refused")
	ErrInvalidRequest = errors.New("opayo: invalid request")
	ErrNotFound       = errors.New("opayo: not found")
	ErrConfiguration  = errors.New("opayo: configuration failure")
	// ErrDuplicateVendorTxCode marks a vendorTxCode Opayo has seen before (4042, 4001).
	ErrDuplicateVendorTxCode = errors.New("opayo: vendorTxCode used before")
)

// ErrorDetail is one entry of a Pi error list:
// {"code":1005,"property":"cardDetails.cardholderName","description":…,"clientMessage":…}.
type ErrorDetail struct {
	// Code is Opayo's error code as text ("1005", "4042").
	Code string
	// Property names the offending request field; only on 422.
	Property string
	// Description is Opayo's own text.
	Description string
	// ClientMessage is Opayo's shopper-facing wording; only on 422.
	ClientMessage string
}

// Error is every failure this package returns from an Opayo call or a request it refused to
// send. Its text holds Opayo's code and description but never a request value, credential or
// URL query.
type Error struct {
	// Class steers the caller: retry, look up, fix the request, or escalate.
	Class Class
	// Op is the call, e.g. "CreateTransaction", "getTransactionDetail", "RegisterServerTransaction".
	Op string
	// HTTPStatus is the answer's status; 0 for transport failures and local validation.
	HTTPStatus int
	// Code is Opayo's own code: Pi "1018", Reporting "0010", legacy "4042"; empty when none.
	Code string
	// Message is Opayo's own text, or a description of the transport or validation failure.
	Message string
	// Property is the offending field of a Pi 422, when Opayo named one.
	Property string
	// ClientMessage is Pi's shopper-facing wording of the first error, when given.
	ClientMessage string
	// Details holds every entry when Pi returned an error list.
	Details []ErrorDetail
	// TransactionID is set when the error body still named a transaction (a legacy-shaped
	// decline, a Server registration that failed after Opayo assigned a VPSTxId).
	TransactionID string
	// Status is Opayo's textual status when the body carried one (NotAuthed, INVALID, ERROR).
	Status string

	cause error
}

// Error renders like "opayo: CreateTransaction: 1018 This refund amount will exceed the amount
// of the original transaction (HTTP 403)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("opayo: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Code != "" {
		b.WriteString(e.Code)
		b.WriteByte(' ')
	}
	if e.Property != "" {
		b.WriteString(e.Property)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if n := len(e.Details); n > 1 {
		fmt.Fprintf(&b, " (and %d more)", n-1)
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	return b.String()
}

// Unwrap exposes the transport or decoding cause (already stripped of URLs) to errors.Is/As.
func (e *Error) Unwrap() error { return e.cause }

// Is lets errors.Is(err, ErrTransient) and friends work without callers type-switching.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrTransient:
		return e.Class == ClassTransient
	case ErrBusiness:
		return e.Class == ClassBusiness
	case ErrInvalidRequest:
		return e.Class == ClassInvalidRequest
	case ErrNotFound:
		return e.Class == ClassNotFound
	case ErrConfiguration:
		return e.Class == ClassConfiguration
	case ErrDuplicateVendorTxCode:
		return e.Class == ClassDuplicate
	}
	return false
}

// IsTransient reports whether retrying the same call later may succeed.
func IsTransient(err error) bool { return errors.Is(err, ErrTransient) }

// IsBusiness reports whether Opayo refused a well-formed operation, so a retry is pointless.
func IsBusiness(err error) bool { return errors.Is(err, ErrBusiness) }

// IsInvalidRequest reports whether the request itself must change.
func IsInvalidRequest(err error) bool { return errors.Is(err, ErrInvalidRequest) }

// IsNotFound reports whether Opayo does not know the named key, transaction or instruction.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsConfiguration reports whether a person must fix credentials, permissions or URLs.
func IsConfiguration(err error) bool { return errors.Is(err, ErrConfiguration) }

// IsDuplicateVendorTxCode reports whether Opayo has seen the vendorTxCode before; the caller
// should look the earlier transaction up rather than send the request again.
func IsDuplicateVendorTxCode(err error) bool { return errors.Is(err, ErrDuplicateVendorTxCode) }

// codeClasses maps Opayo codes whose meaning does not depend on the HTTP status (opayo.md §2.9).
var codeClasses = map[string]Class{
	"1000": ClassInvalidRequest,
	"1001": ClassConfiguration, "1002": ClassConfiguration,
	"1003": ClassInvalidRequest, "1004": ClassInvalidRequest, "1005": ClassInvalidRequest,
	"1006": ClassNotFound,
	"1007": ClassInvalidRequest, "1008": ClassInvalidRequest, "1009": ClassInvalidRequest,
	"1010": ClassInvalidRequest, "1011": ClassInvalidRequest,
	"1012": ClassNotFound,
	"1013": ClassBusiness, "1014": ClassBusiness,
	"1015": ClassInvalidRequest, "1016": ClassInvalidRequest,
	"1017": ClassBusiness, "1018": ClassBusiness,
	"1019": ClassNotFound,
	// Opayo's table puts 1020 at HTTP 422, but "already reusable" is a state of the card
	// identifier, not a fault in the request.
	"1020": ClassBusiness,
	"1021": ClassBusiness,
	"9998": ClassTransient, "9999": ClassTransient,
	// Legacy status codes that also appear as Pi statusCode and in Server StatusDetail.
	"2000": ClassBusiness, "2001": ClassBusiness,
	"2002": ClassTransient, "2003": ClassTransient,
	"4001": ClassDuplicate, "4042": ClassDuplicate,
	"4026": ClassBusiness, "4034": ClassBusiness, "4035": ClassBusiness, "4036": ClassBusiness,
	"4038": ClassBusiness, "4041": ClassBusiness, "4044": ClassBusiness, "4049": ClassBusiness,
}

// codeClass classifies an Opayo code, falling back to "invalid request" for the other legacy
// 3xxx/4xxx/5xxx registration codes.
func codeClass(code string) (Class, bool) {
	if c, ok := codeClasses[code]; ok {
		return c, true
	}
	if len(code) == 4 && isDigits(code) && code[0] >= '3' && code[0] <= '5' {
		return ClassInvalidRequest, true
	}
	return 0, false
}

// statusClass classifies an HTTP status when the body named no known code.
func statusClass(status int) Class {
	switch {
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity:
		return ClassInvalidRequest
	case status == http.StatusUnauthorized:
		return ClassConfiguration
	case status == http.StatusForbidden:
		return ClassBusiness
	case status == http.StatusNotFound:
		return ClassNotFound
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return ClassTransient
	default:
		return ClassConfiguration
	}
}

// classifyPi decides the class of a Pi failure: a duplicate vendorTxCode anywhere in the list
// wins, then 401 and 404, then the first entry's known code, then the HTTP status.
//
// A 401 on a call authenticated with a merchant session key (card identifiers) is not a
// credentials problem: Opayo answers 1002 when that key is expired, used up or removed after
// three failures, and the remedy is a new key, so it is ClassNotFound like 1006.
func classifyPi(status int, bearer bool, e *Error) Class {
	codes := []string{e.Code}
	for _, d := range e.Details {
		codes = append(codes, d.Code)
	}
	for _, code := range codes {
		if c, ok := codeClasses[code]; ok && c == ClassDuplicate {
			return ClassDuplicate
		}
	}
	// These statuses are unambiguous whatever code comes with them: Opayo answers an unknown
	// card identifier on DELETE with 404 and 1011, whose table entry is 422 "invalid".
	switch status {
	case http.StatusUnauthorized:
		if bearer {
			return ClassNotFound
		}
		return ClassConfiguration
	case http.StatusNotFound:
		return ClassNotFound
	}
	if c, ok := codeClass(e.Code); ok {
		return c
	}
	return statusClass(status)
}

// classifyLegacy decides the class of a form-protocol answer that was not accepted: a duplicate
// vendorTxCode (by code, or by Direct's codeless wording) first, then ERROR as transient,
// NOTAUTHED and REJECTED as business, then the StatusDetail code, then INVALID and MALFORMED as
// invalid requests.
func classifyLegacy(status, code, detail string) Class {
	status = strings.ToUpper(strings.TrimSpace(status))
	lower := strings.ToLower(detail)
	codeCls, known := codeClass(code)
	switch {
	case known && codeCls == ClassDuplicate, strings.Contains(lower, "has been used before"):
		return ClassDuplicate
	case status == "ERROR":
		return ClassTransient
	case status == "NOTAUTHED" || status == "REJECTED":
		return ClassBusiness
	case known:
		return codeCls
	case strings.Contains(lower, "already been"):
		// "…has already been RELEASEd or ABORTed": the codeless wording of 4034/4036/4038.
		return ClassBusiness
	case status == "INVALID" || status == "MALFORMED":
		return ClassInvalidRequest
	}
	return ClassTransient
}

// reportingCodeClasses maps Reporting & Admin <errorcode>s (opayo.md §3.2).
var reportingCodeClasses = map[string]Class{
	"0001": ClassInvalidRequest, "0002": ClassInvalidRequest, "0019": ClassInvalidRequest,
	"0008": ClassConfiguration, "0010": ClassConfiguration, "0011": ClassConfiguration,
	"0013": ClassConfiguration, "0044": ClassConfiguration,
	"0038": ClassInvalidRequest, "0039": ClassInvalidRequest, "0042": ClassInvalidRequest,
	"0099": ClassInvalidRequest, "0235": ClassInvalidRequest,
	"0043": ClassNotFound,
	// 0009 is Opayo failing to read or write its own data; the request itself was fine.
	"0009": ClassTransient,
	// Row-window mistakes: endrow before startrow, over 50 without startrow, zero.
	"2222": ClassInvalidRequest, "2243": ClassInvalidRequest, "2244": ClassInvalidRequest,
}

func reportingCodeClass(code string) Class {
	if c, ok := reportingCodeClasses[code]; ok {
		return c
	}
	return ClassBusiness
}

// invalidRequest rejects a request before it is sent.
func invalidRequest(op, format string, args ...any) *Error {
	return &Error{Class: ClassInvalidRequest, Op: op, Message: fmt.Sprintf(format, args...)}
}

// configurationError reports a client set up without what a call needs.
func configurationError(op, format string, args ...any) *Error {
	return &Error{Class: ClassConfiguration, Op: op, Message: fmt.Sprintf(format, args...)}
}

// transportError wraps a failure to get an answer at all.
func transportError(op string, err error) *Error {
	cause := redact.Error(err)
	return &Error{Class: ClassTransient, Op: op, Message: cause.Error(), cause: cause}
}

// decodeError reports a 2xx answer this package could not read. It is transient: the operation
// may well have been applied, which a retry with the same vendorTxCode will reveal.
func decodeError(op string, status int, err error) *Error {
	return &Error{Class: ClassTransient, Op: op, HTTPStatus: status, Message: "unreadable response: " + sanitize(err.Error()), cause: err}
}

// sanitize makes outside text fit for an error: one line, bounded, and with anything that looks
// like a card number (12 or more digits in a row) replaced, in case Opayo ever echoes one.
func sanitize(s string) string {
	var b strings.Builder
	digits := 0
	start := 0
	flush := func(end int) {
		if digits >= 12 {
			b.WriteString(redacted)
		} else {
			b.WriteString(s[start:end])
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			if digits == 0 {
				start = i
			}
			digits++
			continue
		}
		if digits > 0 {
			flush(i)
			digits = 0
		}
		if c == '\r' || c == '\n' || c == '\t' {
			c = ' '
		}
		b.WriteByte(c)
		if b.Len() > 500 {
			break
		}
	}
	if digits > 0 {
		flush(len(s))
	}
	out := strings.TrimSpace(b.String())
	if len(out) > 500 {
		out = out[:500] + "…"
	}
	return strings.ToValidUTF8(out, "�")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// splitStatusDetail reads the legacy "NNNN : text" form; a detail without a code returns "".
func splitStatusDetail(detail string) (code, text string) {
	detail = strings.TrimSpace(detail)
	if len(detail) >= 4 && isDigits(detail[:4]) {
		rest := strings.TrimSpace(detail[4:])
		if rest == "" || rest[0] == ':' {
			return detail[:4], strings.TrimSpace(strings.TrimPrefix(rest, ":"))
		}
	}
	return "", detail
}
