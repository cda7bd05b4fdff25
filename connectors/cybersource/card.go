package cybersource

import (
	"fmt"
	"io"
)

// Card is raw card data for a payment or an instrument identifier. Its String, GoString, Format
// and MarshalJSON forms mask the number to its last four digits and drop the security code, so a
// Card (or a request holding one) can be printed or logged without leaking a PAN or CVV.
type Card struct {
	// Number is the PAN.
	Number string
	// ExpirationMonth is "01".."12"; ExpirationYear is four digits.
	ExpirationMonth string
	ExpirationYear  string
	// SecurityCode is the CVV/CVN; it is sent once and never stored.
	SecurityCode string
	// Type is Cybersource's card type code ("001" Visa, "002" Mastercard, "003" Amex), optional.
	Type string
}

// String masks the number and drops the security code.
func (c Card) String() string {
	return fmt.Sprintf("Card{Number: %s, Expiration: %s/%s, SecurityCode: redacted, Type: %q}",
		MaskPAN(c.Number), c.ExpirationMonth, c.ExpirationYear, c.Type)
}

// GoString is String, so %#v is safe too.
func (c Card) GoString() string { return c.String() }

// Format prints String for every verb, so no fmt verb reaches the raw fields.
func (c Card) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// MarshalJSON writes the masked form; the client sends card data through its own wire types.
func (c Card) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"number":%q,"expirationMonth":%q,"expirationYear":%q,"type":%q}`,
		MaskPAN(c.Number), c.ExpirationMonth, c.ExpirationYear, c.Type), nil
}

// MaskPAN keeps only the last four digits of a card number ("************1111"); numbers too
// short to be a PAN are masked completely.
func MaskPAN(pan string) string {
	if pan == "" {
		return ""
	}
	if len(pan) < 12 {
		return "****"
	}
	b := make([]byte, len(pan))
	for i := range b {
		b[i] = '*'
	}
	copy(b[len(b)-4:], pan[len(pan)-4:])
	return string(b)
}

// wireCard is a card as sent to Cybersource.
type wireCard struct {
	Number          string `json:"number,omitempty"`
	ExpirationMonth string `json:"expirationMonth,omitempty"`
	ExpirationYear  string `json:"expirationYear,omitempty"`
	SecurityCode    string `json:"securityCode,omitempty"`
	Type            string `json:"type,omitempty"`
}

func toWireCard(c *Card) *wireCard {
	if c == nil {
		return nil
	}
	return &wireCard{Number: c.Number, ExpirationMonth: c.ExpirationMonth, ExpirationYear: c.ExpirationYear,
		SecurityCode: c.SecurityCode, Type: c.Type}
}
