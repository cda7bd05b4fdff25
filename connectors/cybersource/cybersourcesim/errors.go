package cybersourcesim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Reasons of 400 INVALID_REQUEST and 502 SERVER_ERROR answers (protocol doc §3, §4, §10).
const (
	reasonMissingField           = "MISSING_FIELD"
	reasonInvalidData            = "INVALID_DATA"
	reasonInvalidAmount          = "INVALID_AMOUNT"
	reasonDuplicateRequest       = "DUPLICATE_REQUEST"
	reasonInvalidCard            = "INVALID_CARD"
	reasonCardTypeNotAccepted    = "CARD_TYPE_NOT_ACCEPTED"
	reasonExceedsAuthAmount      = "EXCEEDS_AUTH_AMOUNT"
	reasonAuthAlreadyReversed    = "AUTH_ALREADY_REVERSED"
	reasonTransactionSettled     = "TRANSACTION_ALREADY_SETTLED"
	reasonMissingAuth            = "MISSING_AUTH"
	reasonCaptureAlreadyVoided   = "CAPTURE_ALREADY_VOIDED"
	reasonNotVoidable            = "NOT_VOIDABLE"
	reasonSystemError            = "SYSTEM_ERROR"
	reasonServerTimeout          = "SERVER_TIMEOUT"
	statusInvalidRequest         = "INVALID_REQUEST"
	statusServerError            = "SERVER_ERROR"
	statusNotFound               = "NOT_FOUND"
	reasonNotFound               = "NOT_FOUND"
	statusForbidden              = "FORBIDDEN_ACCESS"
	messageServerSystemError     = "Error - General system failure."
	messageServerTimeout         = "Error - The request was received but a server time-out occurred. This error does not include time-outs between the client and the server."
	messageMissingFieldPrefix    = "Declined - The request is missing one or more fields"
	messageInvalidDataPrefix     = "Declined - One or more fields in the request contains invalid data"
	messageDuplicateRequest      = "Declined - The merchantReferenceCode sent with this authorization request matches the merchantReferenceCode of another authorization request that you sent in the last 15 minutes."
	messageNotVoidable           = "Declined - The capture or credit is not voidable because the capture or credit information has already been submitted to your processor."
	messageAuthAlreadyReversed   = "Declined - The authorization has already been reversed."
	messageTransactionSettled    = "Declined - The authorization has already been captured"
	messageExceedsAuthAmount     = "Declined - The requested amount exceeds the originally authorized amount."
	messageCaptureAlreadyVoided  = "Declined - The capture has already been voided."
	messageRefundExceedsCaptured = "Declined - The requested refund amount exceeds the amount captured and not yet refunded."
)

// fieldDetail names one offending field of a 400.
type fieldDetail struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// ptsError is the top-level error body of /pts, /tss and /risk: 400, 404 and 502.
type ptsError struct {
	SubmitTimeUtc string        `json:"submitTimeUtc"`
	Status        string        `json:"status"`
	Reason        string        `json:"reason"`
	Message       string        `json:"message"`
	Details       []fieldDetail `json:"details,omitempty"`
}

// apiError is an error answer: an HTTP status and the body to send with it.
type apiError struct {
	status int
	body   any
	// transientTokenUsed marks the refusal of a transient token already used for an
	// authorization, which a retry of that same payment answers as DUPLICATE_REQUEST instead.
	transientTokenUsed bool
}

func (e *apiError) Error() string {
	b, _ := json.Marshal(e.body)
	return http.StatusText(e.status) + ": " + string(b)
}

// invalidRequest is a 400 INVALID_REQUEST with the given reason.
func invalidRequest(now time.Time, reason, message string, details ...fieldDetail) *apiError {
	return &apiError{status: http.StatusBadRequest, body: ptsError{
		SubmitTimeUtc: utcStamp(now), Status: statusInvalidRequest, Reason: reason, Message: message, Details: details}}
}

// missingFields is a 400 MISSING_FIELD naming every missing field.
func missingFields(now time.Time, fields ...string) *apiError {
	details := make([]fieldDetail, len(fields))
	for i, f := range fields {
		details[i] = fieldDetail{Field: f, Reason: reasonMissingField}
	}
	return invalidRequest(now, reasonMissingField, messageMissingFieldPrefix+": "+strings.Join(fields, ", "), details...)
}

// invalidField is a 400 INVALID_DATA naming one field.
func invalidField(now time.Time, field, why string) *apiError {
	return invalidRequest(now, reasonInvalidData, messageInvalidDataPrefix+": "+field+" "+why,
		fieldDetail{Field: field, Reason: reasonInvalidData})
}

// notFound is the 404 of an unknown id (the shape is not documented; §10).
func notFound(now time.Time, message string) *apiError {
	return &apiError{status: http.StatusNotFound, body: ptsError{
		SubmitTimeUtc: utcStamp(now), Status: statusNotFound, Reason: reasonNotFound, Message: message}}
}

// serverError is a 502 SERVER_ERROR with SYSTEM_ERROR or SERVER_TIMEOUT.
func serverError(now time.Time, reason string) *apiError {
	msg := messageServerSystemError
	if reason == reasonServerTimeout {
		msg = messageServerTimeout
	}
	return &apiError{status: http.StatusBadGateway, body: ptsError{
		SubmitTimeUtc: utcStamp(now), Status: statusServerError, Reason: reason, Message: msg}}
}

// forbidden is the 403 of a request for another organization.
func forbidden(now time.Time, message string) *apiError {
	return &apiError{status: http.StatusForbidden, body: ptsError{
		SubmitTimeUtc: utcStamp(now), Status: statusForbidden, Reason: statusForbidden, Message: message}}
}

// reportingError is the error body of /reporting: {submitTimeUtc, reason, message, details}.
func reportingError(now time.Time, status int, reason, message string, details ...fieldDetail) *apiError {
	body := map[string]any{"submitTimeUtc": utcStamp(now), "reason": reason, "message": message}
	if len(details) > 0 {
		body["details"] = details
	}
	return &apiError{status: status, body: body}
}

// TMS error types (protocol doc §9).
const (
	tmsNotFound      = "notFound"
	tmsInvalidFields = "invalidFields"
	tmsMissingFields = "missingFields"
	tmsConflict      = "conflict"
	tmsNotAvailable  = "notAvailable"
)

// tmsDetail names one offending field of a TMS error.
type tmsDetail struct {
	Name     string `json:"name"`
	Location string `json:"location,omitempty"`
}

// tmsError is a TMS error: {"errors":[{"type","message","details"}]}.
func tmsError(status int, typ, message string, fields ...string) *apiError {
	details := make([]tmsDetail, 0, len(fields))
	for _, f := range fields {
		details = append(details, tmsDetail{Name: f, Location: "body"})
	}
	return &apiError{status: status, body: map[string]any{
		"errors": []map[string]any{{"type": typ, "message": message, "details": details}}}}
}

// writeAPIError sends an error answer.
func writeAPIError(w http.ResponseWriter, e *apiError) { writeJSON(w, e.status, e.body) }

// writeJSON sends v as application/json.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeBody(w, status, "application/json;charset=utf-8", v)
}

// writeHAL sends v as application/hal+json, as Cybersource answers successful /pts and /tss calls.
func writeHAL(w http.ResponseWriter, status int, v any) {
	writeBody(w, status, "application/hal+json;charset=utf-8", v)
}

func writeBody(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// utcStamp formats t as Cybersource's submitTimeUtc: YYYY-MM-DDThh:mm:ssZ.
func utcStamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
