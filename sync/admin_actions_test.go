package sync_test

import (
	"context"
	"strings"
	"testing"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	hubsync "github.com/payhub/payhub/sync"
)

// Every rule the migrations seed passes the validation an edit through the API gets, so an admin
// can always save a default rule back unchanged.
func TestSeededMappingRulesAreValid(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	rules, err := db.New(pool).ListMappingRules(context.Background())
	if err != nil || len(rules) == 0 {
		t.Fatalf("rules %d, %v", len(rules), err)
	}
	for _, r := range rules {
		if err := hubsync.ValidateMappingRule(r.Kind, r.Scope, r.Key, r.Value); err != nil {
			t.Errorf("%s %s/%s %s: %v", r.Kind, r.Scope, r.Key, r.Value, err)
		}
	}
}

func TestValidateMappingRule(t *testing.T) {
	tests := []struct {
		kind, scope, key, value string
		wantErr                 string // "" = valid
	}{
		{"status_map", "opayo", "sale:Ok", `{"status": "captured"}`, ""},
		{"status_map", "syspro", "S", `{"status": "on_hold"}`, ""},
		{"status_map", "syspro", "S", `{"status": "captured"}`, "not a canonical order status"},
		{"status_map", "opayo", "sale:Ok", `{"status": "on_hold"}`, "not a canonical payment status"},
		{"status_map", "opayo", "sale:Ok", `{"status": "captured", "extra": 1}`, "unknown field"},
		{"status_map", "Opayo", "sale:Ok", `{"status": "captured"}`, "not a gateway"},
		{"status_map", "opayo", "Ok", `{"status": "captured"}`, "<kind>:<gateway status>"},
		{"stock_code", "syspro", "refund", `{"stockCode": "REFUND"}`, ""},
		{"stock_code", "*", "SKU-1", `{"description": "no code"}`, "stockCode required"},
		{"fx_rate", "*", "EUR/GBP", `{"rates": [{"from": "2026-11-01", "rate": "0.85"}]}`, ""},
		{"fx_rate", "*", "EUR/GBP", `{"rates": [{"from": "2026-11-01", "rate": "-1"}]}`, "positive rate"},
		{"fx_rate", "*", "EURGBP", `{"rates": [{"from": "2026-11-01", "rate": "0.85"}]}`, "pair of two currencies"},
		{"fx_rate", "*", "EUR/EUR", `{"rates": [{"from": "2026-11-01", "rate": "1"}]}`, "pair of two currencies"},
		{"fx_rate", "*", "EUR/GBP", `{"rates": []}`, "at least one rate"},
		{"address", "*", "syspro", `{"lines": ["line1"]}`, ""},
		{"address", "*", "syspro", `[1, 2]`, "JSON object"},
		{"gl_account", "*", "fees", `not json`, "not JSON"},
		{"colour", "*", "x", `{}`, "kind"},
		{"address", "", "syspro", `{}`, "needs a scope"},
	}
	for _, tt := range tests {
		err := hubsync.ValidateMappingRule(tt.kind, tt.scope, tt.key, []byte(tt.value))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s %s/%s %s: %v", tt.kind, tt.scope, tt.key, tt.value, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s %s/%s %s: error %v, want one saying %q", tt.kind, tt.scope, tt.key, tt.value, err, tt.wantErr)
		}
	}
}
