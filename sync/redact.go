package sync

import "strings"

// redactCardNumbers masks every Luhn-valid run of 13 to 19 digits in s down to its last four
// digits, so that no stored message ever holds a PAN, whatever a sender put in it. Longer runs
// (Cybersource's 22-digit transaction ids) and numbers failing the Luhn check are kept.
func redactCardNumbers(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if n := j - i; n >= 13 && n <= 19 && luhn(s[i:j]) {
			b.WriteString(s[last:i])
			b.WriteString(strings.Repeat("X", n-4))
			b.WriteString(s[j-4 : j])
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

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

// ContainsCardNumber says whether s holds what looks like a card number: 13 to 19 digits passing
// the Luhn check, written together or in groups split by single spaces or hyphens
// ("4111 1111 1111 1111"). It is how a request that must carry tokens only is refused.
func ContainsCardNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) {
			continue
		}
		// Collect digits from i, allowing one separator between digit groups.
		var digits []byte
		for j := i; j < len(s) && len(digits) < 19; j++ {
			switch c := s[j]; {
			case isDigit(c):
				digits = append(digits, c)
			case (c == ' ' || c == '-') && j+1 < len(s) && isDigit(s[j+1]) && isDigit(s[j-1]):
			default:
				j = len(s)
			}
			if n := len(digits); n >= 13 && luhn(string(digits)) && (j+1 >= len(s) || !isDigit(s[j+1])) {
				return true
			}
		}
	}
	return false
}
