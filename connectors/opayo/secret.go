package opayo

import (
	"fmt"
	"io"
)

// redacted is what a Secret prints as, whatever the verb.
const redacted = "[redacted]"

// Secret holds a value that must reach Opayo but never a log, an error or a printed struct: a
// card number, a security code (CVV), or a transaction's SecurityKey. It prints as "[redacted]"
// with every fmt verb and marshals to JSON as "[redacted]"; convert it with string(s) only where
// the value is really needed (the wire, the database).
type Secret string

// String returns "[redacted]".
func (Secret) String() string { return redacted }

// GoString returns "[redacted]", so %#v of a struct holding a Secret stays safe.
func (Secret) GoString() string { return redacted }

// Format writes "[redacted]" for every verb, including the ones fmt would otherwise render from
// the underlying string (%d, %x, and bad-verb diagnostics).
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalJSON writes "[redacted]", so a request or result marshalled for a log stays safe.
// The wire encoders in this package copy the value into plain strings instead.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText writes "[redacted]" for encoders that use encoding.TextMarshaler (slog, XML).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// IsZero reports whether no value is held.
func (s Secret) IsZero() bool { return s == "" }
