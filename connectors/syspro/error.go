package syspro

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Class says what a caller should do about a failure: retry it, give up on this document, or page
// an operator. It is decided once, here, so no caller has to read SYSPRO's text.
type Class int

const (
	// ClassTransient failures may succeed unchanged on retry: transport errors, timeouts, 5xx, and a
	// session that SYSPRO evicted or expired.
	ClassTransient Class = iota + 1
	// ClassBusiness failures are SYSPRO rejecting this document (stock code not found, invalid
	// customer, closed period); retrying the same document gives the same answer.
	ClassBusiness
	// ClassConfiguration failures need a person: bad operator password, unknown company, an
	// unlicensed or unknown business object, a broken SYSPRO install.
	ClassConfiguration
)

// String returns the class name used in logs and metrics.
func (c Class) String() string {
	switch c {
	case ClassTransient:
		return "transient"
	case ClassBusiness:
		return "business"
	case ClassConfiguration:
		return "configuration"
	default:
		return "unknown"
	}
}

// Sentinels for errors.Is. An *Error matches the sentinel of its Class, and ErrSession as well when
// SYSPRO rejected the session itself.
var (
	ErrTransient     = errors.New("syspro: transient failure")
	ErrBusiness      = errors.New("syspro: business rule rejected the document")
	ErrConfiguration = errors.New("syspro: configuration failure")
	// ErrSession marks a stale, evicted or expired session; the pool logs on again once.
	ErrSession = errors.New("syspro: session rejected")
	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("syspro: client closed")
)

// ElementError is one element-level failure from a business object's output, e.g.
// <stockcode><Value>1004</Value><ErrorNumber>240004</ErrorNumber><ErrorDescription>…</stockcode>.
type ElementError struct {
	// Element is the name of the element that carried the error, as SYSPRO spelled it.
	Element string
	// Value is the rejected input value, when SYSPRO echoes it.
	Value string
	// Number is SYSPRO's error number, 0 when it gave none.
	Number int
	// Description is SYSPRO's own text.
	Description string
}

// Error is every failure this package returns from a SYSPRO call.
type Error struct {
	// Class steers the caller: retry, reject the document, or escalate.
	Class Class
	// Op is the REST method, e.g. "Logon" or "Transaction/Post".
	Op string
	// BusinessObject is e.g. "SORTOI"; empty for Logon, Logoff and GetLogonProfile.
	BusinessObject string
	// Number is SYSPRO's error number (240004), 0 when SYSPRO gave none.
	Number int
	// Message is SYSPRO's own text, or a description of the transport failure.
	Message string
	// Elements holds every element-level error when there were several.
	Elements []ElementError
	// HTTPStatus is set for non-2xx answers.
	HTTPStatus int

	session bool
	cause   error
}

// Error renders like "syspro: SORTOI: 240004 Stock code 'B100' not found".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("syspro: ")
	if e.BusinessObject != "" {
		b.WriteString(e.BusinessObject)
	} else {
		b.WriteString(e.Op)
	}
	b.WriteString(": ")
	if e.Number != 0 {
		b.WriteString(strconv.Itoa(e.Number))
		b.WriteByte(' ')
	}
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap exposes the transport cause (already stripped of URLs) to errors.Is/As.
func (e *Error) Unwrap() error { return e.cause }

// Is lets errors.Is(err, ErrTransient) and friends work without callers type-switching.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrTransient:
		return e.Class == ClassTransient
	case ErrBusiness:
		return e.Class == ClassBusiness
	case ErrConfiguration:
		return e.Class == ClassConfiguration
	case ErrSession:
		return e.session
	}
	return false
}

// IsTransient reports whether retrying the same call later may succeed.
func IsTransient(err error) bool { return errors.Is(err, ErrTransient) }

// IsBusiness reports whether SYSPRO rejected the document itself, so a retry is pointless.
func IsBusiness(err error) bool { return errors.Is(err, ErrBusiness) }

// IsConfiguration reports whether a person must fix credentials, licensing or the install.
func IsConfiguration(err error) bool { return errors.Is(err, ErrConfiguration) }

// configurationMarkers are fragments of SYSPRO's ERROR texts that no retry can fix. SYSPRO's
// wording is only partly public (syspro.md §4), so matching is by fragment, case-insensitively.
var configurationMarkers = []string{
	"invalid operator",
	"operator password",
	"invalid company",
	"company password",
	"e.net exception",
	"not licensed",
	"licence",
	"license",
	"business object",
}

// serverFaultMarkers are ERROR texts of a struggling application server rather than of the request:
// SYSPRO's BaseDir8 registry read fails intermittently on a working install (the captures show it on
// a Logoff right after successful calls), so the call is worth retrying.
var serverFaultMarkers = []string{
	"base directory",
	"basedir",
}

// sessionMarkers are fragments seen or expected when a UserId is stale, evicted or expired.
var sessionMarkers = []string{
	"session",
	"userid",
	"user id",
	"not logged on",
	"logged off",
	"expired",
	"evicted",
	"timed out",
}

// classifyText turns an "ERROR: ..." body into an *Error. Logon failures are configuration unless
// they look like a full licence class, which frees up by itself.
func classifyText(op, bo, text string) *Error {
	msg := strings.TrimSpace(text)
	if len(msg) >= len("ERROR") && strings.EqualFold(msg[:len("ERROR")], "ERROR") {
		msg = strings.TrimSpace(strings.TrimLeft(msg[len("ERROR"):], ":"))
	}
	e := &Error{Op: op, BusinessObject: bo, Message: msg}
	lower := strings.ToLower(msg)
	if n, ok := leadingNumber(lower); ok {
		e.Number = n
	}
	switch {
	case containsAny(lower, configurationMarkers):
		e.Class = ClassConfiguration
		if strings.Contains(lower, "e.net exception") && e.Number == 0 {
			e.Number = trailingNumber(lower)
		}
	case containsAny(lower, serverFaultMarkers):
		e.Class = ClassTransient
	case containsAny(lower, sessionMarkers):
		e.Class = ClassTransient
		e.session = true
	case op == opLogon:
		e.Class = ClassConfiguration
	default:
		e.Class = ClassBusiness
	}
	return e
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// leadingNumber reads "240004 Stock code ..." style messages.
func leadingNumber(s string) (int, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 9 || (i < len(s) && s[i] != ' ') {
		return 0, false
	}
	n, err := strconv.Atoi(s[:i])
	return n, err == nil
}

// trailingNumber reads "e.net exception raised: 100000".
func trailingNumber(s string) int {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if len(fields) == 0 {
		return 0
	}
	n, err := strconv.Atoi(fields[len(fields)-1])
	if err != nil || len(fields[len(fields)-1]) > 9 {
		return 0
	}
	return n
}

// elementsError summarises element-level failures as one Business error whose Number and Message
// are the first failure's, so the common single-error case reads naturally.
func elementsError(op, bo string, elems []ElementError) *Error {
	e := &Error{Class: ClassBusiness, Op: op, BusinessObject: bo, Elements: elems}
	if len(elems) > 0 {
		e.Number = elems[0].Number
		e.Message = elems[0].Description
	}
	if len(elems) > 1 {
		e.Message = fmt.Sprintf("%s (and %d more)", e.Message, len(elems)-1)
	}
	return e
}

// invalidRequest rejects a document before it is sent; it is Business because the same document
// will always be rejected.
func invalidRequest(bo, format string, args ...any) *Error {
	return &Error{Class: ClassBusiness, Op: "validate", BusinessObject: bo, Message: fmt.Sprintf(format, args...)}
}
