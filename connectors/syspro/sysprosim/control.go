package sysprosim

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// serveControl answers the /_sim control routes of INTERFACES.md. They are test and demo
// affordances; production code never calls them, and they are never faulted or delayed.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_sim/state" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.State())
	case r.URL.Path == "/_sim/faults" && r.Method == http.MethodPost:
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad faults JSON: " + err.Error()})
			return
		}
		if !validRate(f.ErrorRate) || !validRate(f.TimeoutRate) || !validRate(f.LostResponseRate) ||
			f.ErrorRate+f.TimeoutRate+f.LostResponseRate > 1 || f.LatencyMs < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "rates must be within 0..1 and sum to at most 1; latencyMs >= 0"})
			return
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, f)
	case r.URL.Path == "/_sim/seed" && r.Method == http.MethodPost:
		// What a SYSPRO user would key in: a stock item or customer added or changed (records
		// with a key already present replace the old one), e.g. to cure a dead posting.
		var seed Seed
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&seed); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad seed JSON: " + err.Error()})
			return
		}
		for _, it := range seed.Stock {
			if it.StockCode == "" || len(it.Warehouses) == 0 || slices.Contains(it.Warehouses, nil) {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "every stock item needs a stockCode and at least one warehouse"})
				return
			}
		}
		s.Seed(seed)
		writeJSON(w, http.StatusOK, map[string]int{"customers": len(seed.Customers), "stock": len(seed.Stock),
			"arInvoices": len(seed.ArInvoices), "ledgerCodes": len(seed.LedgerCodes)})
	case r.URL.Path == "/_sim/faults" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.faults.get())
	case r.URL.Path == "/_sim/clock" && r.Method == http.MethodPost:
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
		writeJSON(w, http.StatusOK, map[string]string{"now": s.clock.Now().Format(time.RFC3339)})
	default:
		http.NotFound(w, r)
	}
}

func validRate(r float64) bool { return r >= 0 && r <= 1 }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
