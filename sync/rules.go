package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/db"
)

// Rule kinds of mapping_rules.
const (
	RuleStatusMap = "status_map"
	RuleStockCode = "stock_code"
	RuleFXRate    = "fx_rate"
	RuleAddress   = "address"
)

// rules is mapping_rules as read in one transaction: the normaliser reads them afresh each time,
// so an edit through the API applies to the next record without a restart.
type rules struct {
	status map[string]string    // scope + "|" + key → canonical status
	stock  map[string]stockRule // scope + "|" + key
	fx     map[string][]fxRate  // "EUR/GBP" → rates, oldest first
}

// stockRule maps a gateway SKU (or "*": a payment without lines) to a SYSPRO stock code.
type stockRule struct {
	StockCode   string `json:"stockCode"`
	Description string `json:"description"`
	Warehouse   string `json:"warehouse"`
}

// fxRate is one dated rate: an amount in the base currency times Rate is the quote currency.
type fxRate struct {
	From time.Time
	Rate decimal.Decimal
}

// loadRules reads every rule. A rule whose value does not parse is an error naming it, so a bad
// edit is noticed at once rather than silently ignored.
func loadRules(ctx context.Context, q *db.Queries) (*rules, error) {
	rows, err := q.ListMappingRules(ctx)
	if err != nil {
		return nil, fmt.Errorf("sync: load mapping rules: %w", err)
	}
	r := &rules{status: map[string]string{}, stock: map[string]stockRule{}, fx: map[string][]fxRate{}}
	for _, row := range rows {
		id := row.Scope + "|" + row.Key
		bad := func(err error) error {
			return fmt.Errorf("sync: mapping rule %s %s/%s: %w", row.Kind, row.Scope, row.Key, err)
		}
		switch row.Kind {
		case RuleStatusMap:
			var v struct{ Status string }
			if err := json.Unmarshal(row.Value, &v); err != nil || v.Status == "" {
				return nil, bad(fmt.Errorf("want {\"status\": \"...\"}"))
			}
			r.status[id] = v.Status
		case RuleStockCode:
			var v stockRule
			if err := json.Unmarshal(row.Value, &v); err != nil || v.StockCode == "" {
				return nil, bad(fmt.Errorf("want {\"stockCode\": \"...\"}"))
			}
			r.stock[id] = v
		case RuleFXRate:
			// key "EUR/GBP", value {"rates": [{"from": "2026-01-01", "rate": "0.8512"}, ...]}
			var v struct {
				Rates []struct {
					From string          `json:"from"`
					Rate decimal.Decimal `json:"rate"`
				} `json:"rates"`
			}
			if err := json.Unmarshal(row.Value, &v); err != nil {
				return nil, bad(err)
			}
			pair := strings.ToUpper(row.Key)
			for _, x := range v.Rates {
				from, err := time.Parse(time.DateOnly, x.From)
				if err != nil || !x.Rate.IsPositive() {
					return nil, bad(fmt.Errorf("rate %q from %q: want a positive rate and a YYYY-MM-DD date", x.Rate, x.From))
				}
				r.fx[pair] = append(r.fx[pair], fxRate{From: from, Rate: x.Rate})
			}
			sort.Slice(r.fx[pair], func(i, j int) bool { return r.fx[pair][i].From.Before(r.fx[pair][j].From) })
		}
	}
	return r, nil
}

// paymentStatus maps a gateway status to the canonical one: "<kind>:<status>" first, then
// "*:<status>", in the gateway's scope and then in scope "*".
func (r *rules) paymentStatus(gateway, kind, status string) (string, bool) {
	for _, scope := range []string{gateway, "*"} {
		for _, key := range []string{kind + ":" + status, "*:" + status} {
			if s, ok := r.status[scope+"|"+key]; ok {
				return s, true
			}
		}
	}
	return "", false
}

// orderStatus maps one of SYSPRO's order status codes (scope "syspro") to the canonical order status.
func (r *rules) orderStatus(sysproStatus string) (string, bool) {
	s, ok := r.status[sysproStatusScope+"|"+sysproStatus]
	return s, ok
}

// stockCode maps a gateway SKU; ok is false when no rule names it (the SKU is then used as is).
func (r *rules) stockCode(gateway, sku string) (stockRule, bool) {
	for _, scope := range []string{gateway, "*"} {
		if s, ok := r.stock[scope+"|"+sku]; ok {
			return s, true
		}
	}
	return stockRule{}, false
}

// convert turns amount in currency from into currency to with the rate in force on day.
func (r *rules) convert(amount decimal.Decimal, from, to string, day time.Time) (decimal.Decimal, error) {
	from, to = strings.ToUpper(from), strings.ToUpper(to)
	if from == to {
		return amount, nil
	}
	rate, ok := r.rate(from+"/"+to, day)
	if !ok {
		if inverse, ok := r.rate(to+"/"+from, day); ok {
			return amount.DivRound(inverse, 4), nil
		}
		return decimal.Zero, fmt.Errorf("no FX rate %s/%s in force on %s: add one to mapping_rules (kind fx_rate, key %s/%s)",
			from, to, day.Format(time.DateOnly), from, to)
	}
	return amount.Mul(rate).Round(4), nil
}

func (r *rules) rate(pair string, day time.Time) (decimal.Decimal, bool) {
	rates := r.fx[pair]
	for i := len(rates) - 1; i >= 0; i-- {
		if !rates[i].From.After(day) {
			return rates[i].Rate, true
		}
	}
	return decimal.Zero, false
}
