package opayosim

import (
	"encoding/json"
	"net/http"
	"time"
)

// controlRoutes are the /_sim routes of INTERFACES.md plus the simulated ACS. They are test and
// demo affordances; production code never calls them, and they are never faulted or delayed.
func (s *Server) controlRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.faults.get())
	})
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad faults JSON: " + err.Error()})
			return
		}
		if !validRate(f.ErrorRate) || !validRate(f.TimeoutRate) || f.ErrorRate+f.TimeoutRate > 1 || f.LatencyMs < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "rates must be within 0..1 and sum to at most 1; latencyMs >= 0"})
			return
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, f)
	})
	mux.HandleFunc("GET /_sim/clock", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"now": s.clock.Now().Format(time.RFC3339Nano)})
	})
	mux.HandleFunc("POST /_sim/clock", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Advance string `json:"advance"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad clock JSON: " + err.Error()})
			return
		}
		d, err := time.ParseDuration(body.Advance)
		if err != nil || d < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "advance must be a non-negative Go duration such as \"24h\""})
			return
		}
		s.clock.Advance(d)
		writeJSON(w, http.StatusOK, map[string]string{"now": s.clock.Now().Format(time.RFC3339Nano)})
	})
	mux.HandleFunc("GET /_sim/settlement-quirks", s.handleGetSettlementQuirks)
	mux.HandleFunc("POST /_sim/settlement-quirks", s.handleSettlementQuirks)
	mux.HandleFunc("POST "+ACSPath, s.serveACS)
	return mux
}

func validRate(r float64) bool { return r >= 0 && r <= 1 }
