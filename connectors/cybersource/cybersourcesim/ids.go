package cybersourcesim

import (
	"fmt"
	"strings"
	"time"
)

// Identifier shapes (protocol doc §1, §9). The caller holds s.mu, except for newUUID in New.

// newTransactionID returns a 22-digit request id: the submit time in epoch seconds, a sequence
// number and random digits, so ids sort roughly by time and never repeat within a simulator.
func (s *Server) newTransactionID(now time.Time) string {
	s.state.seq++
	return fmt.Sprintf("%010d%06d%06d", now.Unix()%1e10, s.state.seq%1e6, s.rng.IntN(1e6))
}

// newReconciliationID returns a 16-digit processor reference (reconciliationId, the report's
// trans_ref_no).
func (s *Server) newReconciliationID() string {
	return fmt.Sprintf("%016d", s.rng.Int64N(1e16))
}

// newApprovalCode returns a 6-digit issuer approval code.
func (s *Server) newApprovalCode() string { return fmt.Sprintf("%06d", s.rng.IntN(1e6)) }

// newNetworkTransactionID returns a 15-digit network transaction id.
func (s *Server) newNetworkTransactionID() string { return fmt.Sprintf("%015d", s.rng.Int64N(1e15)) }

// newTokenID returns a 32-character upper-case hex TMS id (customer, payment instrument).
func (s *Server) newTokenID() string {
	return strings.ToUpper(fmt.Sprintf("%016x%016x", s.rng.Uint64(), s.rng.Uint64()))
}

// newInstrumentIdentifierID returns a 19-digit card instrument identifier ending in the card's
// last four digits, like 7010000000016241111.
func (s *Server) newInstrumentIdentifierID(last4 string) string {
	return fmt.Sprintf("701%012d%s", s.rng.Int64N(1e12), last4)
}

// newUUID returns a random RFC 4122 version 4 UUID.
func (s *Server) newUUID() string {
	a, b := s.rng.Uint64(), s.rng.Uint64()
	a = a&^0xf000 | 0x4000
	b = b&^(0xc<<60) | 0x8<<60
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// newBatchID returns the next settlement batch id.
func (s *Server) newBatchID() string {
	s.state.batchSeq++
	return fmt.Sprintf("%d", 100000+s.state.batchSeq)
}
