package opayosim

import (
	"net/http"
	"strings"
	"time"
)

// merchantSessionKey is a Pi merchant session key (opayo.md §2.2): it lives 400 s, creates one
// card identifier, and is removed after three failed card identifier attempts.
type merchantSessionKey struct {
	key      string
	expiry   time.Time
	failures int
	used     bool // a card identifier was created (or a security code linked) with it
	removed  bool
}

// live reports whether the key still exists: not expired, not removed.
func (m *merchantSessionKey) live(now time.Time) bool {
	return m != nil && !m.removed && now.Before(m.expiry)
}

type mskView struct {
	MerchantSessionKey string `json:"merchantSessionKey"`
	Expiry             string `json:"expiry"`
}

// createMerchantSessionKey answers POST /merchant-session-keys {"vendorName"}.
func (s *Server) createMerchantSessionKey(r *http.Request) piReply {
	var req struct {
		VendorName string `json:"vendorName"`
	}
	if rep := decodePiBody(r, &req); rep != nil {
		return *rep
	}
	var v violations
	if !v.required(req.VendorName, "vendorName", "vendor name") {
		return piInvalid(v)
	}
	if !strings.EqualFold(req.VendorName, s.opts.Vendor) {
		// The key and password belong to one vendor; another vendor name fails authentication.
		return piFailure(http.StatusUnauthorized, 1002)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.pruneSessions(now)
	m := &merchantSessionKey{key: newGUID(), expiry: now.Add(MerchantSessionKeyLifetime)}
	s.msks[m.key] = m
	s.msksIssued++
	return piReply{http.StatusCreated, mskView{m.key, piTime(m.expiry)}}
}

// getMerchantSessionKey answers GET /merchant-session-keys/{msk}: 200 with the key's expiry while
// it lives, 404/1006 once expired, removed or unknown. It takes the Basic credentials, or the key
// itself as a Bearer token.
func (s *Server) getMerchantSessionKey(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("msk")
	if tok, ok := bearerToken(r); !ok || tok != key {
		if rep := s.basicAuth(r); rep != nil {
			writePiReply(w, *rep)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.msks[key]
	if !m.live(s.clock.Now()) {
		writePiReply(w, piFailure(http.StatusNotFound, 1006))
		return
	}
	writePiReply(w, piReply{http.StatusOK, mskView{m.key, piTime(m.expiry)}})
}

// pruneSessions forgets expired session keys and unsaved card identifiers so a long-running
// sandbox does not grow without bound. The caller holds s.mu.
func (s *Server) pruneSessions(now time.Time) {
	for k, m := range s.msks {
		if now.After(m.expiry.Add(time.Hour)) {
			delete(s.msks, k)
		}
	}
	for k, c := range s.cards {
		if !c.reusable && now.After(c.expiry.Add(time.Hour)) {
			delete(s.cards, k)
		}
	}
}
