package main

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	hubsync "github.com/payhub/payhub/sync"
)

// SettlementConfig is the `settlement:` section: how settlements are matched and journaled.
// Every key is optional.
type SettlementConfig struct {
	// Tolerance is the largest difference between a settled line and its payment that still
	// matches, e.g. "0.01" (default 0: exact).
	Tolerance string `yaml:"tolerance"`
	// DateWindow bounds matching by merchant reference (default 72h).
	DateWindow string `yaml:"dateWindow"`
	// Interval is how often the daily import looks for new batches (default 1h; "off" stops it).
	Interval string `yaml:"interval"`
	// Lookback is how many days before yesterday are imported again (default 3).
	Lookback int `yaml:"lookback"`
	// LedgerCurrency is the currency of SYSPRO's general ledger (default GBP).
	LedgerCurrency string `yaml:"ledgerCurrency"`
	// Journals "off" reconciles without posting GL journals.
	Journals string `yaml:"journals"`
	// GLRules map measures (sales, refunds, fees, chargebacks, adjustments, fx_differences) to a
	// debit and a credit ledger code, optionally per gateway (default: sync.DefaultGLRules).
	GLRules []GLRuleConfig `yaml:"glRules"`
}

// GLRuleConfig is one derivation rule of the settlement journal.
type GLRuleConfig struct {
	Measure string `yaml:"measure"`
	Debit   string `yaml:"debit"`
	Credit  string `yaml:"credit"`
	Gateway string `yaml:"gateway"`
}

// engineConfig turns the section into the engine's settlement configuration.
func (s *SettlementConfig) engineConfig() (hubsync.SettlementConfig, error) {
	var out hubsync.SettlementConfig
	if s == nil {
		return out, nil
	}
	if s.Tolerance != "" {
		t, err := decimal.NewFromString(s.Tolerance)
		if err != nil || t.IsNegative() {
			return out, fmt.Errorf("settlement.tolerance is %q; want an amount such as 0.01", s.Tolerance)
		}
		out.Tolerance = t
	}
	if s.DateWindow != "" {
		d, err := time.ParseDuration(s.DateWindow)
		if err != nil || d <= 0 {
			return out, fmt.Errorf("settlement.dateWindow is %q; want a positive duration such as 72h", s.DateWindow)
		}
		out.DateWindow = d
	}
	switch s.Interval {
	case "":
	case "off":
		out.Interval = -1
	default:
		d, err := time.ParseDuration(s.Interval)
		if err != nil || d <= 0 {
			return out, fmt.Errorf("settlement.interval is %q; want a positive duration such as 1h, or off", s.Interval)
		}
		out.Interval = d
	}
	if s.Lookback < 0 {
		return out, fmt.Errorf("settlement.lookback is %d; want 0 or more days", s.Lookback)
	}
	out.Lookback = s.Lookback
	switch s.Journals {
	case "", "on":
	case "off":
		out.GL.Off = true
	default:
		return out, fmt.Errorf("settlement.journals is %q; want on or off", s.Journals)
	}
	out.GL.Currency = s.LedgerCurrency
	for _, r := range s.GLRules {
		out.GL.Rules = append(out.GL.Rules, hubsync.GLRule{Measure: r.Measure, Debit: r.Debit, Credit: r.Credit, Gateway: r.Gateway})
	}
	if err := out.GL.Validate(); err != nil {
		return out, fmt.Errorf("settlement.glRules: %w", err)
	}
	return out, nil
}

// problems lists what is wrong with the section.
func (s *SettlementConfig) problems() []string {
	if _, err := s.engineConfig(); err != nil {
		return []string{err.Error()}
	}
	return nil
}
