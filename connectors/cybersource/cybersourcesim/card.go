package cybersourcesim

import (
	"strconv"
	"strings"
	"time"
)

// Sandbox magic values: the cards, security code, postal code and e-mail prefixes that steer a
// payment's outcome. See the package documentation for what each one does.
const (
	CardVisa              = "4111111111111111"
	CardMastercard        = "5555555555554444"
	CardAmex              = "378282246310005"
	CardDeclined          = "4000000000000002"
	CardInsufficientFunds = "4000000000009995"
	CardServerTimeout     = "4000000000000259"
	CardSystemError       = "4000000000000267"
	SecurityCodeCVFailed  = "999"
	PostalCodeAVSFailed   = "99999"
	EmailReviewPrefix     = "review@"
	EmailRejectPrefix     = "reject@"
)

// CardSummary is what the simulator keeps and shows of a card: never the full number.
type CardSummary struct {
	// Type is Cybersource's three-digit card type: 001 Visa, 002 Mastercard, 003 Amex, 004 Discover.
	Type string `json:"type"`
	// Brand is the payment method name used in reports (Visa, MasterCard, American Express, Discover).
	Brand string `json:"brand"`
	// Prefix is the first six digits (BIN), Suffix the last four.
	Prefix string `json:"prefix"`
	Suffix string `json:"suffix"`
	// Masked is the number as TMS shows it: 411111XXXXXX1111.
	Masked          string `json:"masked"`
	ExpirationMonth string `json:"expirationMonth,omitempty"`
	ExpirationYear  string `json:"expirationYear,omitempty"`
}

// cardBrand describes one accepted card scheme.
type cardBrand struct {
	typ, name, subType string
	cvnLen             int
}

var (
	brandVisa       = cardBrand{"001", "Visa", "VI", 3}
	brandMastercard = cardBrand{"002", "MasterCard", "MC", 3}
	brandAmex       = cardBrand{"003", "American Express", "AX", 4}
	brandDiscover   = cardBrand{"004", "Discover", "DI", 3}
)

// brandByType maps a card type to its scheme.
var brandByType = map[string]cardBrand{"001": brandVisa, "002": brandMastercard, "003": brandAmex, "004": brandDiscover}

// detectBrand identifies the scheme from the number's prefix.
func detectBrand(pan string) (cardBrand, bool) {
	p2, _ := strconv.Atoi(pan[:2])
	p4, _ := strconv.Atoi(pan[:4])
	switch {
	case pan[0] == '4':
		return brandVisa, true
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return brandMastercard, true
	case p2 == 34 || p2 == 37:
		return brandAmex, true
	case strings.HasPrefix(pan, "6011") || p2 == 65:
		return brandDiscover, true
	}
	return cardBrand{}, false
}

// allDigits reports whether s is a non-empty string of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// luhnValid applies the mod-10 check.
func luhnValid(pan string) bool {
	sum := 0
	for i := 0; i < len(pan); i++ {
		d := int(pan[len(pan)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// summarize keeps the shown parts of a card.
func summarize(pan string, brand cardBrand, month, year string) CardSummary {
	return CardSummary{
		Type: brand.typ, Brand: brand.name,
		Prefix: pan[:6], Suffix: pan[len(pan)-4:],
		Masked:          pan[:6] + strings.Repeat("X", len(pan)-10) + pan[len(pan)-4:],
		ExpirationMonth: month, ExpirationYear: year,
	}
}

// normalizeExpiry returns MM and YYYY, or ok=false when they are not a month and a year.
func normalizeExpiry(month, year string) (string, string, bool) {
	month, year = strings.TrimSpace(month), strings.TrimSpace(year)
	m, err := strconv.Atoi(month)
	if err != nil || m < 1 || m > 12 || !allDigits(month) {
		return "", "", false
	}
	if len(year) == 2 && allDigits(year) {
		year = "20" + year
	}
	if len(year) != 4 || !allDigits(year) {
		return "", "", false
	}
	return strconv.Itoa(100 + m)[1:], year, true
}

// expired reports whether a card valid through month/year has expired at now: a card is good
// through the last day of its expiry month.
func expired(month, year string, now time.Time) bool {
	m, _ := strconv.Atoi(month)
	y, _ := strconv.Atoi(year)
	return y < now.Year() || (y == now.Year() && m < int(now.Month()))
}
