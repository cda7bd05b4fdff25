package redact

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestURLKeepsHostAndPathOnly(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://sys:9103/Rest/Logon?Operator=ADMIN&OperatorPassword=s3cret": "http://sys:9103/Rest/Logon",
		"https://user:pw@host/api/v1#frag":                                  "https://host/api/v1",
		"http://host/path":                                                  "http://host/path",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorHidesTheRequestURL(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection refused")
	err := Error(&url.Error{Op: "Get", URL: "http://h/Logon?OperatorPassword=s3cret", Err: cause})
	if strings.Contains(err.Error(), "s3cret") || !errors.Is(err, cause) {
		t.Errorf("Error() = %v", err)
	}
	if plain := errors.New("x"); Error(plain) != plain {
		t.Error("a non-URL error was rewritten")
	}
}
