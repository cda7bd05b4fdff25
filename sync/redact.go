package sync

import (
	"regexp"
	"strings"
)

// panLike matches runs of 13 to 19 digits that stand alone: candidates for a card number.
var panLike = regexp.MustCompile(`(^|[^0-9])([0-9]{13,19})([^0-9]|$)`)

// redactCardNumbers masks every Luhn-valid 13–19 digit number in s down to its last four digits,
// so that no stored message ever holds a PAN, whatever a sender put in it.
func redactCardNumbers(s string) string {
	return panLike.ReplaceAllStringFunc(s, func(m string) string {
		sub := panLike.FindStringSubmatch(m)
		digits := sub[2]
		if !luhn(digits) {
			return m
		}
		return sub[1] + strings.Repeat("X", len(digits)-4) + digits[len(digits)-4:] + sub[3]
	})
}

func luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
