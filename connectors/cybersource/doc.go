// Package cybersource is Payhub's typed client for the Cybersource REST API: payments and their
// follow-ons (/pts), transaction search (/tss), Decision Manager review actions (/risk), the Token
// Management Service (/tms) and reporting (/reporting), signed with HTTP Signature or a shared-secret
// JWT. It also verifies and parses webhook notifications and streams the Payment Batch Detail CSV.
//
// Failures are classified once, in error.go, into *Error values that keep Cybersource's own status,
// reason and message. A declined payment is not a Go error: Cybersource answers 201 and the result
// carries the status and reason (see [Outcome.Err] for callers who want one). After a transient
// error on a call that moves money the outcome is unknown; see [Client.FindByReference].
//
// The client never logs. Card numbers, security codes, the shared secret and webhook keys never
// appear in an error string or in the String form of any value this package defines. Transient
// tokens never appear in an error string either, but PaymentRequest.TransientTokenJWT is a plain
// string that fmt prints: do not log a PaymentRequest that carries one.
package cybersource
