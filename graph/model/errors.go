package model

import "fmt"

// InputError is a mistake in what the client sent (an unknown cursor, a page size out of range,
// a malformed scalar); its message is shown to the client as is. Any other error a resolver
// returns is treated as the server's own and hidden from the client.
type InputError struct{ msg string }

func (e *InputError) Error() string { return e.msg }

// BadInput returns an InputError with a formatted message.
func BadInput(format string, args ...any) error {
	return &InputError{msg: fmt.Sprintf(format, args...)}
}
