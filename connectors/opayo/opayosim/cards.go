package opayosim

import (
	"strconv"
	"strings"
	"time"
)

// cardProfile is how the simulated issuer treats a card: its Pi cardType, the 3-D Secure result it
// gives when 3-D Secure is forced, and whether the bank declines it.
type cardProfile struct {
	CardType string
	// ThreeDS is "Authenticated" for cards that go through a 3DSv2 challenge, otherwise the status a
	// forced 3-D Secure check ends in without a challenge (CardNotEnrolled, IssuerNotEnrolled, Error,
	// NotChecked for schemes without 3-D Secure).
	ThreeDS string
	Decline bool
}

// sandboxCards are Opayo's published sandbox cards (opayo.md §2.11, test-card-details.md).
var sandboxCards = map[string]cardProfile{
	"4929000000006":    {"Visa", "Authenticated", false},
	"4929000005559":    {"Visa", "CardNotEnrolled", false},
	"4929000000014":    {"Visa", "IssuerNotEnrolled", false},
	"4929000000022":    {"Visa", "Error", false},
	"4484000000002":    {"Visa", "CardNotEnrolled", false},
	"4462000000000003": {"VisaDebit", "Authenticated", false},
	"4917300000000008": {"VisaElectron", "Authenticated", false},
	"5404000000000001": {"MasterCard", "Authenticated", false},
	"5404000000000043": {"MasterCard", "CardNotEnrolled", false},
	"5404000000000084": {"MasterCard", "IssuerNotEnrolled", false},
	"5404000000000068": {"MasterCard", "Error", false},
	"5573470000000001": {"DebitMasterCard", "Authenticated", false},
	"6759000000005":    {"Maestro", "Authenticated", false},
	"6705000000008":    {"Maestro", "Authenticated", false},
	"6777000000007":    {"Maestro", "Authenticated", false},
	"6766000000000":    {"Maestro", "Authenticated", false},
	"374200000000004":  {"AmericanExpress", "NotChecked", false},
	"36000000000008":   {"Discover", "NotChecked", false},
	"3569990000000009": {"JCB", "NotChecked", false},
	// Declined by the bank: NotAuthed, statusCode 2000, bankResponseCode 05.
	"4929602110085639": {"Visa", "CardNotEnrolled", true},
	"5403814948608092": {"MasterCard", "CardNotEnrolled", true},
}

// Sandbox values that pass the AVS/CV2 checks (opayo.md §2.11).
const (
	sandboxSecurityCode   = "123"
	sandboxAddressDigits  = "88"
	sandboxPostcodeDigits = "412"
)

// cardCheck is the outcome of validating a card number.
type cardCheck int

const (
	cardOK cardCheck = iota
	cardNotNumeric
	cardFailsLuhn
	cardUnsupported
)

// profileFor validates a card number and returns how the simulated issuer treats it. Sandbox cards
// come from the table; any other Luhn-valid number of a supported scheme is authorised.
func profileFor(pan string) (cardProfile, cardCheck) {
	if pan == "" || strings.Trim(pan, "0123456789") != "" {
		return cardProfile{}, cardNotNumeric
	}
	if p, ok := sandboxCards[pan]; ok {
		return p, cardOK
	}
	if len(pan) < 12 || len(pan) > 19 || !luhnValid(pan) {
		return cardProfile{}, cardFailsLuhn
	}
	t := cardTypeFromBIN(pan)
	if t == "" {
		return cardProfile{}, cardUnsupported
	}
	threeDS := "Authenticated"
	if t == "AmericanExpress" || t == "Discover" || t == "JCB" {
		threeDS = "NotChecked"
	}
	return cardProfile{CardType: t, ThreeDS: threeDS}, cardOK
}

func luhnValid(pan string) bool {
	sum, double := 0, false
	for i := len(pan) - 1; i >= 0; i-- {
		d := int(pan[i] - '0')
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

func cardTypeFromBIN(pan string) string {
	p2, _ := strconv.Atoi(pan[:2])
	p4, _ := strconv.Atoi(pan[:4])
	switch {
	case p2 == 34 || p2 == 37:
		return "AmericanExpress"
	case pan[0] == '4':
		return "Visa"
	case (p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720):
		return "MasterCard"
	case p4 == 6759 || p4 == 6705 || p4 == 6777 || p4 == 6766 || p2 == 50 || (p2 >= 56 && p2 <= 58):
		return "Maestro"
	case p2 == 36 || p2 == 38 || p4 == 6011 || p2 == 65 || (p4 >= 3000 && p4 <= 3059):
		return "Discover"
	case p4 >= 3528 && p4 <= 3589:
		return "JCB"
	}
	return ""
}

// legacyCardType is the form-protocol / Reporting paymentsystem code of a Pi cardType.
func legacyCardType(cardType string) string {
	switch cardType {
	case "Visa":
		return "VISA"
	case "VisaDebit":
		return "DELTA"
	case "VisaElectron":
		return "UKE"
	case "MasterCard":
		return "MC"
	case "DebitMasterCard":
		return "MCDEBIT"
	case "Maestro":
		return "MAESTRO"
	case "AmericanExpress":
		return "AMEX"
	case "Discover":
		return "DC"
	case "JCB":
		return "JCB"
	}
	return strings.ToUpper(cardType)
}

// parseExpiry validates an MMYY expiry date. ok is false for a malformed value; expired reports
// whether the card's last valid day (the end of that month, London time) is before now.
func parseExpiry(mmyy string, now time.Time) (ok, expired bool) {
	if len(mmyy) != 4 || strings.Trim(mmyy, "0123456789") != "" {
		return false, false
	}
	mm, _ := strconv.Atoi(mmyy[:2])
	yy, _ := strconv.Atoi(mmyy[2:])
	if mm < 1 || mm > 12 {
		return false, false
	}
	endOfMonth := time.Date(2000+yy, time.Month(mm)+1, 1, 0, 0, 0, 0, london)
	return true, !now.Before(endOfMonth)
}

func validSecurityCode(cv string) bool {
	return (len(cv) == 3 || len(cv) == 4) && strings.Trim(cv, "0123456789") == ""
}

func lastFour(pan string) string {
	if len(pan) <= 4 {
		return pan
	}
	return pan[len(pan)-4:]
}

// avsCvc is the AVS/CV2 result in Pi's vocabulary.
type avsCvc struct {
	Status       string `json:"status"`
	Address      string `json:"address"`
	PostalCode   string `json:"postalCode"`
	SecurityCode string `json:"securityCode"`
}

// checkAvsCvc runs the sandbox AVS/CV2 checks: the numerics of address1 must be 88, those of the
// postcode 412 and the security code 123. mode Disable skips the checks entirely.
func checkAvsCvc(mode, address1, postcode, securityCode string) avsCvc {
	if mode == "Disable" {
		return avsCvc{"NotChecked", "NotChecked", "NotChecked", "NotChecked"}
	}
	part := func(value, want string) string {
		switch {
		case strings.TrimSpace(value) == "":
			return "NotProvided"
		case digitsOf(value) == want:
			return "Matched"
		}
		return "NotMatched"
	}
	r := avsCvc{
		Address:    part(address1, sandboxAddressDigits),
		PostalCode: part(postcode, sandboxPostcodeDigits),
	}
	switch {
	case securityCode == "":
		r.SecurityCode = "NotProvided"
	case securityCode == sandboxSecurityCode:
		r.SecurityCode = "Matched"
	default:
		r.SecurityCode = "NotMatched"
	}
	addrOK := r.Address == "Matched" && r.PostalCode == "Matched"
	cvOK := r.SecurityCode == "Matched"
	switch {
	case addrOK && cvOK:
		r.Status = "AllMatched"
	case cvOK:
		r.Status = "SecurityCodeMatchOnly"
	case addrOK:
		r.Status = "AddressMatchOnly"
	default:
		r.Status = "NoMatches"
	}
	return r
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// legacyAVSCV2 is the form-protocol AVSCV2 summary of a Pi avsCvcCheck.status.
func legacyAVSCV2(status string) string {
	switch status {
	case "AllMatched":
		return "ALL MATCH"
	case "SecurityCodeMatchOnly":
		return "SECURITY CODE MATCH ONLY"
	case "AddressMatchOnly":
		return "ADDRESS MATCH ONLY"
	case "NoMatches":
		return "NO DATA MATCHES"
	case "":
		return ""
	}
	return "DATA NOT CHECKED"
}

// legacyCheckPart is the form-protocol / Reporting value of one AVS/CV2 part.
func legacyCheckPart(part string) string {
	switch part {
	case "Matched":
		return "MATCHED"
	case "NotMatched":
		return "NOTMATCHED"
	case "NotProvided":
		return "NOTPROVIDED"
	case "":
		return ""
	}
	return "NOTCHECKED"
}

// legacy3DS is the form-protocol 3DSecureStatus / Reporting threedresult of a Pi 3DSecure status.
func legacy3DS(status string) string {
	switch status {
	case "Authenticated":
		return "OK"
	case "NotAuthenticated":
		return "NOTAUTHED"
	case "Error":
		return "ERROR"
	case "CardNotEnrolled":
		return "NOAUTH"
	case "IssuerNotEnrolled":
		return "CANTAUTH"
	case "AttemptOnly":
		return "ATTEMPTONLY"
	case "Incomplete":
		return "INCOMPLETE"
	case "MalformedOrInvalid":
		return "MALFORMED"
	case "":
		return ""
	}
	return "NOTCHECKED"
}
