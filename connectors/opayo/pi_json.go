package opayo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// flexString decodes a JSON string or number into text. Pi documents retrievalReference,
// statusCode and error codes as strings but sends some as numbers (opayo.md §2.5, §2.9), so a
// number is read through json.Number and kept exactly as written.
type flexString string

// UnmarshalJSON accepts a string, a number or null.
func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a string or number, got %s", truncate(string(b), 20))
		}
		*f = flexString(n.String())
		return nil
	}
}

// flexInt decodes a JSON integer, or a string holding one, as int64 minor units.
type flexInt struct {
	n   int64
	set bool
}

// UnmarshalJSON accepts an integer, an integer-valued string or null.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*f = flexInt{}
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("want an integer amount, got %s", truncate(s, 20))
	}
	*f = flexInt{n: n, set: true}
	return nil
}

// parsePiTime reads Pi's ISO-8601 timestamps ("2015-08-11T11:45:16.285+01:00",
// "2024-03-01T04:29:31.501675271Z"); anything else is the zero time, since a date Opayo
// formats oddly (the spec shows "2018-31-05T10:30") must not fail a call that succeeded.
func parsePiTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
