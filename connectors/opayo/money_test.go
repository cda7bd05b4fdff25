package opayo

import (
	"testing"

	"github.com/shopspring/decimal"
)

func TestToMinorUnitsConvertsByCurrencyExponentAndRefusesToRound(t *testing.T) {
	t.Parallel()
	cases := []struct {
		amount   string
		currency string
		want     int64
		wantErr  bool
	}{
		{"10.50", "GBP", 1050, false},
		{"38.4", "EUR", 3840, false},
		{"0", "USD", 0, false},
		{"100", "GBP", 10000, false},
		{"1050", "JPY", 1050, false},
		{"1.234", "KWD", 1234, false},
		{"1.005", "GBP", 0, true},
		{"10.5", "JPY", 0, true},
		{"-1.00", "GBP", 0, true},
		{"1.00", "gbp", 0, true},
		{"1.00", "", 0, true},
		{"1.00", "GBPX", 0, true},
		{"92233720368547758.08", "GBP", 0, true},
	}
	for _, tc := range cases {
		got, err := ToMinorUnits(decimal.RequireFromString(tc.amount), tc.currency)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ToMinorUnits(%s, %q) = %d, %v; want %d, error %v", tc.amount, tc.currency, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestFromMinorUnitsIsTheInverse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		minor    int64
		currency string
		want     string
	}{
		{1050, "GBP", "10.5"},
		{3840, "EUR", "38.4"},
		{1050, "JPY", "1050"},
		{1234, "KWD", "1.234"},
		{99, "???", "0.99"},
	}
	for _, tc := range cases {
		if got := FromMinorUnits(tc.minor, tc.currency); !got.Equal(decimal.RequireFromString(tc.want)) {
			t.Errorf("FromMinorUnits(%d, %s) = %s, want %s", tc.minor, tc.currency, got, tc.want)
		}
	}
}

func TestFormatMajorUsesTheCurrencyDecimals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ amount, currency, want string }{
		{"10.5", "GBP", "10.50"},
		{"1050", "JPY", "1050"},
		{"0.1", "KWD", "0.100"},
	} {
		got, err := formatMajor(decimal.RequireFromString(tc.amount), tc.currency)
		if err != nil || got != tc.want {
			t.Errorf("formatMajor(%s, %s) = %q, %v; want %q", tc.amount, tc.currency, got, err, tc.want)
		}
	}
}
