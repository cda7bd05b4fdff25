package reconcile

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/shopspring/decimal"
)

// Inside the engine every amount is an int64 count of 0.0001, a "unit": all amounts are
// numeric(19,4) in the database, so this is exact. A unit count is 8 bytes with no pointer for the
// garbage collector to follow, where a decimal.Decimal carries a *big.Int; the hot indexes over a
// million lines and payments hold units only. Amounts are converted at the boundary: toUnits
// rejects one that is not exact at 4 places or does not fit an int64 (about 922 trillion), and
// the Result gets decimals back from unitsDecimal. Sums use the 128-bit wide type, so that adding
// up a million large amounts cannot overflow.

const unitExp = -4 // a unit is 10^unitExp

var pow10 = [19]int64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// toUnits returns d in units, and false when d is not exact at 4 places or out of int64 range.
// It does not allocate unless d's coefficient has more than 18 digits.
func toUnits(d decimal.Decimal) (int64, bool) {
	if d.NumDigits() > 18 {
		return toUnitsBig(d)
	}
	c, shift := d.CoefficientInt64(), int(d.Exponent())-unitExp
	switch {
	case c == 0:
		return 0, true
	case shift >= 0:
		if shift >= len(pow10) || c > math.MaxInt64/pow10[shift] || c < math.MinInt64/pow10[shift] {
			return 0, false
		}
		return c * pow10[shift], true
	default:
		// |c| < 10^18, so it is a multiple of 10^-shift only if -shift <= 18.
		if -shift >= len(pow10) || c%pow10[-shift] != 0 {
			return 0, false
		}
		return c / pow10[-shift], true
	}
}

func toUnitsBig(d decimal.Decimal) (int64, bool) {
	c, shift := d.Coefficient(), int64(d.Exponent())-unitExp
	if shift >= 0 {
		c.Mul(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(shift), nil))
	} else {
		var r big.Int
		c.QuoRem(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(-shift), nil), &r)
		if r.Sign() != 0 {
			return 0, false
		}
	}
	if !c.IsInt64() {
		return 0, false
	}
	return c.Int64(), true
}

// unitsDecimal converts units back; zero shares decimal.Zero instead of allocating.
func unitsDecimal(u int64) decimal.Decimal {
	if u == 0 {
		return decimal.Zero
	}
	return decimal.New(u, unitExp)
}

// toleranceUnits truncates a tolerance to units: differences between amounts exact at 4 places
// are whole units, so |diff| <= t exactly when |diff| <= trunc(t). Negative means zero.
func toleranceUnits(t decimal.Decimal) int64 {
	if t.Sign() <= 0 {
		return 0
	}
	u := t.Shift(-unitExp).Truncate(0).BigInt()
	if !u.IsInt64() {
		return math.MaxInt64
	}
	return u.Int64()
}

// wide is a 128-bit two's complement integer of units, for sums.
type wide struct {
	hi int64
	lo uint64
}

func (w *wide) add(v int64) {
	lo, carry := bits.Add64(w.lo, uint64(v), 0)
	w.hi += int64(carry)
	if v < 0 {
		w.hi-- // sign extension of v
	}
	w.lo = lo
}

func (w wide) plus(x wide) wide {
	lo, carry := bits.Add64(w.lo, x.lo, 0)
	return wide{hi: w.hi + x.hi + int64(carry), lo: lo}
}

func (w wide) sub(x wide) wide {
	lo, borrow := bits.Sub64(w.lo, x.lo, 0)
	return wide{hi: w.hi - x.hi - int64(borrow), lo: lo}
}

// int64 returns w when it fits.
func (w wide) int64() (int64, bool) {
	v := int64(w.lo)
	return v, (w.hi == 0 && v >= 0) || (w.hi == -1 && v < 0)
}

// within reports whether |w| <= tol.
func (w wide) within(tol int64) bool {
	v, ok := w.int64()
	return ok && v >= -tol && v <= tol
}

func (w wide) decimal() decimal.Decimal {
	if v, ok := w.int64(); ok {
		return unitsDecimal(v)
	}
	b := big.NewInt(w.hi)
	b.Lsh(b, 64)
	b.Add(b, new(big.Int).SetUint64(w.lo))
	return decimal.NewFromBigInt(b, unitExp)
}

func wideOf(v int64) wide {
	var w wide
	w.add(v)
	return w
}

// money formats an amount for people: two places, or as many as the amount needs.
func money(d decimal.Decimal) string {
	if d.Round(2).Equal(d) {
		return d.StringFixed(2)
	}
	return d.String()
}

func moneyUnits(u int64) string { return money(unitsDecimal(u)) }
