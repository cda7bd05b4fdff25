// Package redact strips credentials from what the connectors put in errors and logs: request URLs
// carry SYSPRO's logon passwords in their query, and any URL may carry user info.
package redact

import (
	"errors"
	"net/url"
	"strings"
)

// URL drops the query string, fragment and user info of raw, keeping the host and path for
// diagnosis.
func URL(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return raw
}

// Error rewrites net/http's *url.Error, which embeds the full request URL, with that URL redacted;
// any other error is returned as it is.
func Error(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: URL(ue.URL), Err: ue.Err}
	}
	return err
}
