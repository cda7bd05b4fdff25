package cybersourcesim

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// The /_sim control routes of INTERFACES.md. They are test and demo affordances: production code
// never calls them, and they are never authenticated, faulted or delayed.

// handleSimState is GET /_sim/state.
func (s *Server) handleSimState(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.State())
}

// handleSimGetFaults is GET /_sim/faults.
func (s *Server) handleSimGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.faults.get())
}

// handleSimSetFaults is POST /_sim/faults {"errorRate","timeoutRate","latencyMs"}.
func (s *Server) handleSimSetFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
		writeJSON(w, http.StatusBadRequest, obj{"error": "bad faults JSON: " + err.Error()})
		return
	}
	if !f.valid() {
		writeJSON(w, http.StatusBadRequest, obj{"error": "rates must be within 0..1 and sum to at most 1; latencyMs >= 0"})
		return
	}
	s.SetFaults(f)
	writeJSON(w, http.StatusOK, f)
}

// handleSimGetClock is GET /_sim/clock.
func (s *Server) handleSimGetClock(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, obj{"now": s.clock.Now().Format(time.RFC3339)})
}

// handleSimClock is POST /_sim/clock {"advance":"24h"}: move the clock forward; due settlement
// cut-offs run and due webhook retries fire.
func (s *Server) handleSimClock(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Advance string `json:"advance"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, obj{"error": "bad clock JSON: " + err.Error()})
		return
	}
	d, err := time.ParseDuration(body.Advance)
	if err != nil || d < 0 {
		writeJSON(w, http.StatusBadRequest, obj{"error": "advance must be a non-negative Go duration such as \"24h\""})
		return
	}
	s.clock.Advance(d)
	writeJSON(w, http.StatusOK, obj{"now": s.clock.Now().Format(time.RFC3339)})
}

// handleSimReview is POST /_sim/reviews/{id} {"decision","reviewer","comments"}: a Business
// Center reviewer resolving a Decision Manager case, like ResolveReview.
func (s *Server) handleSimReview(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Decision string `json:"decision"`
		Reviewer string `json:"reviewer"`
		Comments string `json:"comments"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, obj{"error": "bad review JSON: " + err.Error()})
		return
	}
	err := s.ResolveReview(r.PathValue("id"), body.Decision, body.Reviewer, body.Comments)
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		writeAPIError(w, ae)
	case err != nil:
		writeJSON(w, http.StatusBadRequest, obj{"error": err.Error()})
	default:
		s.mu.Lock()
		rv := *s.state.reviews[r.PathValue("id")]
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, rv)
	}
}
