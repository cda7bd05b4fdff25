package opayosim

import (
	"crypto/rand"
	"fmt"
	"strings"
)

// newGUID returns an upper-case GUID-like identifier, the shape of Pi transaction ids, merchant
// session keys and card identifiers (e.g. T6569400-1516-0A3F-E3FA-7F222CC79221).
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newSecurityKey returns a 10-character upper-case alphanumeric SecurityKey (e.g. IK776BWNHN).
func newSecurityKey() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b [10]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, len(b))
	for i, v := range b {
		out[i] = alphabet[int(v)%len(alphabet)]
	}
	return string(out)
}

// braced writes a transaction id the way the form protocols and Reporting do: {GUID}.
func braced(id string) string { return "{" + id + "}" }

// unbraced normalises a VPSTxId or Pi transactionId to the stored key: upper case, no braces.
func unbraced(id string) string {
	return strings.ToUpper(strings.Trim(strings.TrimSpace(id), "{}"))
}
