package sysprosim

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
)

// Error texts for logon and session failures. "Invalid operator password" is captured from a live
// SYSPRO 7 server; the others are not in any public capture (syspro.md §4, §8) and are written in
// SYSPRO's style so that clients treat them as the generic "ERROR:" they must handle.
const (
	errInvalidOperatorPassword = "Invalid operator password"
	errInvalidCompanyPassword  = "Invalid company password"
	// ErrTextSessionInvalid is the body (after "ERROR: ") for a UserId that is unknown, logged off,
	// evicted by a newer Logon of the same operator, or idle past the timeout.
	ErrTextSessionInvalid = "User is not logged in or the UserId has expired - please log in again"
)

// session is one logged-on UserId.
type session struct {
	id       string
	operator string
	company  string
	loggedOn time.Time
	lastUsed time.Time
	// seq orders logons: the simulated clock may stand still, so times alone cannot say which is oldest.
	seq uint64
}

// newSessionID returns an id shaped like SYSPRO 7's: 32 random upper-case hex digits, the instance
// "00", then two spaces (recordings/syspro/logon-1-logon.response.txt).
func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b)) + "00  "
}

// logon checks the credentials and opens a session, evicting the operator's oldest session when all
// its seats are taken. It returns the id or the error text. The caller holds s.mu.
func (s *Server) logon(operator, operatorPassword, companyID, companyPassword string) (string, string) {
	op, ok := s.operators[strings.ToUpper(strings.TrimSpace(operator))]
	if !ok {
		return "", "Operator '" + strings.TrimSpace(operator) + "' not found"
	}
	if op.Password != operatorPassword {
		return "", errInvalidOperatorPassword
	}
	co, ok := s.companies[strings.ToUpper(strings.TrimSpace(companyID))]
	if !ok {
		return "", "Company '" + strings.TrimSpace(companyID) + "' not found"
	}
	if co.Password != companyPassword {
		return "", errInvalidCompanyPassword
	}
	s.expireIdle()
	seats := op.Seats
	if seats <= 0 {
		seats = s.opts.SeatsPerOperator
	}
	for {
		var held []*session
		for _, ss := range s.sessions {
			if ss.operator == op.Code {
				held = append(held, ss)
			}
		}
		if len(held) < seats {
			break
		}
		oldest := held[0]
		for _, ss := range held[1:] {
			if ss.seq < oldest.seq {
				oldest = ss
			}
		}
		delete(s.sessions, oldest.id)
		s.evictions++
	}
	now := s.clock.Now()
	s.logons++
	ss := &session{id: newSessionID(), operator: op.Code, company: co.ID, loggedOn: now, lastUsed: now, seq: s.logons}
	s.sessions[strings.TrimSpace(ss.id)] = ss
	ss.id = strings.TrimSpace(ss.id)
	return ss.id + "  ", ""
}

// lookupSession finds a live session for a UserId (trimmed or not, as real SYSPRO accepts) and
// marks it used. The caller holds s.mu.
func (s *Server) lookupSession(userID string) (*session, bool) {
	s.expireIdle()
	ss, ok := s.sessions[strings.TrimSpace(userID)]
	if !ok {
		return nil, false
	}
	ss.lastUsed = s.clock.Now()
	return ss, true
}

// logoff ends a session. The caller holds s.mu.
func (s *Server) logoff(userID string) bool {
	s.expireIdle()
	id := strings.TrimSpace(userID)
	if _, ok := s.sessions[id]; !ok {
		return false
	}
	delete(s.sessions, id)
	return true
}

// expireIdle drops sessions idle longer than Options.IdleTimeout. The caller holds s.mu.
func (s *Server) expireIdle() {
	if s.opts.IdleTimeout <= 0 {
		return
	}
	now := s.clock.Now()
	for id, ss := range s.sessions {
		if now.Sub(ss.lastUsed) > s.opts.IdleTimeout {
			delete(s.sessions, id)
		}
	}
}
