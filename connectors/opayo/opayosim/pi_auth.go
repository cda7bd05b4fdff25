package opayosim

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// basicAuth checks Pi's HTTP Basic credentials (integration key and password). It returns nil when
// they match, else the 401 reply: 1001 when absent or unreadable, 1002 when wrong.
func (s *Server) basicAuth(r *http.Request) *piReply {
	h := r.Header.Get("Authorization")
	scheme, value, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Basic") {
		rep := piFailure(http.StatusUnauthorized, 1001)
		return &rep
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil {
		rep := piFailure(http.StatusUnauthorized, 1001)
		return &rep
	}
	key, password, ok := strings.Cut(string(raw), ":")
	if !ok || key == "" {
		rep := piFailure(http.StatusUnauthorized, 1001)
		return &rep
	}
	keyOK := subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.IntegrationKey)) == 1
	pwOK := subtle.ConstantTimeCompare([]byte(password), []byte(s.opts.IntegrationPassword)) == 1
	if !keyOK || !pwOK {
		rep := piFailure(http.StatusUnauthorized, 1002)
		return &rep
	}
	return nil
}

// bearerToken returns the merchant session key of an "Authorization: Bearer <msk>" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(value) == "" {
		return "", false
	}
	return strings.TrimSpace(value), true
}

// withBasic wraps a Pi handler with Basic authentication.
func (s *Server) withBasic(h func(*http.Request) piReply) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if rep := s.basicAuth(r); rep != nil {
			writePiReply(w, *rep)
			return
		}
		writePiReply(w, h(r))
	}
}
