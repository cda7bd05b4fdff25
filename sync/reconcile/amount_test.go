package reconcile

import (
	"math"
	"testing"

	"github.com/shopspring/decimal"
)

func TestToUnits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"25.00", 250_000, true},
		{"0.0001", 1, true},
		{"0", 0, true},
		{"-3.5", -35_000, true},
		{"1e3", 10_000_000, true},
		{"1.000000", 10_000, true},                    // more places, all zeros
		{"1.0000000000000000000000", 10_000, true},    // a coefficient beyond int64
		{"922337203685477.5807", math.MaxInt64, true}, // the largest
		{"922337203685477.5808", 0, false},
		{"-922337203685477.5808", math.MinInt64, true},
		{"0.00001", 0, false},
		{"25.00005", 0, false},
		{"1.00000000000000000001", 0, false},
		{"1e30", 0, false},
	} {
		got, ok := toUnits(decimal.RequireFromString(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("toUnits(%s) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if got, ok := toUnits(decimal.Decimal{}); got != 0 || !ok {
		t.Errorf("toUnits(zero value) = %d, %v", got, ok)
	}
}

func TestToleranceUnits(t *testing.T) {
	for in, want := range map[string]int64{"0.01": 100, "0.00019": 1, "0": 0, "-1": 0, "1e30": math.MaxInt64} {
		if got := toleranceUnits(decimal.RequireFromString(in)); got != want {
			t.Errorf("toleranceUnits(%s) = %d, want %d", in, got, want)
		}
	}
}

// TestWideSums adds amounts past the int64 range and back.
func TestWideSums(t *testing.T) {
	var w wide
	want := decimal.Zero
	for range 5 {
		w.add(math.MaxInt64)
		want = want.Add(decimal.New(math.MaxInt64, unitExp))
	}
	if got := w.decimal(); !got.Equal(want) {
		t.Errorf("sum %s, want %s", got, want)
	}
	if _, ok := w.int64(); ok {
		t.Error("a sum beyond int64 says it fits")
	}
	back := w
	for range 5 {
		back.add(-math.MaxInt64)
	}
	back.add(-7)
	if v, ok := back.int64(); !ok || v != -7 {
		t.Errorf("back to %d, %v; want -7", v, ok)
	}
	if d := w.sub(w.plus(wideOf(3))); !d.within(3) || d.within(2) {
		t.Errorf("w - (w+3) = %s, want -3", d.decimal())
	}
}

func TestMoney(t *testing.T) {
	for in, want := range map[string]string{"5": "5.00", "-1.5": "-1.50", "0.0001": "0.0001", "25.00005": "25.00005", "1e3": "1000.00"} {
		if got := money(decimal.RequireFromString(in)); got != want {
			t.Errorf("money(%s) = %q, want %q", in, got, want)
		}
	}
}
