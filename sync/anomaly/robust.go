package anomaly

import (
	"math"
	"slices"
)

// This file and the scoring code that calls it are the only places where amounts become
// floats: the statistics run on natural logs of amounts, held as float32 (a log amount needs no
// more precision, and it halves a history's memory). Amounts themselves stay decimal.Decimal.

// madToSigma makes the median absolute deviation a consistent estimate of a normal's σ.
const madToSigma = 1.4826

// history is a bounded rolling history of log amounts: it grows up to cap values, then each
// new value replaces the oldest. A sorted copy is kept alongside, so that the median is a lookup
// and the MAD a linear walk, with no sorting per event.
type history struct {
	ring   []float32 // in arrival order, circular once full
	sorted []float32
	next   int
	cap    int
}

func (h *history) add(v float64) {
	x := float32(v)
	if len(h.ring) < h.cap {
		h.ring = append(h.ring, x)
	} else {
		old := h.ring[h.next]
		h.ring[h.next] = x
		h.next = (h.next + 1) % h.cap
		i, _ := slices.BinarySearch(h.sorted, old)
		h.sorted = slices.Delete(h.sorted, i, i+1)
	}
	i, _ := slices.BinarySearch(h.sorted, x)
	h.sorted = slices.Insert(h.sorted, i, x)
}

func (h *history) n() int { return len(h.sorted) }

// medianMAD returns the median of the history and the median absolute deviation from it.
func (h *history) medianMAD() (med, mad float64) {
	return sortedMedianMAD(h.sorted)
}

// sortedMedianMAD computes the median and MAD of an ascending slice in O(n): the deviations
// below the median (walking down from it) and above it (walking up) are two ascending
// sequences, merged until their median is reached.
func sortedMedianMAD(s []float32) (med, mad float64) {
	n := len(s)
	if n == 0 {
		return 0, 0
	}
	lo := (n - 1) / 2
	med = float64(s[lo])
	if n%2 == 0 {
		med = (float64(s[lo]) + float64(s[lo+1])) / 2
	}
	i, j := lo, lo+1 // next below (going down) and above (going up)
	var prev, cur float64
	for k := 0; k <= n/2; k++ {
		prev = cur
		switch {
		case j >= n || (i >= 0 && med-float64(s[i]) <= float64(s[j])-med):
			cur = med - float64(s[i])
			i--
		default:
			cur = float64(s[j]) - med
			j++
		}
	}
	if n%2 == 1 {
		return med, cur
	}
	return med, (prev + cur) / 2
}

func sortedMedian(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// median of a small slice, reordering it.
func median(s []float64) float64 {
	slices.Sort(s)
	return sortedMedian(s)
}

// logAmountOK reports whether x is a usable log amount.
func logAmountOK(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
