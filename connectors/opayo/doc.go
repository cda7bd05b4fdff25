// Package opayo is Payhub's typed client for Opayo (formerly Sage Pay, now Elavon): the Pi REST
// API v1 (merchant session keys, card identifiers, transactions, instructions, 3-D Secure), the
// Reporting & Admin XML API (transaction detail and lists, settlement batches), and the
// form-POST Server protocol (registration, the signed notification POST and the merchant's
// reply). It owns the whole wire contract, so callers see typed requests and results and *Error
// values whose Class is decided once, in error.go.
//
// Money is decimal.Decimal in major units at this package's API and integer minor units on the
// Pi wire, converted by the currency's exponent; an amount with more decimals than its currency
// allows is refused before anything is sent.
//
// The client never logs. Card numbers, security codes and security keys are Secret values that
// print as "[redacted]", Config.String hides every password, and no error built here contains a
// request value, a credential or a URL query string.
package opayo
