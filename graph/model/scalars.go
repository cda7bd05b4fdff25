// Package model holds the GraphQL types: the hand-written ones (in this file and models.go) carry
// the foreign keys the field resolvers follow; gqlgen generates the rest into models_gen.go.
package model

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/shopspring/decimal"
)

// MarshalDecimal writes a decimal as a JSON string with the scale it carries ("10.50"), so a client
// never sees a float and never loses a digit.
func MarshalDecimal(d decimal.Decimal) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		io.WriteString(w, strconv.Quote(decimalString(d))) //nolint:errcheck
	})
}

// decimalString is a decimal with the scale it carries: "10.50", where String says "10.5".
func decimalString(d decimal.Decimal) string {
	if exp := d.Exponent(); exp < 0 {
		return d.StringFixed(-exp)
	}
	return d.String()
}

// decimalJSON is a decimal that keeps its scale in JSON ("10.50"; decimal.Decimal writes "10.5").
// A mutation's payload is stored as JSON under its idempotency key (graph/idempotency.go) and a
// repeat is answered from it: the amounts it shows must come back as they were first shown.
// Reading one back needs nothing: decimal.Decimal keeps the scale of the string it reads.
type decimalJSON decimal.Decimal

func (d decimalJSON) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(decimalString(decimal.Decimal(d)))), nil
}

// Money is an amount of money in one currency (hand-written rather than generated for its
// MarshalJSON).
type Money struct {
	Amount decimal.Decimal `json:"amount"`
	// ISO 4217 code, e.g. GBP.
	Currency string `json:"currency"`
}

// MarshalJSON keeps the amount's scale (see decimalJSON).
func (m Money) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Amount   decimalJSON `json:"amount"`
		Currency string      `json:"currency"`
	}{decimalJSON(m.Amount), m.Currency})
}

// UnmarshalDecimal reads a decimal from a string ("10.50") or a JSON number.
func UnmarshalDecimal(v any) (decimal.Decimal, error) {
	var s string
	switch v := v.(type) {
	case string:
		s = strings.TrimSpace(v)
	case json.Number:
		s = v.String()
	case int:
		return decimal.NewFromInt(int64(v)), nil
	case int64:
		return decimal.NewFromInt(v), nil
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return decimal.Decimal{}, BadInput("Decimal must be a string such as \"10.50\", got %T", v)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, BadInput("Decimal %q is not a decimal number", s)
	}
	return d, nil
}

// MarshalDateTime writes an instant in RFC 3339 form, in UTC.
func MarshalDateTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		io.WriteString(w, strconv.Quote(t.UTC().Format(time.RFC3339Nano))) //nolint:errcheck
	})
}

// UnmarshalDateTime reads an RFC 3339 instant; the time zone is required.
func UnmarshalDateTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, BadInput("DateTime must be an RFC 3339 string such as \"2026-11-21T10:15:00Z\", got %T", v)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, BadInput("DateTime %q is not RFC 3339 (e.g. \"2026-11-21T10:15:00Z\")", s)
	}
	return t, nil
}
